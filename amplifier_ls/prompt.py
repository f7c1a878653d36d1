"""The prompt document: the author's archive of past writing, then the draft up to the cursor.

The prompt is framed as a document to continue, not as a request. Excerpts of the author's
corpus come first, each under a `==> path <==` line (the way `head` prints several files),
and the current draft comes last under its own name, so that a base model continues the
draft as one more file by the same author. Notes that steer the continuation (the outline
being expanded, the headings still to write, notes of intent) go where a writer keeps them:
in an HTML comment right after the draft's title, or just before the insertion point when
an outline is expanded.

The archive part (`Prompt.prefix`) depends only on the selected excerpts, which are ordered
by path and position, so two requests with the same selection share a byte-identical prefix.
That is what lets the local model reuse its KV cache and remote APIs reuse their prompt cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .corpus.model import Chunk

ARCHIVE_HEADER = (
    "<!-- Writing archive of one author: notes they published, followed by the draft they are "
    "writing now, in the same voice. -->\n\n"
)


def file_marker(path: str) -> str:
    return f"==> {path} <==\n"


@dataclass(frozen=True)
class Notes:
    """The author's aims besides the text itself: outline, plan and intent."""

    outline: str = ""
    """The outline being expanded, as the author wrote it (list lines)."""
    plan: tuple[str, ...] = ()
    """Headings after the cursor, as written (for example `## Deploying`)."""
    intent: tuple[str, ...] = ()
    """Notes of intent from front matter (`intent:`) or `<!-- intent: ... -->` comments."""

    def __bool__(self) -> bool:
        return bool(self.outline or self.plan or self.intent)


@dataclass(frozen=True)
class Prompt:
    """A prompt document split at the point up to which it is stable."""

    prefix: str
    """The archive: header and excerpts. Byte-identical while the excerpt selection is."""
    body: str
    """The draft: its file marker, the document up to the cursor, and the notes."""
    excerpts: tuple[Chunk, ...] = ()
    document_name: str = "draft.md"
    document_before: str = ""
    """The document text before the cursor as included (its start may have been trimmed)."""
    notes: Notes = field(default_factory=Notes)
    trimmed_chars: int = 0
    """Characters dropped from the start of the document to fit the budget."""

    @property
    def text(self) -> str:
        return self.prefix + self.body
