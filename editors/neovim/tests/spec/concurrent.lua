-- Editing the buffer while a draft is generated. The fake server streams this outline's draft
-- slowly, so the edits below land while the generation runs. The server re-anchors an edit
-- only when 200 characters on each side of the outline are unchanged, so FILLER is longer.

local H = require("helpers")

local FILLER = "Most nights were calm, and the log for those nights says little more than the wind, the "
  .. "sea state and the hours the lamp was lit, in the same careful hand, page after page, for years. "
  .. "Only the storms got a second line, and sometimes a third about the boats that came in late."
local DOCUMENT = {
  "# Lighthouse",
  "",
  FILLER,
  "",
  "- the lighthouse keeper",
  "- trims the wick at night",
  "",
  FILLER,
  "",
  "Last line.",
}
local DRAFT = "The keeper climbed the stairs twice a night to trim the wick, and in the morning he wrote "
  .. "the weather into the log before anyone else was awake to see it."

local root

---Start expanding the outline at line 5 and wait until the server reports progress.
---@return { done: boolean, result: table? } generation, filled in when the command ends
local function start_expand(client)
  local began = false
  local group = vim.api.nvim_create_augroup("concurrent.progress", {})
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    pattern = "begin",
    callback = function(event)
      if event.data.client_id == client.id then
        began = true
      end
    end,
  })
  local generation = { done = false }
  vim.api.nvim_win_set_cursor(0, { 5, 0 })
  require("amplifier").expand({
    callback = function(_, result)
      generation.done, generation.result = true, result
    end,
  })
  H.wait_until("the generation to begin", function()
    return began
  end)
  vim.api.nvim_del_augroup_by_id(group)
  H.ok(vim.lsp.status():find("Expand this outline", 1, true), "vim.lsp.status() shows the progress: " .. vim.lsp.status())
  return generation
end

---Wait for the generation started by start_expand and return its result.
local function finish(generation)
  H.wait_until("the expansion to finish", function()
    return generation.done
  end, 30000)
  return generation.result
end

local function open(name)
  root = root or H.workspace("concurrent")
  return H.open(vim.fs.joinpath(root, name), DOCUMENT)
end

return {
  {
    "concurrent: edit far below keeps both",
    function()
      H.capture_notifications()
      H.setup()
      local bufnr, client = open("below.md")

      local generation = start_expand(client)
      H.feed("GA Edited.<Esc>")
      H.wait_until("the user's edit", function()
        return H.lines(bufnr)[10] == "Last line. Edited."
      end)
      local result = finish(generation)

      H.eq({ true, "ok" }, { result.applied, result.status }, "applied and status")
      local expected = vim.deepcopy(DOCUMENT)
      expected[10] = "Last line. Edited."
      local edited_outline = vim.list_slice(expected, 1, 4)
      vim.list_extend(edited_outline, { DRAFT })
      vim.list_extend(edited_outline, vim.list_slice(expected, 7, 10))
      H.eq(edited_outline, H.lines(bufnr), "buffer")

      vim.cmd("undo")
      H.eq(expected, H.lines(bufnr), "buffer after one undo: the outline is back, the user's edit stays")
    end,
  },
  {
    "concurrent: typing in insert mode meanwhile",
    function()
      local bufnr, client = open("typing.md")
      local last_line_when_applied
      vim.api.nvim_buf_attach(bufnr, false, {
        on_lines = function(_, _, _, first_changed)
          if first_changed == 4 then
            last_line_when_applied = vim.api.nvim_buf_get_lines(bufnr, -2, -1, true)[1]
            return true
          end
        end,
      })

      local generation = start_expand(client)
      H.feed("GA before")
      H.wait_until("insert mode", function()
        return vim.api.nvim_get_mode().mode == "i"
      end)
      while true do
        H.sleep(100)
        if generation.done then
          break
        end
        H.feed(" x")
      end
      H.ok(vim.api.nvim_get_mode().mode == "i", "still in insert mode when the draft landed")
      H.feed(" after<Esc>")
      H.wait_until("normal mode", function()
        return vim.api.nvim_get_mode().mode == "n"
      end)
      local result = finish(generation)

      H.eq({ true, "ok" }, { result.applied, result.status }, "applied and status")
      local lines = H.lines(bufnr)
      H.eq(#DOCUMENT - 1, #lines, "line count")
      H.eq(DRAFT, lines[5], "the draft replaced the outline")
      H.ok(last_line_when_applied:find("^Last line%. before[ x]*$"), "the line when the draft landed: " .. last_line_when_applied)
      H.ok(vim.startswith(lines[#lines], last_line_when_applied), "the typed line: " .. lines[#lines])
      H.ok(lines[#lines]:find(" after$"), "the typed line: " .. lines[#lines])

      vim.cmd("undo")
      H.eq(DRAFT, H.lines(bufnr)[5], "the first undo leaves the draft")
      H.eq(last_line_when_applied, H.lines(bufnr)[#lines], "the first undo removes what was typed after the draft landed")
      vim.cmd("undo")
      local expected = vim.deepcopy(DOCUMENT)
      expected[10] = last_line_when_applied
      H.eq(expected, H.lines(bufnr), "the second undo removes the whole draft and nothing else")
    end,
  },
  {
    "concurrent: edit inside outline is stale",
    function()
      local bufnr, client = open("inside.md")

      local generation = start_expand(client)
      vim.api.nvim_win_set_cursor(0, { 6, 0 })
      H.feed("$bcwdusk<Esc>")
      H.wait_until("the user's edit", function()
        return H.lines(bufnr)[6] == "- trims the wick at dusk"
      end)
      local result = finish(generation)

      H.eq({ false, "stale" }, { result.applied, result.status }, "applied and status")
      local expected = vim.deepcopy(DOCUMENT)
      expected[6] = "- trims the wick at dusk"
      H.eq(expected, H.lines(bufnr), "buffer: the user's text, untouched")
    end,
  },
}
