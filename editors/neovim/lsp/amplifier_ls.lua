-- amplifier-ls: predicts what you would write next, in your own voice.
--
-- Usable without the rest of the plugin: `vim.lsp.enable("amplifier_ls")`. Server settings
-- (the tree listed by `amplifier-ls settings`) go in init_options, for example
-- `vim.lsp.config("amplifier_ls", { init_options = { backend = "openai" } })`.

---@type vim.lsp.Config
return {
  cmd = { "amplifier-ls", "serve" },
  filetypes = { "markdown", "text", "rst", "org", "tex", "mail", "gitcommit" },
  root_markers = { ".amplifier.toml", ".git" },
  -- An empty dict rather than {}, which would be sent as a JSON array.
  init_options = vim.empty_dict(),
}
