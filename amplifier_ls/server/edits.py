"""Edits computed for one version of a document, carried over to a later version.

A generation takes seconds, and the author may keep writing meanwhile. The prediction's
offsets belong to the version it was made from, so they are re-anchored before the edit is
sent. The text just before the insertion point, the replaced text and the text just after
it must appear in the current version unchanged and exactly once. Context that reaches the
start or the end of the document must still reach it. Otherwise the edit is stale and is
dropped, because inserting at old offsets would split words or lose text.
"""

from __future__ import annotations

from lsprotocol import types

from .documents import Snapshot

CONTEXT_CHARS = 200
"""Characters on each side of the edit that must be unchanged for it to be re-anchored."""


def reanchor(original: str, current: str, start: int, end: int, context_chars: int = CONTEXT_CHARS) -> tuple[int, int] | None:
    """Return the range in `current` that corresponds to `original[start:end]`, or None when stale."""
    if current == original:
        return start, end
    before = original[max(0, start - context_chars) : start]
    replaced = original[start:end]
    after = original[end : end + context_chars]
    anchor = before + replaced + after
    if not anchor:
        return None

    found = current.find(anchor)
    if found == -1 or current.find(anchor, found + 1) != -1:
        return None
    # Context cut short by the start or the end of the document must still reach it.
    if len(before) < context_chars and found != 0:
        return None
    if len(after) < context_chars and found + len(anchor) != len(current):
        return None
    new_start = found + len(before)
    return new_start, new_start + len(replaced)


def versioned_edit(snapshot: Snapshot, start: int, end: int, new_text: str) -> types.WorkspaceEdit:
    """Build a workspace edit that the client applies only to this version of the document."""
    edit = types.TextEdit(range=snapshot.range_of(start, end), new_text=new_text)
    document_edit = types.TextDocumentEdit(text_document=snapshot.identifier(), edits=[edit])
    return types.WorkspaceEdit(document_changes=[document_edit])
