-- :AmplifierContinue, :AmplifierNext, and the suggestion made on save with its quick fix.

local H = require("helpers")

local root

local function open(name, lines)
  root = root or H.workspace("sections")
  return H.open(vim.fs.joinpath(root, name), lines)
end

return {
  {
    "continue: inserts at the end of the line",
    function()
      H.capture_notifications()
      H.setup()
      local bufnr = open("continue.md", { "# Harbour", "", "The harbour master", "", "# Later", "", "Something." })
      vim.api.nvim_win_set_cursor(0, { 3, 17 })

      local done
      vim.api.nvim_create_autocmd("User", {
        pattern = "AmplifierDone",
        once = true,
        callback = function(event)
          done = event.data
        end,
      })
      vim.cmd("AmplifierContinue")
      H.wait_until("AmplifierDone", function()
        return done
      end)

      H.eq("amplifier.continueSection", done.command, "command")
      H.eq("ok", done.result.status, "status")
      H.eq({
        "# Harbour",
        "",
        "The harbour master writes down every boat that comes in after dark.",
        "",
        "# Later",
        "",
        "Something.",
      }, H.lines(bufnr), "buffer")
    end,
  },
  {
    "next: inserts the following section",
    function()
      local bufnr = open("next.md", { "# Bread", "", "## Kneading", "", "Knead the dough for ten minutes." })
      vim.api.nvim_win_set_cursor(0, { 5, 0 })

      local err, result = H.run("next")

      H.eq(nil, err, "error")
      H.eq("ok", result.status, "status")
      H.eq({
        "# Bread",
        "",
        "## Kneading",
        "",
        "Knead the dough for ten minutes.",
        "",
        "## Shaping",
        "",
        "Fold the dough into a tight round and let it rest.",
      }, H.lines(bufnr), "buffer")
    end,
  },
  {
    "on save: quick fix inserts suggestion",
    function()
      local bufnr, client = open("save.md", { "# Bread", "", "Feed the sourdough starter twice a day." })

      vim.cmd.write()
      local diagnostics = H.wait_until("the suggestion's diagnostic", function()
        local found = vim.diagnostic.get(bufnr, { namespace = vim.lsp.diagnostic.get_namespace(client.id) })
        return #found > 0 and found
      end)
      H.eq(1, #diagnostics, "diagnostics")
      H.eq(vim.diagnostic.severity.HINT, diagnostics[1].severity, "severity")
      H.eq(2, diagnostics[1].lnum, "line of the diagnostic")
      H.ok(diagnostics[1].message:find("Proofing", 1, true), diagnostics[1].message)

      vim.api.nvim_win_set_cursor(0, { 3, 0 })
      vim.lsp.buf.code_action({
        apply = true,
        filter = function(action)
          return action.kind == "quickfix.amplifier.insertSuggestion"
        end,
      })
      H.wait_until("the suggestion in the buffer", function()
        return #H.lines(bufnr) > 3
      end)

      H.eq({
        "# Bread",
        "",
        "Feed the sourdough starter twice a day.",
        "",
        "## Proofing",
        "",
        "Let the dough rest overnight in a cool room.",
      }, H.lines(bufnr), "buffer")
      H.wait_until("the diagnostic to be cleared", function()
        return #vim.diagnostic.get(bufnr, { namespace = vim.lsp.diagnostic.get_namespace(client.id) }) == 0
      end)
    end,
  },
}
