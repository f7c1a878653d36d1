"""Data shared by the corpus scanner, the index and the prompt builder."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """A passage of one corpus file, cut at a natural boundary (section or paragraph)."""

    path: str
    """Path relative to the corpus root, with forward slashes; shown in the prompt."""
    title: str
    """The file's title: its first level-1 heading, else the front-matter `title`, else the file stem."""
    heading_path: tuple[str, ...]
    """Headings enclosing the passage, outermost first."""
    text: str
    start: int
    """Offset of the passage in the decoded file, in characters."""
    index: int
    """Position of the chunk in its file, from 0."""


@dataclass(frozen=True)
class Skipped:
    """A file or folder left out of the corpus, with the reason shown to the user."""

    path: str
    reason: str
