-- The plugin's log file. The language server writes its own log (see `log.server_file`).

local M = {}

local LEVELS = { trace = 1, debug = 2, info = 3, warn = 4, error = 5 }

---Return the path of the plugin's log file.
---@return string
function M.path()
  local configured = require("amplifier.config").options.log.file
  if configured then
    return vim.fn.expand(configured)
  end
  return vim.fs.joinpath(vim.fn.stdpath("log"), "amplifier.log")
end

---Return the path of the server's log file, or nil when the server writes none.
---@return string?
function M.server_path()
  local configured = require("amplifier.config").options.log.server_file
  if configured == false then
    return nil
  end
  if configured then
    return vim.fn.expand(configured)
  end
  return vim.fs.joinpath(vim.fn.stdpath("log"), "amplifier-ls.log")
end

local function threshold()
  local name = require("amplifier.config").options.log.level
  return LEVELS[name] or LEVELS.warn
end

---@param level "trace"|"debug"|"info"|"warn"|"error"
---@param message string
---@param ... any arguments for string.format
local function write(level, message, ...)
  if LEVELS[level] < threshold() then
    return
  end
  if select("#", ...) > 0 then
    message = message:format(...)
  end

  local path = M.path()
  vim.fn.mkdir(vim.fs.dirname(path), "p")
  local file = io.open(path, "a")
  if not file then
    return
  end
  file:write(("%s [%s] %s\n"):format(os.date("%Y-%m-%d %H:%M:%S"), level:upper(), message))
  file:close()
end

function M.trace(message, ...)
  write("trace", message, ...)
end

function M.debug(message, ...)
  write("debug", message, ...)
end

function M.info(message, ...)
  write("info", message, ...)
end

function M.warn(message, ...)
  write("warn", message, ...)
end

function M.error(message, ...)
  write("error", message, ...)
end

return M
