"""Build the prompt document from the volition and the selected corpus excerpts, within budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .corpus.model import Chunk
from .prompt import ARCHIVE_HEADER, Notes, Prompt, file_marker
from .state import Document
from .text import cut_head, cut_tail
from .volition import Volition

TokenCounter = Callable[[str], int]

ELISION = "\n\n[…]\n\n"


@dataclass(frozen=True)
class Budget:
    context_window: int
    max_output_tokens: int
    document_tokens: int
    corpus_tokens: int

    def corpus_room(self, body_tokens: int) -> int:
        """Tokens left for the archive once the draft and the output are placed."""
        margin = 16
        free = self.context_window - self.max_output_tokens - body_tokens - margin
        return max(0, min(self.corpus_tokens, free))


def render_prefix(excerpts: Sequence[Chunk]) -> str:
    """Render the archive. Excerpts come ordered by (path, index) from the index."""
    if not excerpts:
        return ""
    parts = [ARCHIVE_HEADER]
    for excerpt in excerpts:
        text = excerpt.text.strip("\n")
        if excerpt.index > 0 and excerpt.title and not text.startswith("#"):
            text = f"# {excerpt.title}\n\n[…]\n\n{text}"
        parts.append(file_marker(excerpt.path) + text + "\n\n")
    return "".join(parts)


def render_notes_comment(notes: Notes) -> str:
    lines: list[str] = []
    for note in notes.intent:
        lines.append(f"Intent: {note}")
    if notes.plan:
        lines.append("Sections still to write:")
        lines.extend(notes.plan)
    if not lines:
        return ""
    return "<!-- " + "\n".join(lines) + " -->\n\n"


def render_outline_comment(outline: str) -> str:
    return "<!-- Outline of the next part, to be written out in full prose:\n" + outline.strip("\n") + "\n-->\n\n"


def _split_head(document: Document, before: str) -> tuple[str, str]:
    """Split `before` into the head kept whole (front matter and title) and the rest."""
    structure = document.structure
    head_end = structure.front_matter.end if structure.front_matter else 0
    for heading in structure.headings:
        if heading.level == 1 and heading.start <= head_end + 2:
            head_end = heading.end
        break
    head_end = min(head_end, len(before))
    return before[:head_end], before[head_end:]


def _fit(text: str, tokens: int, count: TokenCounter, from_end: bool) -> str:
    """Cut `text` to at most `tokens` tokens, keeping its end (or its start), at a clean boundary."""
    if count(text) <= tokens:
        return text
    chars = max(1, int(len(text) * tokens / max(1, count(text))))
    while chars > 0:
        piece = cut_tail(text, chars) if from_end else cut_head(text, chars)
        if count(piece) <= tokens:
            break
        chars = int(chars * 0.9)
    else:
        return ""
    if from_end:
        boundary = _first_boundary(piece)
        return piece[boundary:]
    return piece


def _first_boundary(piece: str) -> int:
    """Index of the first paragraph, line or word start in `piece`, so that it starts cleanly."""
    limit = len(piece) // 3
    for separator in ("\n\n", "\n", " "):
        found = piece.find(separator)
        if 0 <= found <= limit:
            return found + len(separator)
    return 0


def build_prompt(
    document: Document,
    volition: Volition,
    excerpts: Sequence[Chunk],
    budget: Budget,
    count: TokenCounter,
    fit_excerpts: Callable[[int], Sequence[Chunk]] | None = None,
) -> Prompt:
    """Lay out the prompt: archive, then the draft with its notes, ending at the insertion point.

    `excerpts` are used as given; with `fit_excerpts`, the archive is chosen for the room left
    once the draft is placed (a function from a token budget to excerpts).
    """
    notes = Notes(outline=volition.outline, plan=volition.plan, intent=_new_intent(volition))
    notes_comment = render_notes_comment(Notes(plan=notes.plan, intent=notes.intent))
    outline_comment = render_outline_comment(volition.outline) if volition.outline else ""

    head, rest = _split_head(document, volition.before)
    if notes_comment and head and not head.endswith("\n\n"):
        head = head.rstrip("\n") + "\n\n"
    tail_room = budget.document_tokens - count(head) - count(notes_comment) - count(outline_comment)
    kept = _fit(rest, max(0, tail_room), count, from_end=True)
    trimmed = len(rest) - len(kept)
    if trimmed:
        kept = ELISION.lstrip("\n") + kept if head.endswith("\n") else ELISION + kept
    document_before = head + kept

    if outline_comment:
        if not kept or kept.endswith("\n\n"):
            separator = ""
        elif kept.endswith("\n"):
            separator = "\n"
        else:
            separator = "\n\n"
        draft = head + notes_comment + kept + separator + outline_comment
    else:
        draft = head + notes_comment + kept
    body = file_marker(document.name) + draft + volition.lead

    if fit_excerpts is not None:
        excerpts = fit_excerpts(budget.corpus_room(count(body)))
    prefix = render_prefix(excerpts)
    return Prompt(
        prefix=prefix,
        body=body,
        excerpts=tuple(excerpts),
        document_name=document.name,
        document_before=document_before,
        notes=notes,
        trimmed_chars=trimmed,
    )


def _new_intent(volition: Volition) -> tuple[str, ...]:
    """Intent notes not already visible in the text before the insertion point."""
    return tuple(note for note in volition.intent if note not in volition.before)
