-- The server's `amplifier/status` notification: backend, model, state, running generations
-- and the last error, stored per client for statuslines and :checkhealth.

local log = require("amplifier.log")

local M = {}

---@class amplifier.Status
---@field backend string
---@field model string
---@field state "starting"|"idle"|"busy"|"error"
---@field running integer
---@field lastError string|vim.NIL|nil

---@type table<integer, amplifier.Status>
local by_client = {}

---Store a status notification and tell statuslines; a `lsp.Handler` for amplifier/status.
---@param params amplifier.Status
---@param ctx lsp.HandlerContext
function M.handler(_, params, ctx)
  if type(params) ~= "table" then
    return
  end
  local previous = by_client[ctx.client_id]
  by_client[ctx.client_id] = params
  if not previous or previous.state ~= params.state then
    log.debug("server status: %s (%s, %s)", params.state, params.backend, params.model)
  end

  vim.api.nvim_exec_autocmds("User", {
    pattern = "AmplifierStatus",
    modeline = false,
    data = { client_id = ctx.client_id, status = params },
  })
  vim.cmd.redrawstatus()
end

---Return the last status of the amplifier client attached to a buffer, or of any running
---amplifier client when no buffer is given.
---@param bufnr? integer
---@return amplifier.Status?
function M.get(bufnr)
  local server = require("amplifier.server")
  local clients = bufnr and { server.client(bufnr) } or server.clients()
  for _, client in ipairs(clients) do
    if by_client[client.id] then
      return by_client[client.id]
    end
  end
  return nil
end

---Return a short text for a statusline: "" when no server runs for the buffer.
---@param bufnr? integer
---@return string
function M.format(bufnr)
  local status = M.get(bufnr or vim.api.nvim_get_current_buf())
  if not status then
    return ""
  end
  if status.state == "busy" then
    return ("amplifier: busy (%d)"):format(status.running or 1)
  end
  return "amplifier: " .. tostring(status.state)
end

return M
