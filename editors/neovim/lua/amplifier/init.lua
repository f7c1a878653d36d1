-- amplifier.nvim: predicts what you would write next, in your own voice, through the
-- amplifier-ls language server. See :help amplifier.

local config = require("amplifier.config")
local server = require("amplifier.server")
local commands = require("amplifier.commands")

local M = {}

---Configure the plugin and attach the server to the configured filetypes.
---@param opts? table see :help amplifier-config
function M.setup(opts)
  if vim.fn.has("nvim-0.11") ~= 1 then
    vim.notify("amplifier: this plugin needs Neovim 0.11 or later (vim.lsp.config).", vim.log.levels.ERROR)
    return
  end
  config.set(opts)

  local group = vim.api.nvim_create_augroup("amplifier.attach", { clear = true })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    desc = "amplifier: enable ghost text and its keys",
    callback = function(event)
      local client = vim.lsp.get_client_by_id(event.data.client_id)
      if client and client.name == server.name then
        require("amplifier.inline").attach(event.buf)
      end
    end,
  })
  require("amplifier.progress").setup()

  server.configure()
end

---Return the buffer and its amplifier client, or nil after telling the user what is missing.
---@param bufnr? integer
---@return integer?, vim.lsp.Client?
local function target(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = server.client(bufnr)
  if not client then
    local reason = config.was_set_up and "amplifier-ls is not attached to this buffer"
      or "require('amplifier').setup() has not been called"
    vim.notify(("amplifier: %s; see :checkhealth amplifier."):format(reason), vim.log.levels.WARN)
    return nil, nil
  end
  return bufnr, client
end

---Return the cursor position in a buffer as an LSP position. Outside insert mode the cursor
---sits on a character, and on the last one of a line the author means the end of the line.
---@param bufnr integer
---@param client vim.lsp.Client
---@return lsp.Position
local function cursor_position(bufnr, client)
  local window = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(window) ~= bufnr then
    window = vim.fn.bufwinid(bufnr)
  end
  if window == -1 then
    error(("amplifier: buffer %d is not shown in any window, so it has no cursor"):format(bufnr))
  end

  local row, col = unpack(vim.api.nvim_win_get_cursor(window))
  local line = vim.api.nvim_buf_get_lines(bufnr, row - 1, row, true)[1]
  local inserting = vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
  if not inserting and col < #line and col + 1 + vim.str_utf_end(line, col + 1) >= #line then
    col = #line
  end
  return { line = row - 1, character = vim.str_utfindex(line, client.offset_encoding, col, false) }
end

---Return whole lines first..last (1-based, inclusive) as an LSP range.
---@param bufnr integer
---@param first integer
---@param last integer
---@param encoding string
---@return lsp.Range
local function line_range(bufnr, first, last, encoding)
  local last_line = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, true)[1]
  return {
    start = { line = first - 1, character = 0 },
    ["end"] = { line = last - 1, character = vim.str_utfindex(last_line, encoding) },
  }
end

---@class amplifier.CommandOpts
---@field bufnr? integer buffer (default: the current one)
---@field callback? fun(err: lsp.ResponseError?, result: table?) runs when the command ends

---@param command string
---@param opts amplifier.CommandOpts
---@param locate? fun(bufnr: integer, client: vim.lsp.Client): table the position or range argument
local function run(command, opts, locate)
  local bufnr, client = target(opts.bufnr)
  if not bufnr or not client then
    return
  end

  local location
  if locate then
    location = locate(bufnr, client)
  else
    location = { position = cursor_position(bufnr, client) }
  end
  local arguments = vim.tbl_extend("force", { uri = vim.uri_from_bufnr(bufnr) }, location)
  commands.execute(client, bufnr, command, arguments, opts.callback)
end

---@class amplifier.ExpandOpts : amplifier.CommandOpts
---@field range? integer[] first and last line, 1-based; nil: the list block at the cursor

---Replace an outline (the list lines in `range`, or the list block at the cursor) with the
---draft written from it.
---@param opts? amplifier.ExpandOpts
function M.expand(opts)
  opts = opts or {}
  run("amplifier.expandOutline", opts, function(bufnr, client)
    if opts.range then
      return { range = line_range(bufnr, opts.range[1], opts.range[2], client.offset_encoding) }
    end
    return { position = cursor_position(bufnr, client) }
  end)
end

---Insert the rest of the section at the cursor.
---@param opts? amplifier.CommandOpts
function M.continue(opts)
  run("amplifier.continueSection", opts or {})
end

---Insert the predicted next section after the section at the cursor.
---@param opts? amplifier.CommandOpts
function M.next(opts)
  run("amplifier.writeNextSection", opts or {})
end

---Cancel the generations running for the current buffer, or for every buffer.
---@param opts? { bufnr?: integer, all?: boolean }
function M.cancel(opts)
  opts = opts or {}
  if opts.all then
    commands.cancel(server.clients(), nil)
    return
  end
  local bufnr, client = target(opts.bufnr)
  if bufnr and client then
    commands.cancel({ client }, bufnr)
  end
end

---Return a short status for a statusline ("amplifier: idle", "amplifier: busy (1)"), or ""
---when no server runs for the current buffer.
---@return string
function M.status()
  return require("amplifier.status").format()
end

return M
