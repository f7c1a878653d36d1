-- Finding, configuring and enabling the language server through vim.lsp.config.

local config = require("amplifier.config")
local log = require("amplifier.log")

local M = {}

-- The name of the configuration in vim.lsp.config, of lsp/amplifier_ls.lua and of the client.
M.name = "amplifier_ls"

M.executable = "amplifier-ls"

M.missing_hint = "install amplifier-ls into a Python environment whose bin folder is on $PATH, "
  .. "or set `cmd` in require('amplifier').setup()"

---Return the command that starts the server, or nil and why it cannot be started.
---@return string[]?, string?
function M.resolve_cmd()
  local options = config.options
  if options.cmd then
    local program = options.cmd[1]
    if type(program) ~= "string" or vim.fn.executable(program) ~= 1 then
      return nil, ("the configured cmd %s is not an executable program"):format(vim.inspect(program))
    end
    return vim.deepcopy(options.cmd)
  end

  local path = vim.fn.exepath(M.executable)
  if path == "" then
    return nil, M.executable .. " was not found on $PATH"
  end
  local cmd = { path, "serve" }
  local server_log = log.server_path()
  if server_log then
    vim.fn.mkdir(vim.fs.dirname(server_log), "p")
    vim.list_extend(cmd, { "--log-file", server_log })
  end
  return cmd
end

---Return the command that prints the server's version: `cmd` up to "serve", then --version.
---@param cmd string[]
---@return string[]?
function M.version_cmd(cmd)
  local version = {}
  for _, part in ipairs(cmd) do
    if part == "serve" then
      table.insert(version, "--version")
      return version
    end
    table.insert(version, part)
  end
  return nil
end

---Return the settings tree as it is sent to the server.
---@return table
function M.settings()
  local settings = vim.deepcopy(config.options.settings)
  -- An empty Lua table is encoded as a JSON array; the server expects an object.
  if vim.tbl_isempty(settings) then
    return vim.empty_dict()
  end
  return settings
end

---Return the amplifier client attached to a buffer.
---@param bufnr integer
---@return vim.lsp.Client?
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
end

---@return vim.lsp.Client[]
function M.clients()
  return vim.lsp.get_clients({ name = M.name })
end

---Send the current settings to the clients already running.
local function push_settings(settings)
  for _, client in ipairs(M.clients()) do
    client.settings = { amplifier = settings }
    client:notify("workspace/didChangeConfiguration", { settings = client.settings })
  end
end

---Configure and enable the server; return false when it cannot be started.
---@return boolean
function M.configure()
  local options = config.options
  local cmd, problem = M.resolve_cmd()
  if not cmd then
    log.error("not starting the server: %s", problem)
    vim.notify(
      ("amplifier: %s; %s. See :checkhealth amplifier."):format(problem, M.missing_hint),
      vim.log.levels.WARN
    )
    return false
  end

  local settings = M.settings()
  vim.lsp.config(M.name, {
    cmd = cmd,
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = settings,
    settings = { amplifier = settings },
    flags = { debounce_text_changes = options.debounce_text_changes },
    handlers = {
      ["workspace/applyEdit"] = require("amplifier.apply").handler,
      ["amplifier/status"] = require("amplifier.status").handler,
    },
  })
  push_settings(settings)
  vim.lsp.enable(M.name)
  log.info("enabled %s for %s with cmd %s", M.name, table.concat(options.filetypes, ","), table.concat(cmd, " "))
  return true
end

return M
