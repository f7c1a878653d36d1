-- The workspace/applyEdit handler for the amplifier client.
--
-- It differs from Neovim's own handler in two ways. An edit made for an older version of a
-- buffer is rejected with `applied = false` (Neovim's handler skips it but reports success),
-- so the server can tell that its text did not land. And every edit is its own undo block,
-- so one `u` removes a whole generated draft even when it arrives between other changes
-- made by callbacks, which Neovim would otherwise join into one undo block.

local log = require("amplifier.log")

local M = {}

---Close the buffer's current undo block, so that the next change starts a new one.
---@param bufnr integer
local function break_undo_sequence(bufnr)
  -- Setting 'undolevels', even to its current value, closes the undo block (:help undo-break).
  vim.api.nvim_buf_call(bufnr, function()
    vim.bo[bufnr].undolevels = vim.bo[bufnr].undolevels
  end)
end

---Return the loaded buffers an edit changes.
---@param edit lsp.WorkspaceEdit
---@return integer[]
local function changed_buffers(edit)
  local buffers = {}
  local function add(uri)
    local bufnr = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(bufnr) then
      buffers[bufnr] = true
    end
  end

  for _, change in ipairs(edit.documentChanges or {}) do
    if change.textDocument and change.edits then
      add(change.textDocument.uri)
    end
  end
  for uri in pairs(edit.changes or {}) do
    add(uri)
  end
  return vim.tbl_keys(buffers)
end

---Return why a versioned edit no longer fits its buffer, or nil when every edit fits.
---@param edit lsp.WorkspaceEdit
---@param client vim.lsp.Client
---@return string?
local function stale_reason(edit, client)
  for _, change in ipairs(edit.documentChanges or {}) do
    local document = change.textDocument
    local version = document and document.version
    if change.edits and type(version) == "number" then
      local bufnr = vim.uri_to_bufnr(document.uri)
      -- NOTE: buf_versions is undocumented, but it contains the version Neovim sent with the
      -- buffer's last didOpen or didChange, which is what the server compares against.
      local current = vim.lsp.util.buf_versions[bufnr]
      if client.attached_buffers[bufnr] and current ~= version then
        return ("the buffer %s is at version %d, but the edit was made for version %d"):format(
          document.uri,
          current,
          version
        )
      end
    end
  end
  return nil
end

---Apply a workspace edit from the amplifier server; a `lsp.Handler` for workspace/applyEdit.
---@param params lsp.ApplyWorkspaceEditParams
---@param ctx lsp.HandlerContext
---@return lsp.ApplyWorkspaceEditResult
function M.handler(_, params, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client then
    return { applied = false, failureReason = "the client has stopped" }
  end

  local reason = stale_reason(params.edit, client)
  if reason then
    log.info("rejected %s: %s", params.label or "an edit", reason)
    return { applied = false, failureReason = reason }
  end

  local buffers = changed_buffers(params.edit)
  for _, bufnr in ipairs(buffers) do
    break_undo_sequence(bufnr)
  end

  local ok, err = pcall(vim.lsp.util.apply_workspace_edit, params.edit, client.offset_encoding)

  for _, bufnr in ipairs(buffers) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      break_undo_sequence(bufnr)
    end
  end

  if not ok then
    log.error("could not apply %s: %s", params.label or "an edit", err)
    return { applied = false, failureReason = tostring(err) }
  end
  log.debug("applied %s", params.label or "an edit")
  return { applied = true }
end

return M
