-- :AmplifierCancel stops a generation. The fake server streams this draft very slowly, so
-- only a cancelled generation ends soon enough for the waits below.

local H = require("helpers")

local DOCUMENT = {
  "# Valley",
  "",
  "- the glacier retreats",
  "- stones left behind",
}

local function expand_until_progress(client)
  local began
  local group = vim.api.nvim_create_augroup("cancel.progress", {})
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
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  require("amplifier").expand({
    callback = function(err, result)
      generation.done, generation.err, generation.result = true, err, result
    end,
  })
  H.wait_until("the generation to begin", function()
    return began
  end)
  vim.api.nvim_del_augroup_by_id(group)
  H.wait_until("the status to show the generation", function()
    return require("amplifier").status():find("^amplifier: busy")
  end)
  return generation
end

local root

return {
  {
    "cancel: command stops the generation",
    function()
      local notifications = H.capture_notifications()
      H.setup({ progress = "notify" })
      root = H.workspace("cancel")
      local bufnr, client = H.open(vim.fs.joinpath(root, "valley.md"), DOCUMENT)

      local generation = expand_until_progress(client)
      vim.cmd("AmplifierCancel")
      H.wait_until("the command to end", function()
        return generation.done
      end, 10000)

      H.eq(nil, generation.err, "error")
      H.eq({ false, "cancelled" }, { generation.result.applied, generation.result.status }, "applied and status")
      H.eq(DOCUMENT, H.lines(bufnr), "buffer")
      H.wait_until("the status to return to idle", function()
        return require("amplifier").status() == "amplifier: idle"
      end)
      local messages = vim.tbl_map(function(notification)
        return notification.message
      end, notifications)
      H.ok(
        vim.tbl_contains(messages, "amplifier: Expand this outline into a draft: Waiting for the model"),
        "progress shown with vim.notify: " .. vim.inspect(messages)
      )
      H.ok(vim.tbl_contains(messages, "amplifier: Expand this outline into a draft: cancelled"), "result shown: " .. vim.inspect(messages))
    end,
  },
  {
    "cancel: bang cancels every buffer",
    function()
      vim.cmd.split()
      local first, client = H.open(vim.fs.joinpath(root, "first.md"), DOCUMENT)
      local first_generation = expand_until_progress(client)
      vim.cmd.wincmd("w")
      local second = H.open(vim.fs.joinpath(root, "second.md"), DOCUMENT)
      local second_generation = expand_until_progress(client)
      H.wait_until("two running generations", function()
        return require("amplifier").status() == "amplifier: busy (2)"
      end)

      vim.cmd("AmplifierCancel!")
      H.wait_until("both commands to end", function()
        return first_generation.done and second_generation.done
      end, 10000)

      H.eq("cancelled", first_generation.result.status, "status of the first")
      H.eq("cancelled", second_generation.result.status, "status of the second")
      H.eq(DOCUMENT, H.lines(first), "first buffer")
      H.eq(DOCUMENT, H.lines(second), "second buffer")
    end,
  },
}
