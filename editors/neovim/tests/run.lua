-- Runs the headless specs; used as the init file:
--
--   AMPLIFIER_TEST_SPECS=expand,inline nvim --headless -i NONE -n -u editors/neovim/tests/run.lua
--
-- Each spec file in spec/ returns a list of { name, function } pairs. Every test runs in a
-- coroutine (see helpers.lua) and prints one line, "PASS <spec>: <name>" or
-- "FAIL <spec>: <name>" followed by the error. Neovim exits with status 1 if a test failed.
-- tests/test_neovim.py sets the environment: the fake completions server, the server
-- executable and temporary XDG folders.

local tests_dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
local plugin_dir = vim.fs.dirname(tests_dir)

vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.swapfile = false
vim.opt.shortmess:append("I")
package.path = ("%s/?.lua;%s"):format(tests_dir, package.path)

local H = require("helpers")

local TEST_TIMEOUT_MS = 90000

local function out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end

---@return string[]
local function spec_names()
  local requested = vim.env.AMPLIFIER_TEST_SPECS
  if requested and requested ~= "" then
    return vim.split(requested, ",", { trimempty = true })
  end
  local names = {}
  for name, kind in vim.fs.dir(vim.fs.joinpath(tests_dir, "spec")) do
    if kind == "file" and name:match("%.lua$") then
      table.insert(names, (name:gsub("%.lua$", "")))
    end
  end
  table.sort(names)
  return names
end

---Run one test in a coroutine; call `done(ok, err)` once when it ends or times out.
local function run_test(fn, done)
  local finished = false
  local function finish(ok, err)
    if not finished then
      finished = true
      H.resume = nil
      vim.schedule(function()
        done(ok, err)
      end)
    end
  end

  local co = coroutine.create(function()
    return xpcall(fn, debug.traceback)
  end)
  local function resume()
    if finished then
      return
    end
    local resumed, ok, err = coroutine.resume(co)
    if not resumed then
      finish(false, ok)
    elseif coroutine.status(co) == "dead" then
      finish(ok, err)
    end
  end

  H.resume = resume
  vim.defer_fn(function()
    finish(false, ("the test did not finish within %d ms"):format(TEST_TIMEOUT_MS))
  end, TEST_TIMEOUT_MS)
  resume()
end

local function main()
  local queue = {}
  for _, spec in ipairs(spec_names()) do
    local loaded, tests = pcall(dofile, vim.fs.joinpath(tests_dir, "spec", spec .. ".lua"))
    if not loaded then
      table.insert(queue, { spec = spec, name = "(load)", fn = function()
        error(tests)
      end })
    else
      for _, test in ipairs(tests) do
        table.insert(queue, { spec = spec, name = test[1], fn = test[2] })
      end
    end
  end

  local failures = 0
  local index = 0
  local function next_test()
    index = index + 1
    local test = queue[index]
    if not test then
      out(("%d test(s), %d failed"):format(#queue, failures))
      vim.cmd(failures == 0 and "qall!" or "cquit! 1")
      return
    end
    run_test(test.fn, function(ok, err)
      if ok then
        out(("PASS %s: %s"):format(test.spec, test.name))
      else
        failures = failures + 1
        out(("FAIL %s: %s\n%s"):format(test.spec, test.name, tostring(err)))
      end
      next_test()
    end)
  end
  next_test()
end

vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = vim.schedule_wrap(main) })
