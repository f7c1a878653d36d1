-- Helpers for the headless specs: waiting on the event loop, workspaces, the server set-up.
--
-- Every test runs in a coroutine. Waiting yields to Neovim's event loop through
-- vim.defer_fn, so that LSP messages, timers and typed keys are processed in between,
-- as they are for a person at the keyboard.

local H = {}

local POLL_MS = 20

-- Resumes the coroutine of the running test; set by the runner.
---@type fun()?
H.resume = nil

---Yield to the event loop for `ms` milliseconds.
---@param ms integer
function H.sleep(ms)
  local resume = assert(H.resume, "H.sleep must run inside a test")
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

---Wait until `predicate()` returns a true value, and return that value; fail after `timeout_ms`.
---@generic T
---@param description string what is awaited, for the failure message
---@param predicate fun(): T
---@param timeout_ms? integer
---@return T
function H.wait_until(description, predicate, timeout_ms)
  local deadline = vim.uv.now() + (timeout_ms or 20000)
  while true do
    local value = predicate()
    if value then
      return value
    end
    if vim.uv.now() > deadline then
      error("timed out waiting for " .. description, 2)
    end
    H.sleep(POLL_MS)
  end
end

---Fail with both values shown unless they are equal.
function H.eq(expected, actual, description)
  if not vim.deep_equal(expected, actual) then
    local message = ("%s:\nexpected: %s\nactual:   %s"):format(description, vim.inspect(expected), vim.inspect(actual))
    error(message, 2)
  end
end

---Fail with `description` unless `value` is true.
function H.ok(value, description)
  if not value then
    error(description, 2)
  end
end

---Return the environment variable's value, failing when it is unset.
local function env(name)
  local value = vim.env[name]
  assert(value and value ~= "", name .. " is not set; run the specs through tests/test_neovim.py")
  return value
end

---Create an empty workspace folder (with a .amplifier.toml, so it is the root) and return it.
---@param name string
---@return string
function H.workspace(name)
  local path = vim.fs.joinpath(env("AMPLIFIER_TEST_TMP"), "workspaces", name)
  vim.fn.delete(path, "rf")
  vim.fn.mkdir(path, "p")
  vim.fn.writefile({}, vim.fs.joinpath(path, ".amplifier.toml"))
  return path
end

---Return the settings that point the server at the fake completions server.
---@return table
function H.server_settings()
  return {
    backend = "openai",
    model = "fake-model",
    openai = { base_url = env("AMPLIFIER_TEST_BASE_URL") },
    cache = { dir = vim.fs.joinpath(env("AMPLIFIER_TEST_TMP"), "cache") },
    corpus = { enabled = false },
    server = { debounce_ms = 0 },
  }
end

---Call require("amplifier").setup() with the fake backend, merged with `opts`.
---@param opts? table
function H.setup(opts)
  local base = {
    cmd = { env("AMPLIFIER_TEST_SERVER"), "serve", "--log-file", vim.fs.joinpath(env("AMPLIFIER_TEST_TMP"), "server.log") },
    settings = H.server_settings(),
  }
  require("amplifier").setup(vim.tbl_deep_extend("force", base, opts or {}))
end

---Write `lines` to `path`, edit it in the current window and wait for the server to attach.
---@param path string
---@param lines string[]
---@return integer bufnr, vim.lsp.Client client
function H.open(path, lines)
  vim.fn.writefile(lines, path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = H.wait_until("amplifier-ls to attach to " .. path, function()
    local client = require("amplifier.server").client(bufnr)
    return client and client.initialized and client
  end)
  H.wait_until("the server to report that its backend is ready", function()
    local status = require("amplifier.status").get(bufnr)
    return status and (status.state == "idle" or status.state == "busy")
  end)
  return bufnr, client
end

---@param bufnr? integer
---@return string[]
function H.lines(bufnr)
  return vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false)
end

---@param bufnr? integer
---@return string
function H.text(bufnr)
  return table.concat(H.lines(bufnr), "\n")
end

---Run an API function of the plugin (expand, continue, next) and wait for its result.
---@param name string
---@param opts? table
---@return lsp.ResponseError?, table?
function H.run(name, opts)
  local done, err, result = false, nil, nil
  opts = vim.tbl_extend("force", opts or {}, {
    callback = function(e, r)
      done, err, result = true, e, r
    end,
  })
  require("amplifier")[name](opts)
  H.wait_until(name .. " to finish", function()
    return done
  end, 30000)
  return err, result
end

---Type keys as a user would: they are processed once the test yields.
---@param keys string keys in <> notation
function H.feed(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), "m", false)
end

---Return the ghost text shown in a buffer, or nil when none is.
---@param bufnr integer
---@return string?
function H.ghost_text(bufnr)
  local namespace = vim.api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  if not namespace then
    return nil
  end
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, namespace, 0, -1, { details = true })
  local pieces = {}
  for _, mark in ipairs(marks) do
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      table.insert(pieces, chunk[1])
    end
  end
  if #pieces == 0 then
    return nil
  end
  return table.concat(pieces)
end

---Record vim.notify calls (and still print them) for the rest of the process.
---@return { message: string, level: integer }[]
function H.capture_notifications()
  local notifications = {}
  vim.notify = function(message, level)
    table.insert(notifications, { message = message, level = level or vim.log.levels.INFO })
    io.stdout:write(("  notify[%s]: %s\n"):format(tostring(level), message))
    io.stdout:flush()
  end
  return notifications
end

---Run :checkhealth amplifier and return its lines.
---@return string[]
function H.checkhealth()
  vim.cmd("checkhealth amplifier")
  local lines = H.lines(0)
  vim.cmd("bwipeout!")
  return lines
end

return H
