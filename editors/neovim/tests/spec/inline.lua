-- Ghost text from textDocument/inlineCompletion: shown in insert mode, accepted with <Tab>,
-- dismissed with <C-]>.

local H = require("helpers")

local LINE = "The ferry leaves at"
local SUGGESTION = " dawn every Tuesday."

local root

---Open a file, enter insert mode at the end of its first line and wait for ghost text.
local function ghost_text_at_end(name)
  root = root or H.workspace("inline")
  local bufnr = H.open(vim.fs.joinpath(root, name), { LINE })
  H.feed("A")
  local ghost = H.wait_until("ghost text", function()
    return H.ghost_text(bufnr)
  end)
  H.eq("i", vim.api.nvim_get_mode().mode, "mode")
  return bufnr, ghost
end

local function leave_insert_mode()
  H.feed("<Esc>")
  H.wait_until("normal mode", function()
    return vim.api.nvim_get_mode().mode == "n"
  end)
end

return {
  {
    "inline: Tab accepts the ghost text",
    function()
      H.capture_notifications()
      H.setup()
      local bufnr, ghost = ghost_text_at_end("accept.md")
      H.eq(SUGGESTION, ghost, "ghost text")

      H.feed("<Tab>")
      H.wait_until("the suggestion in the buffer", function()
        return H.lines(bufnr)[1] ~= LINE
      end)
      H.eq({ LINE .. SUGGESTION }, H.lines(bufnr), "buffer")
      H.eq({ 1, #(LINE .. SUGGESTION) }, vim.api.nvim_win_get_cursor(0), "cursor after the inserted text")
      leave_insert_mode()
    end,
  },
  {
    "inline: C-] dismisses the ghost text",
    function()
      local bufnr = ghost_text_at_end("dismiss.md")

      H.feed("<C-]>")
      H.wait_until("the ghost text to disappear", function()
        return H.ghost_text(bufnr) == nil
      end)
      H.eq({ LINE }, H.lines(bufnr), "buffer")
      H.eq("i", vim.api.nvim_get_mode().mode, "mode")
      leave_insert_mode()
    end,
  },
  {
    "inline: M-] requests every candidate",
    function()
      local bufnr = ghost_text_at_end("cycle.md")
      local client = require("amplifier.server").client(bufnr)
      local trigger_kinds = {}
      local request = client.request
      client.request = function(self, method, params, ...)
        if method == "textDocument/inlineCompletion" then
          table.insert(trigger_kinds, params.context.triggerKind)
        end
        return request(self, method, params, ...)
      end

      H.feed("<M-]>")
      H.wait_until("an invoked inline completion request", function()
        return vim.tbl_contains(trigger_kinds, 1)
      end)
      client.request = request
      H.eq({ LINE }, H.lines(bufnr), "buffer")
      H.wait_until("ghost text", function()
        return H.ghost_text(bufnr)
      end)
      leave_insert_mode()
    end,
  },
  {
    "inline: Tab without ghost text inserts a tab",
    function()
      root = root or H.workspace("inline")
      local bufnr = H.open(vim.fs.joinpath(root, "tab.md"), { "" })
      vim.bo[bufnr].expandtab = false
      H.feed("i<Tab><Esc>")
      H.wait_until("normal mode", function()
        return vim.api.nvim_get_mode().mode == "n" and H.lines(bufnr)[1] ~= ""
      end)
      H.eq({ "\t" }, H.lines(bufnr), "buffer")
    end,
  },
  {
    "inline: global mapping kept as fallback",
    function()
      vim.keymap.set("i", "<C-]>", "fallback", { desc = "the user's own mapping" })
      root = root or H.workspace("inline")
      local bufnr = H.open(vim.fs.joinpath(root, "mapped.md"), { "" })

      H.eq("amplifier: dismiss the suggestion", vim.fn.maparg("<C-]>", "i", false, true).desc, "<C-]> mapping")
      H.feed("i<C-]><Esc>")
      H.wait_until("the fallback's text", function()
        return vim.api.nvim_get_mode().mode == "n" and H.lines(bufnr)[1] ~= ""
      end)
      H.eq({ "fallback" }, H.lines(bufnr), "buffer")
      vim.keymap.del("i", "<C-]>")
    end,
  },
  {
    "inline: buffer-local mapping left alone",
    function()
      root = root or H.workspace("inline")
      local path = vim.fs.joinpath(root, "local.md")
      vim.fn.writefile({ LINE }, path)
      vim.api.nvim_create_autocmd("BufReadPost", {
        pattern = path,
        once = true,
        callback = function(event)
          vim.keymap.set("i", "<C-]>", "own", { buffer = event.buf, desc = "the user's buffer mapping" })
        end,
      })
      H.open(path, { LINE })

      H.eq("the user's buffer mapping", vim.fn.maparg("<C-]>", "i", false, true).desc, "<C-]> mapping")
      H.eq("amplifier: accept the suggestion", vim.fn.maparg("<Tab>", "i", false, true).desc, "<Tab> mapping")
    end,
  },
  {
    "inline: warns once without 0.12",
    function()
      local notifications = H.capture_notifications()
      local inline = require("amplifier.inline")
      local available = inline.available
      inline.available = function()
        return false
      end

      inline.attach(vim.api.nvim_create_buf(true, false))
      inline.attach(vim.api.nvim_create_buf(true, false))
      inline.available = available

      H.eq(1, #notifications, "notifications")
      H.ok(notifications[1].message:find("ghost text needs Neovim 0.12", 1, true), notifications[1].message)
    end,
  },
}
