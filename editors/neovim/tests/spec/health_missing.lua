-- :checkhealth amplifier when the server cannot be found.

local H = require("helpers")

local function error_lines(lines)
  return vim.tbl_filter(function(line)
    return line:find("ERROR", 1, true) ~= nil
  end, lines)
end

return {
  {
    "health: executable missing from PATH",
    function()
      local notifications = H.capture_notifications()
      vim.env.PATH = vim.fs.joinpath(vim.env.AMPLIFIER_TEST_TMP, "empty-bin")

      require("amplifier").setup({})

      H.eq(1, #notifications, "notifications from setup()")
      H.ok(notifications[1].message:find("amplifier-ls was not found on $PATH", 1, true), notifications[1].message)
      local errors = error_lines(H.checkhealth())
      H.eq(1, #errors, "ERROR lines")
      H.ok(errors[1]:find("amplifier-ls was not found on $PATH", 1, true), errors[1])
    end,
  },
  {
    "health: configured cmd not executable",
    function()
      H.capture_notifications()
      require("amplifier").setup({ cmd = { "/nonexistent/amplifier-ls", "serve" } })

      local lines = H.checkhealth()
      local errors = error_lines(lines)
      H.eq(1, #errors, "ERROR lines")
      H.ok(errors[1]:find('the configured cmd "/nonexistent/amplifier-ls" is not an executable program', 1, true), errors[1])
      local advice = table.concat(lines, "\n")
      H.ok(advice:find("set `cmd` in require('amplifier').setup()", 1, true), "the error gives the fix:\n" .. advice)
    end,
  },
  {
    "health: anthropic without API key",
    function()
      H.capture_notifications()
      vim.env.ANTHROPIC_API_KEY = nil
      require("amplifier").setup({
        cmd = { vim.env.AMPLIFIER_TEST_SERVER, "serve" },
        settings = { backend = "anthropic" },
      })

      local errors = error_lines(H.checkhealth())
      H.eq(1, #errors, "ERROR lines")
      H.ok(errors[1]:find("ANTHROPIC_API_KEY is not set, and the anthropic backend needs an API key", 1, true), errors[1])
    end,
  },
}
