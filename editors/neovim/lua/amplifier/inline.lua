-- Ghost text: the server's inline completions shown by vim.lsp.inline_completion (Neovim
-- 0.12), with insert-mode keys to accept, cycle and dismiss them.

local config = require("amplifier.config")
local log = require("amplifier.log")

local M = {}

local INVOKED = 1 -- lsp.InlineCompletionTriggerKind.Invoked

---Return true when this Neovim can show ghost text.
---@return boolean
function M.available()
  if vim.fn.has("nvim-0.12") ~= 1 then
    return false
  end
  local ok = pcall(require, "vim.lsp.inline_completion")
  return ok
end

---Return Neovim's inline completion state of a buffer.
---
---NOTE: this reads vim.lsp._capability, which is private, because Neovim 0.12 has no public
---call that requests every candidate (an "invoked" request) or counts them. Revisit when
---vim.lsp.inline_completion gains one. Until then every use is guarded.
---@param bufnr integer
---@return table?
local function completor(bufnr)
  local ok, capability = pcall(require, "vim.lsp._capability")
  local class = ok and type(capability.all) == "table" and capability.all.inline_completion
  local instance = class and class.active and class.active[bufnr]
  if type(instance) == "table" then
    return instance
  end
  return nil
end

---@param bufnr integer
---@return integer
local function candidate_count(bufnr)
  local state = completor(bufnr)
  if state and type(state.count_items) == "function" then
    return state:count_items()
  end
  return 0
end

---Ask the server for every candidate at the cursor; return false when that is not possible.
---@param bufnr integer
---@return boolean
local function request_candidates(bufnr)
  local state = completor(bufnr)
  if not (state and type(state.request) == "function") then
    return false
  end
  state:request(INVOKED)
  return true
end

---Insert the suggestion shown; return false when none is shown.
---@param bufnr? integer
---@return boolean
function M.accept(bufnr)
  if not M.available() then
    return false
  end
  return vim.lsp.inline_completion.get({ bufnr = bufnr or 0 })
end

---Hide the suggestion shown until the next keystroke; return false when none is shown.
---@param bufnr? integer
---@return boolean
function M.dismiss(bufnr)
  if not M.available() then
    return false
  end
  -- get() stops the pending requests and hides the suggestion before calling on_accept,
  -- so an on_accept that inserts nothing dismisses it.
  return vim.lsp.inline_completion.get({ bufnr = bufnr or 0, on_accept = function() end })
end

---Show the candidate `count` places further (negative: back). The first call after a
---suggestion appears requests every candidate from the server, because an automatic
---request returns only one. Return false when ghost text is unavailable.
---@param count integer
---@param bufnr? integer
---@return boolean
function M.cycle(count, bufnr)
  if not M.available() then
    return false
  end
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if candidate_count(bufnr) > 1 then
    vim.lsp.inline_completion.select({ bufnr = bufnr, count = count })
    return true
  end
  return request_candidates(bufnr)
end

---Show the next candidate.
---@param bufnr? integer
---@return boolean
function M.next(bufnr)
  return M.cycle(1, bufnr)
end

---Show the previous candidate.
---@param bufnr? integer
---@return boolean
function M.prev(bufnr)
  return M.cycle(-1, bufnr)
end

local ACTIONS = {
  accept = { M.accept, "accept the suggestion" },
  next = { M.next, "show the next suggestion" },
  prev = { M.prev, "show the previous suggestion" },
  dismiss = { M.dismiss, "dismiss the suggestion" },
}

---Return a function that returns the keys `key` produced before this plugin mapped it, or
---nil when that cannot be reproduced from inside an expression mapping.
---@param existing table the key's mapping, from maparg()
---@param key string
---@return (fun(): string)?
local function previous_keys(existing, key)
  if vim.tbl_isempty(existing) then
    return function()
      return key
    end
  end
  if existing.buffer == 1 then
    return nil
  end
  if existing.expr == 1 and existing.callback then
    -- For example Neovim's own <Tab>, which jumps in an active snippet.
    return existing.callback
  end
  if existing.expr == 0 and existing.noremap == 1 and not existing.callback then
    return function()
      return existing.rhs
    end
  end
  return nil
end

---Map one insert-mode key in a buffer. When there is nothing to accept, cycle or dismiss,
---the key does what it did before: its global mapping, or the key itself.
local function map(bufnr, name, key)
  local existing = vim.fn.maparg(key, "i", false, true)
  if type(existing.desc) == "string" and existing.desc:find("^amplifier: ") then
    return
  end
  local fallback = previous_keys(existing, key)
  if not fallback then
    log.info("did not map %s to %s in buffer %d: its mapping cannot be kept as the fallback", key, name, bufnr)
    return
  end

  local action, description = ACTIONS[name][1], ACTIONS[name][2]
  vim.keymap.set("i", key, function()
    if action(bufnr) then
      return ""
    end
    return fallback()
  end, { buffer = bufnr, expr = true, desc = "amplifier: " .. description })
end

---Enable ghost text and its keys in a buffer the server has just attached to.
---@param bufnr integer
function M.attach(bufnr)
  local options = config.options.inline
  if not options.enabled then
    return
  end
  if not M.available() then
    vim.notify_once(
      "amplifier: ghost text needs Neovim 0.12 or later; :AmplifierContinue, :AmplifierNext "
        .. "and :AmplifierExpand work on this version.",
      vim.log.levels.WARN
    )
    return
  end

  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  if options.keymaps then
    for _, name in ipairs({ "accept", "next", "prev", "dismiss" }) do
      local key = options.keymaps[name]
      if key then
        map(bufnr, name, key)
      end
    end
  end
end

return M
