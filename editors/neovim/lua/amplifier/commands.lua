-- Running the server's commands (workspace/executeCommand) and cancelling them.

local log = require("amplifier.log")

local M = {}

local REQUEST_CANCELLED = -32800

-- The level and default message of the result statuses shown to the user. Other statuses
-- are only logged. The server shows "error" and "stale" results itself with
-- window/showMessage, so that editors without this plugin see them too, and the progress
-- end message already reports "cancelled".
local OUTCOMES = {
  empty = { vim.log.levels.INFO, "the model produced no text here" },
  degenerate = { vim.log.levels.WARN, "the model produced unusable text (repetitions); nothing was inserted" },
}
local NOT_SHOWN = { error = true, stale = true, cancelled = true }

---@class amplifier.RunningCommand
---@field command string
---@field bufnr integer
---@field client_id integer
---@field request_id integer?
---@field token string The workDoneToken sent with the request.
---@field server_tokens table<integer|string, true> Progress tokens the server created for it.
---@field progress_seen boolean

---@type amplifier.RunningCommand[]
local running = {}

local token_count = 0

local function new_token()
  token_count = token_count + 1
  return ("amplifier-%d-%d"):format(vim.fn.getpid(), token_count)
end

local function forget(entry)
  for index, candidate in ipairs(running) do
    if candidate == entry then
      table.remove(running, index)
      return
    end
  end
end

---Tell the user how a command ended, unless it simply succeeded.
local function report(entry, err, result)
  if err then
    if err.code == REQUEST_CANCELLED then
      log.info("%s: cancelled", entry.command)
      return
    end
    log.error("%s failed: %s", entry.command, err.message)
    vim.notify(("amplifier: %s failed: %s"):format(entry.command, err.message), vim.log.levels.ERROR)
    return
  end

  result = type(result) == "table" and result or {}
  local status = result.status or "error"
  log.info("%s: %s, applied=%s, %s", entry.command, status, tostring(result.applied), tostring(result.message))
  if (status == "ok" and result.applied) or NOT_SHOWN[status] then
    return
  end

  local outcome = OUTCOMES[status] or { vim.log.levels.WARN, "the edit was not applied" }
  local message = type(result.message) == "string" and result.message ~= "" and result.message
    or outcome[2]
  vim.notify("amplifier: " .. message, outcome[1])
end

---Run a server command with work-done progress; `callback(err, result)` runs when it ends.
---@param client vim.lsp.Client
---@param bufnr integer
---@param command string
---@param arguments table
---@param callback? fun(err: lsp.ResponseError?, result: table?)
function M.execute(client, bufnr, command, arguments, callback)
  ---@type amplifier.RunningCommand
  local entry = {
    command = command,
    bufnr = bufnr,
    client_id = client.id,
    token = new_token(),
    server_tokens = {},
    progress_seen = false,
  }
  local params = { command = command, arguments = { arguments }, workDoneToken = entry.token }

  local function on_result(err, result)
    forget(entry)
    report(entry, err, result)
    vim.api.nvim_exec_autocmds("User", {
      pattern = "AmplifierDone",
      modeline = false,
      data = { command = command, bufnr = bufnr, result = result, error = err },
    })
    if callback then
      callback(err, result)
    end
  end

  local sent, request_id = client:request("workspace/executeCommand", params, on_result, bufnr)
  if not sent then
    log.error("%s: the server is not running", command)
    vim.notify("amplifier: the server is not running; see :checkhealth amplifier", vim.log.levels.ERROR)
    return
  end
  entry.request_id = request_id
  table.insert(running, entry)
  log.debug("%s started for %s (request %s)", command, vim.api.nvim_buf_get_name(bufnr), tostring(request_id))
end

---Associate a progress token with the command it reports on; called for every `begin`.
---
---A server that honours the workDoneToken of the request reports on that token. Otherwise
---it creates its own token: this is matched to the oldest command of the client that has
---no progress yet, because the server begins progress in the order it receives commands.
---@param client_id integer
---@param token integer|string
function M.on_progress_begin(client_id, token)
  for _, entry in ipairs(running) do
    if entry.client_id == client_id and entry.token == token then
      entry.progress_seen = true
      return
    end
  end
  for _, entry in ipairs(running) do
    if entry.client_id == client_id and not entry.progress_seen then
      entry.progress_seen = true
      entry.server_tokens[token] = true
      return
    end
  end
end

---Return the commands running for a buffer, or for every buffer when bufnr is nil.
---@param bufnr? integer
---@return amplifier.RunningCommand[]
function M.running(bufnr)
  return vim.tbl_filter(function(entry)
    return bufnr == nil or entry.bufnr == bufnr
  end, running)
end

---Cancel the generations of a buffer, or of every buffer when bufnr is nil: the server's
---amplifier.cancel command, plus window/workDoneProgress/cancel for the progress it created.
---@param clients vim.lsp.Client[]
---@param bufnr? integer
function M.cancel(clients, bufnr)
  for _, client in ipairs(clients) do
    local arguments = bufnr and { uri = vim.uri_from_bufnr(bufnr) } or vim.empty_dict()
    local params = { command = "amplifier.cancel", arguments = { arguments } }
    client:request("workspace/executeCommand", params, function(err)
      if err then
        log.warn("amplifier.cancel failed: %s", err.message)
      end
    end, bufnr)

    for _, entry in ipairs(M.running(bufnr)) do
      if entry.client_id == client.id then
        for token in pairs(entry.server_tokens) do
          client:notify("window/workDoneProgress/cancel", { token = token })
        end
      end
    end
  end
  log.info("cancel requested for %s", bufnr and vim.api.nvim_buf_get_name(bufnr) or "every document")
end

return M
