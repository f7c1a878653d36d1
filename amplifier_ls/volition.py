"""What the author is aiming at: where the new text goes and what steers it.

A `Volition` is computed from the document and the request. It fixes the insertion point
(and the range replaced, for an outline), the text on either side, the outline, the headings
still to come (the author's plan) and notes of intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .errors import DocumentError
from .settings import Horizon
from .state import Document

Mode = Literal["continue", "next-section", "expand"]


@dataclass(frozen=True)
class Volition:
    mode: Mode
    horizon: Horizon
    start: int
    """Offset where the new text goes."""
    end: int
    """End of the range the new text replaces (equal to `start` unless an outline is replaced)."""
    before: str
    after: str
    outline: str = ""
    plan: tuple[str, ...] = ()
    intent: tuple[str, ...] = ()
    section_level: int = 0
    """Level of the section the new text belongs to (0: the document has no headings there)."""
    lead: str = ""
    """Text the prediction must start with, given to the model as the end of its prompt and
    kept in the inserted text (the heading marks of a new section)."""


def build_volition(
    document: Document,
    offset: int,
    mode: Mode = "continue",
    horizon: Horizon | None = None,
    selection: tuple[int, int] | None = None,
    default_horizon: Horizon = "paragraph",
) -> Volition:
    """Work out where the prediction goes and what steers it.

    Raises DocumentError when the cursor is outside the document or, for `expand`, when no
    outline is at the cursor or in the selection.
    """
    text = document.text
    if not 0 <= offset <= len(text):
        raise DocumentError(f"Cursor offset {offset} is outside the document (0 to {len(text)})")
    intent = tuple(document.intent_notes())

    if mode == "expand":
        start, end, outline = _outline_range(document, offset, selection)
        level = _level_at(document, start)
        return Volition(
            mode=mode,
            horizon=horizon or "draft",
            start=start,
            end=end,
            before=text[:start],
            after=text[end:],
            outline=outline,
            plan=_plan(document, end),
            intent=intent,
            section_level=level,
        )

    if mode == "next-section":
        # The new section takes the level of the section at the cursor; under the title (or
        # with no heading at all) it is a level-2 section. It goes before the next heading of
        # that level or higher, so that it follows the current section's subsections.
        new_level = max(_level_at(document, offset), 2)
        start = document.section_end(offset, new_level)
        before = text[:start]
        return Volition(
            mode=mode,
            horizon=horizon or "section",
            start=start,
            end=start,
            before=before,
            after=text[start:],
            plan=_plan(document, start),
            intent=intent,
            section_level=new_level,
            lead=_blank_line_before(before) + "#" * new_level + " ",
        )

    return Volition(
        mode="continue",
        horizon=horizon or default_horizon,
        start=offset,
        end=offset,
        before=text[:offset],
        after=text[offset:],
        plan=_plan(document, offset),
        intent=intent,
        section_level=_level_at(document, offset),
    )


def _level_at(document: Document, offset: int) -> int:
    enclosing = document.section_path(offset)
    return enclosing[-1].level if enclosing else 0


def _plan(document: Document, offset: int) -> tuple[str, ...]:
    return tuple(heading.source for heading in document.later_headings(offset))


def _blank_line_before(before: str) -> str:
    """Newlines that put a blank line between `before` and a new block."""
    if not before or before.endswith("\n\n"):
        return ""
    if before.endswith("\n"):
        return "\n"
    return "\n\n"


_LIST_LINE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


def _is_outline(lines: str) -> bool:
    """Return whether every non-blank line is a list item or an indented continuation of one."""
    content = [line for line in lines.split("\n") if line.strip()]
    if not content or not _LIST_LINE.match(content[0]):
        return False
    return all(_LIST_LINE.match(line) or line.startswith((" ", "\t")) for line in content)


def _outline_range(
    document: Document, offset: int, selection: tuple[int, int] | None
) -> tuple[int, int, str]:
    text = document.text
    if selection is not None and selection[0] != selection[1]:
        start, end = sorted(selection)
        start = text.rfind("\n", 0, start) + 1
        if end > start and text[end - 1] == "\n":
            end -= 1
        line_end = text.find("\n", end)
        end = len(text) if line_end == -1 else line_end
        outline = text[start:end]
        if not outline.strip():
            raise DocumentError("The selection is empty; select the outline's list lines to expand")
        if not _is_outline(outline):
            raise DocumentError(
                "The selected lines are not an outline; select list lines (starting with -, * or 1.) to expand"
            )
        return start, end, outline

    block = document.list_block_at(offset)
    if block is None:
        raise DocumentError(
            "No outline at the cursor; put the cursor on a list of bullet points or select it"
        )
    return block.start, block.end, text[block.start : block.end]
