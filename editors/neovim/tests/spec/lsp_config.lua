-- lsp/amplifier_ls.lua on its own: vim.lsp.config and vim.lsp.enable, without setup().

local H = require("helpers")

return {
  {
    "lsp config: defaults from the runtime file",
    function()
      local config = vim.lsp.config.amplifier_ls

      H.eq({ "amplifier-ls", "serve" }, config.cmd, "cmd")
      H.eq({ "markdown", "text", "rst", "org", "tex", "mail", "gitcommit" }, config.filetypes, "filetypes")
      H.eq({ ".amplifier.toml", ".git" }, config.root_markers, "root markers")
      H.eq("{}", vim.json.encode(config.init_options), "init options as JSON")
    end,
  },
  {
    "lsp config: enable attaches the server",
    function()
      vim.lsp.config("amplifier_ls", {
        cmd = { vim.env.AMPLIFIER_TEST_SERVER, "serve" },
        init_options = H.server_settings(),
      })
      vim.lsp.enable("amplifier_ls")
      local root = H.workspace("lsp_config")
      local path = vim.fs.joinpath(root, "notes.txt")
      vim.fn.writefile({ "Plain notes." }, path)

      vim.cmd.edit(path)
      local client = H.wait_until("the client to initialize", function()
        local client = vim.lsp.get_clients({ bufnr = 0, name = "amplifier_ls" })[1]
        return client and client.initialized and client
      end)

      H.eq(root, client.root_dir, "root directory")
      H.ok(client.server_capabilities.inlineCompletionProvider, "the server offers inline completions")
      H.ok(client.server_capabilities.executeCommandProvider, "the server offers commands")
    end,
  },
}
