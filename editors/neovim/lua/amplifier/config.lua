-- The plugin's options: one table of defaults, merged with what setup() receives.

local M = {}

---@class amplifier.Config
M.defaults = {
  -- Command that starts the language server over stdio, as a list of strings.
  -- nil: `amplifier-ls serve` found on $PATH, with its log in `log.server_file`.
  cmd = nil,

  -- Filetypes the server attaches to.
  filetypes = { "markdown", "text", "rst", "org", "tex", "mail", "gitcommit" },

  -- Files or folders that mark the workspace root, searched upwards from the buffer's file.
  -- The server reads `.amplifier.toml` and the author's past writing (the corpus) from there.
  root_markers = { ".amplifier.toml", ".git" },

  -- Server settings: the tree listed by `amplifier-ls settings`, for example
  -- { backend = "openai", openai = { base_url = "http://127.0.0.1:8000/v1" } }.
  -- Sent as initialization options and as the `amplifier` section of workspace/configuration,
  -- so they take precedence over `.amplifier.toml`.
  settings = {},

  inline = {
    -- Show ghost text from textDocument/inlineCompletion while in insert mode.
    -- Needs Neovim 0.12 (vim.lsp.inline_completion); on 0.11 the commands still work.
    enabled = true,

    -- Insert-mode keys, mapped only in the buffers the server is attached to. When no
    -- suggestion is shown, a key does what it did before: its global mapping (such as
    -- Neovim's <Tab>, which jumps in a snippet) or the key itself. A key with a buffer-local
    -- mapping, or a global one that cannot be called from Lua, is left alone (see the log).
    -- false: map nothing, and call require("amplifier.inline") from your own mappings.
    keymaps = {
      accept = "<Tab>", -- insert the suggestion shown
      next = "<M-]>", -- show the next candidate (the first press requests every candidate)
      prev = "<M-[>", -- show the previous candidate
      dismiss = "<C-]>", -- hide the suggestion until the next keystroke
    },
  },

  -- How the progress of :AmplifierExpand, :AmplifierContinue and :AmplifierNext is shown.
  -- "echo": in the message area. "notify": through vim.notify. false: not at all, for
  -- statuslines that use vim.lsp.status() or require("amplifier").status() instead.
  progress = "echo",

  -- Send every change to the server at once instead of after Neovim's default 150 ms, so
  -- that an edit generated while you type is checked against the text you see.
  debounce_text_changes = 0,

  log = {
    -- Lowest level written to the plugin's log file: "trace", "debug", "info", "warn", "error".
    level = "warn",

    -- The plugin's log file. nil: stdpath("log")/amplifier.log.
    file = nil,

    -- The server's log file, passed as `--log-file` when `cmd` is nil.
    -- nil: stdpath("log")/amplifier-ls.log. false: the server writes no log file.
    server_file = nil,
  },
}

---@type amplifier.Config
M.options = vim.deepcopy(M.defaults)

M.was_set_up = false

local PROGRESS_STYLES = { echo = true, notify = true, [false] = true }

---Validate the user's options and merge them over the defaults; raise on an invalid one.
---@param opts? table
---@return amplifier.Config
function M.set(opts)
  opts = opts or {}
  vim.validate("opts", opts, "table")
  vim.validate("opts.cmd", opts.cmd, "table", true)
  vim.validate("opts.filetypes", opts.filetypes, "table", true)
  vim.validate("opts.root_markers", opts.root_markers, "table", true)
  vim.validate("opts.settings", opts.settings, "table", true)
  vim.validate("opts.inline", opts.inline, "table", true)
  vim.validate("opts.log", opts.log, "table", true)
  if opts.progress ~= nil and not PROGRESS_STYLES[opts.progress] then
    error(('amplifier: invalid option progress = %s; expected "echo", "notify" or false'):format(
      vim.inspect(opts.progress)
    ))
  end

  local options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)

  -- Lists replace the defaults whole, whatever vim.tbl_deep_extend does with lists.
  options.filetypes = opts.filetypes or options.filetypes
  options.root_markers = opts.root_markers or options.root_markers
  options.cmd = opts.cmd
  if opts.inline and opts.inline.keymaps == false then
    options.inline.keymaps = false
  end

  M.options = options
  M.was_set_up = true
  return options
end

return M
