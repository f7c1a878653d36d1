-- :AmplifierExpand: the outline becomes the draft, in one undo step, with progress and status.

local H = require("helpers")

local OUTLINE = {
  "# Tide pools",
  "",
  "- anemones close when touched",
  "- crabs hide under rocks",
  "",
  "The end.",
}
local DRAFT = "Anemones fold shut the moment a finger brushes them. "
  .. "Crabs keep to the shade under the rocks until the tide comes back."
local EXPANDED = { "# Tide pools", "", DRAFT, "", "The end." }

local root

local function open(name)
  root = root or H.workspace("expand")
  return H.open(vim.fs.joinpath(root, name), OUTLINE)
end

return {
  {
    "expand: list under cursor becomes draft",
    function()
      H.capture_notifications()
      H.setup()
      local bufnr = open("cursor.md")
      vim.api.nvim_win_set_cursor(0, { 4, 3 })

      local err, result = H.run("expand")

      H.eq(nil, err, "error")
      H.eq({ applied = true, status = "ok" }, { applied = result.applied, status = result.status }, "result")
      H.eq(EXPANDED, H.lines(bufnr), "buffer")
    end,
  },
  {
    "expand: one undo restores outline",
    function()
      local bufnr = open("undo.md")
      -- A change made by a callback just before: Neovim joins such changes into one undo
      -- block unless the edit handler closes it.
      vim.api.nvim_buf_set_lines(bufnr, 5, 6, true, { "The end, for now." })
      local before = H.lines(bufnr)
      vim.api.nvim_win_set_cursor(0, { 3, 0 })

      local _, result = H.run("expand")
      H.eq("ok", result.status, "status")
      H.eq({ "# Tide pools", "", DRAFT, "", "The end, for now." }, H.lines(bufnr), "buffer after expanding")

      vim.cmd("undo")
      H.eq(before, H.lines(bufnr), "buffer after one undo")
      vim.cmd("redo")
      H.eq({ "# Tide pools", "", DRAFT, "", "The end, for now." }, H.lines(bufnr), "buffer after redo")
    end,
  },
  {
    "expand: command with a line range",
    function()
      local bufnr = open("range.md")
      vim.api.nvim_win_set_cursor(0, { 1, 0 })
      local done
      vim.api.nvim_create_autocmd("User", {
        pattern = "AmplifierDone",
        once = true,
        callback = function(event)
          done = event.data
        end,
      })

      vim.cmd("3,4AmplifierExpand")
      H.wait_until("AmplifierDone", function()
        return done
      end)

      H.eq("amplifier.expandOutline", done.command, "command")
      H.eq("ok", done.result.status, "status")
      H.eq(EXPANDED, H.lines(bufnr), "buffer")
    end,
  },
  {
    "expand: progress and status reported",
    function()
      local bufnr, client = open("progress.md")
      local kinds = {}
      local group = vim.api.nvim_create_augroup("expand.progress", {})
      vim.api.nvim_create_autocmd("LspProgress", {
        group = group,
        callback = function(event)
          if event.data.client_id == client.id then
            table.insert(kinds, event.data.params.value.kind)
          end
        end,
      })
      vim.api.nvim_win_set_cursor(0, { 3, 0 })

      H.run("expand")
      vim.api.nvim_del_augroup_by_id(group)

      H.eq("begin", kinds[1], "first progress kind")
      H.ok(vim.tbl_contains(kinds, "end"), "progress ended: " .. vim.inspect(kinds))
      H.wait_until("the status to return to idle", function()
        return require("amplifier").status() == "amplifier: idle"
      end)
      local status = require("amplifier.status").get(bufnr)
      H.eq({ "openai", "fake-model" }, { status.backend, status.model }, "backend and model")
      vim.cmd.enew()
      H.eq("", require("amplifier").status(), "status in a buffer without the server")
    end,
  },
}
