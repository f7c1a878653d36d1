-- :checkhealth amplifier

local config = require("amplifier.config")
local log = require("amplifier.log")
local server = require("amplifier.server")

local M = {}

local VERSION_TIMEOUT_MS = 10000

-- The setting that names the API key variable of each backend, and its default variable.
local KEY_SETTINGS = {
  anthropic = { setting = "anthropic.api_key_env", default = "ANTHROPIC_API_KEY" },
  openai = { setting = "openai.api_key_env", default = "OPENAI_API_KEY" },
}

local function check_neovim()
  vim.health.start("amplifier: Neovim")
  local version = tostring(vim.version())
  if vim.fn.has("nvim-0.12") == 1 then
    vim.health.ok(("Neovim %s: the commands and ghost text are available"):format(version))
  elseif vim.fn.has("nvim-0.11") == 1 then
    vim.health.warn(
      ("Neovim %s: the commands work, but ghost text needs Neovim 0.12 (vim.lsp.inline_completion)"):format(version)
    )
  else
    vim.health.error(("Neovim %s is too old: the plugin needs 0.11 or later (vim.lsp.config)"):format(version))
  end

  if config.was_set_up then
    vim.health.ok("require('amplifier').setup() was called")
  else
    vim.health.warn("require('amplifier').setup() has not been called, so the server is not enabled")
  end
end

---Run `cmd --version` and report what it prints.
---@param cmd string[]
local function check_version(cmd)
  local version_cmd = server.version_cmd(cmd)
  if not version_cmd then
    vim.health.info(("cannot tell the version: the cmd %s has no `serve` argument"):format(table.concat(cmd, " ")))
    return
  end

  local ok, process = pcall(vim.system, version_cmd, { text = true })
  if not ok then
    vim.health.error(("`%s` could not start: %s"):format(table.concat(version_cmd, " "), process))
    return
  end
  local result = process:wait(VERSION_TIMEOUT_MS)
  local output = vim.trim(result.stdout or "")
  if result.code ~= 0 or output == "" then
    local detail = vim.split(vim.trim(result.stderr or ""), "\n")[1]
    vim.health.error(
      ("`%s` failed with exit code %d: %s"):format(table.concat(version_cmd, " "), result.code, detail),
      "reinstall amplifier-ls, or fix `cmd` in require('amplifier').setup()"
    )
    return
  end
  vim.health.ok("version: " .. output)
end

local function check_server()
  vim.health.start("amplifier: language server")
  local cmd, problem = server.resolve_cmd()
  if not cmd then
    vim.health.error(problem, server.missing_hint)
    return
  end
  vim.health.ok("command: " .. table.concat(cmd, " "))
  check_version(cmd)

  local clients = server.clients()
  if #clients == 0 then
    vim.health.info("no amplifier-ls client is running; open a file of a configured filetype to start one")
  end
  for _, client in ipairs(clients) do
    local buffers = vim.tbl_count(client.attached_buffers)
    vim.health.ok(("client %d is running, attached to %d buffer(s), root %s"):format(
      client.id,
      buffers,
      client.root_dir or "(none: single file)"
    ))
  end
end

---Return a setting from setup()'s settings tree by its dotted key.
local function setting(dotted)
  return vim.tbl_get(config.options.settings, unpack(vim.split(dotted, ".", { plain = true })))
end

local function check_api_key(backend)
  local key = KEY_SETTINGS[backend]
  if not key then
    vim.health.ok(("the %s backend needs no API key"):format(backend))
    return
  end

  local variable = setting(key.setting) or key.default
  local value = vim.env[variable]
  if value and value ~= "" then
    vim.health.ok(("%s is set (the %s backend reads its API key from it)"):format(variable, backend))
    return
  end

  local advice = ("export %s before starting Neovim, or set settings.%s to the variable that holds the key"):format(
    variable,
    key.setting
  )
  if backend == "anthropic" then
    vim.health.error(("%s is not set, and the anthropic backend needs an API key"):format(variable), advice)
  else
    vim.health.warn(
      ("%s is not set, so requests carry no Authorization header: fine for a local vLLM, llama.cpp or Ollama server, not for a hosted API"):format(
        variable
      ),
      advice
    )
  end
end

local function check_backend()
  vim.health.start("amplifier: backend")
  local status = require("amplifier.status").get()
  local backend, model
  if status then
    backend, model = status.backend, status.model
    vim.health.ok(("backend %s, model %s (reported by the running server)"):format(backend, model ~= "" and model or "(default)"))
    if status.state == "error" then
      local last_error = type(status.lastError) == "string" and status.lastError or "no message"
      vim.health.warn("the server reports an error: " .. last_error)
    else
      vim.health.ok("server state: " .. tostring(status.state))
    end
  else
    backend = setting("backend") or "local"
    model = setting("model") or ""
    vim.health.info(
      ("backend %s, model %s (from setup(); a .amplifier.toml at the workspace root may override them, and the running server reports the values in use)"):format(
        backend,
        model ~= "" and model or "(default)"
      )
    )
  end
  check_api_key(backend)
end

local function check_logs()
  vim.health.start("amplifier: logs")
  vim.health.info("plugin log: " .. log.path())
  local server_log = log.server_path()
  if config.options.cmd then
    vim.health.info("server log: wherever the configured cmd sends it")
  elseif server_log then
    vim.health.info("server log: " .. server_log)
  else
    vim.health.info("server log: none (log.server_file = false)")
  end
end

function M.check()
  check_neovim()
  check_server()
  check_backend()
  check_logs()
end

return M
