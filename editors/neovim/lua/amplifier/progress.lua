-- Showing the server's $/progress reports (received as LspProgress events).

local config = require("amplifier.config")

local M = {}

-- Message ids of progress messages on Neovim 0.12, per progress token, so that each report
-- updates the message of its generation instead of adding a line.
---@type table<integer|string, integer>
local message_ids = {}

local function describe(value)
  local text = value.title or "amplifier"
  local message = value.message
  if message and vim.startswith(message, text .. ": ") then
    message = message:sub(#text + 3)
  end
  if message and message ~= "" then
    text = text .. ": " .. message
  end
  if value.kind == "end" and not value.message then
    text = text .. ": done"
  end
  if value.percentage then
    text = ("%s (%d%%)"):format(text, value.percentage)
  end
  return text
end

---Echo a progress report; on Neovim 0.12 as a progress message that updates in place.
local function echo(token, value)
  local text = describe(value)
  local opts = {
    kind = "progress",
    title = "amplifier",
    status = value.kind == "end" and "success" or "running",
    percent = value.percentage,
    id = message_ids[token],
  }
  local ok, id = pcall(vim.api.nvim_echo, { { text } }, false, opts)
  if not ok then
    -- Neovim 0.11 has no progress messages and rejects their options.
    vim.api.nvim_echo({ { "amplifier: " .. text } }, false, {})
    return
  end
  message_ids[token] = value.kind ~= "end" and id or nil
end

local function show(token, value)
  local style = config.options.progress
  if style == "echo" then
    echo(token, value)
  elseif style == "notify" and value.kind ~= "report" then
    vim.notify("amplifier: " .. describe(value), vim.log.levels.INFO)
  end
end

---Listen to LspProgress for the amplifier client; safe to call more than once.
function M.setup()
  local group = vim.api.nvim_create_augroup("amplifier.progress", { clear = true })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    desc = "amplifier: show and track the server's progress",
    callback = function(event)
      local client = vim.lsp.get_client_by_id(event.data.client_id)
      if not client or client.name ~= require("amplifier.server").name then
        return
      end
      local params = event.data.params
      local value = params and params.value
      if type(value) ~= "table" or not value.kind then
        return
      end

      if value.kind == "begin" then
        require("amplifier.commands").on_progress_begin(client.id, params.token)
      end
      show(params.token, value)
    end,
  })
end

return M
