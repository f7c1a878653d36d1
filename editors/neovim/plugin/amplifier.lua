-- User commands and <Plug> mappings. Nothing starts until require("amplifier").setup().

if vim.g.loaded_amplifier then
  return
end
vim.g.loaded_amplifier = true

local function amplifier()
  return require("amplifier")
end

vim.api.nvim_create_user_command("AmplifierExpand", function(args)
  amplifier().expand({ range = args.range > 0 and { args.line1, args.line2 } or nil })
end, { range = true, desc = "Replace the outline (the range, or the list under the cursor) with a draft" })

vim.api.nvim_create_user_command("AmplifierContinue", function()
  amplifier().continue()
end, { desc = "Insert the rest of the section at the cursor" })

vim.api.nvim_create_user_command("AmplifierNext", function()
  amplifier().next()
end, { desc = "Insert the next section after the one at the cursor" })

vim.api.nvim_create_user_command("AmplifierCancel", function(args)
  amplifier().cancel({ all = args.bang })
end, { bang = true, desc = "Cancel the generations of this buffer (with !: of every buffer)" })

vim.api.nvim_create_user_command("AmplifierLog", function(args)
  local log = require("amplifier.log")
  local path = args.bang and log.server_path() or log.path()
  if not path then
    vim.notify("amplifier: the server writes no log file (log.server_file = false)", vim.log.levels.WARN)
    return
  end
  vim.cmd.split(vim.fn.fnameescape(path))
end, { bang = true, desc = "Open the plugin's log (with !: the server's log)" })

vim.keymap.set("n", "<Plug>(amplifier-expand)", "<Cmd>AmplifierExpand<CR>", { desc = "amplifier: expand the outline" })
vim.keymap.set("x", "<Plug>(amplifier-expand)", ":AmplifierExpand<CR>", { silent = true, desc = "amplifier: expand the selected outline" })
vim.keymap.set("n", "<Plug>(amplifier-continue)", "<Cmd>AmplifierContinue<CR>", { desc = "amplifier: continue the section" })
vim.keymap.set("n", "<Plug>(amplifier-next)", "<Cmd>AmplifierNext<CR>", { desc = "amplifier: write the next section" })
vim.keymap.set("n", "<Plug>(amplifier-cancel)", "<Cmd>AmplifierCancel<CR>", { desc = "amplifier: cancel" })
