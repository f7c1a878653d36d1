-- :checkhealth amplifier with a working set-up.

local H = require("helpers")

local function matching(lines, pattern)
  return vim.tbl_filter(function(line)
    return line:find(pattern, 1, true) ~= nil
  end, lines)
end

return {
  {
    "health: valid set-up has no errors",
    function()
      H.capture_notifications()
      H.setup()
      local root = H.workspace("health")
      H.open(vim.fs.joinpath(root, "notes.md"), { "# Notes" })

      local lines = H.checkhealth()
      local report = table.concat(lines, "\n")

      H.eq({}, matching(lines, "ERROR"), "ERROR lines in:\n" .. report)
      H.eq(1, #matching(lines, "OK version: amplifier-ls "), "version line in:\n" .. report)
      H.eq(1, #matching(lines, "OK backend openai, model fake-model (reported by the running server)"), "backend line in:\n" .. report)
      H.eq(1, #matching(lines, "OPENAI_API_KEY is not set"), "API key line in:\n" .. report)
      H.eq(1, #matching(lines, "plugin log: " .. require("amplifier.log").path()), "log line in:\n" .. report)
    end,
  },
  {
    "health: API key reported, never shown",
    function()
      vim.env.OPENAI_API_KEY = "sk-test-secret-value"

      local lines = H.checkhealth()
      vim.env.OPENAI_API_KEY = nil
      local report = table.concat(lines, "\n")

      H.eq(1, #matching(lines, "OK OPENAI_API_KEY is set"), "API key line in:\n" .. report)
      H.eq({}, matching(lines, "sk-test-secret-value"), "lines showing the key")
    end,
  },
}
