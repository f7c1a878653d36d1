"""Choose the held-out documents and the points where each one is cut.

A cut is a point in a held-out document where the predictor gets the text before it (and
nothing after) and the real continuation is known:

- A paragraph cut sits after a paragraph, at the start of the next one, inside one section.
  The real continuation is that next paragraph, and the request is for one paragraph
  (`mode="continue"`, horizon "paragraph").
- A section cut sits right before a heading. The real continuation is that section, up to
  the next heading of the same or a higher level, and the request is for the next section
  (`mode="next-section"`). Only headings whose level is the one the pipeline gives a new
  section there are used, so that the predicted heading can match the real one.

Cuts never fall inside front matter or code blocks, a paragraph continuation is never a
code block, and cuts with too little text before or after them are skipped. Every choice is
drawn from `random.Random(seed)`, so the same seed and corpus yield the same cuts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import DocumentError
from ..state import Document
from ..volition import build_volition

CutKind = Literal["paragraph", "section"]
CUT_KINDS: tuple[CutKind, ...] = ("paragraph", "section")

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_WORD = re.compile(r"\w+")

MIN_BEFORE_CHARS = 200
"""Default minimum of body text (front matter excluded) before a cut."""
MIN_AFTER_CHARS = 80
"""Default minimum length of the real continuation."""
MIN_AFTER_WORDS = 8


@dataclass(frozen=True)
class Cut:
    path: str
    """Path of the held-out document relative to the workspace root, as the corpus index names it."""
    file: Path
    """Absolute path of the held-out document."""
    kind: CutKind
    offset: int
    """Offset of the cut in the document's text (line endings normalised to "\\n")."""
    reference: str
    """The real continuation: the next paragraph, or the section with its heading."""
    before_chars: int

    @property
    def id(self) -> str:
        return f"{self.path}@{self.offset}:{self.kind}"


@dataclass(frozen=True)
class CutLimits:
    min_before_chars: int = MIN_BEFORE_CHARS
    min_after_chars: int = MIN_AFTER_CHARS


def truncated(document: Document, offset: int) -> Document:
    """Return the document as the author had it at the cut: everything before `offset`, nothing after."""
    return Document(document.text[:offset], document.path, document.line_ending, document.language)


def paragraph_cuts(document: Document, path: str, limits: CutLimits) -> list[Cut]:
    structure = document.structure
    body_start = structure.front_matter.end if structure.front_matter else 0
    text = document.text
    cuts: list[Cut] = []
    for previous, following in zip(structure.paragraphs, structure.paragraphs[1:]):
        if text[previous.end : following.start].strip():
            continue  # a heading lies between them: the cut would be a section start
        reference = text[following.start : following.end]
        if _FENCE_LINE.search(reference) or not _long_enough(reference, limits):
            continue
        before_chars = len(text[body_start : following.start].strip())
        if before_chars < limits.min_before_chars:
            continue
        cuts.append(Cut(path, document.path, "paragraph", following.start, reference, before_chars))
    return cuts


def section_cuts(document: Document, path: str, limits: CutLimits) -> list[Cut]:
    structure = document.structure
    body_start = structure.front_matter.end if structure.front_matter else 0
    text = document.text
    cuts: list[Cut] = []
    for heading in structure.headings:
        if heading.start < body_start or heading.level < 2:
            continue
        if build_volition(truncated(document, heading.start), heading.start, "next-section").section_level != heading.level:
            continue
        end = document.section_end(heading.start, heading.level)
        reference = text[heading.start : end].rstrip()
        if not _long_enough(reference[heading.end - heading.start :], limits):
            continue
        before_chars = len(text[body_start : heading.start].strip())
        if before_chars < limits.min_before_chars:
            continue
        cuts.append(Cut(path, document.path, "section", heading.start, reference, before_chars))
    return cuts


def find_cuts(
    document: Document, path: str, kinds: Sequence[CutKind] = CUT_KINDS, limits: CutLimits = CutLimits()
) -> dict[CutKind, list[Cut]]:
    """Return every admissible cut of `document`, by kind, in document order."""
    found: dict[CutKind, list[Cut]] = {}
    if "paragraph" in kinds:
        found["paragraph"] = paragraph_cuts(document, path, limits)
    if "section" in kinds:
        found["section"] = section_cuts(document, path, limits)
    return found


def choose_cuts(found: dict[CutKind, list[Cut]], count: int, rng: random.Random) -> list[Cut]:
    """Draw up to `count` cuts, alternating between kinds so that both are represented."""
    pools = {kind: rng.sample(cuts, len(cuts)) for kind, cuts in found.items() if cuts}
    kinds = sorted(pools)
    rng.shuffle(kinds)
    chosen: list[Cut] = []
    while len(chosen) < count and any(pools.values()):
        for kind in kinds:
            if pools[kind] and len(chosen) < count:
                chosen.append(pools[kind].pop())
    return sorted(chosen, key=lambda cut: cut.offset)


@dataclass(frozen=True)
class HeldOut:
    path: str
    file: Path
    cuts: tuple[Cut, ...]


def choose_held_out(
    files: Sequence[tuple[str, Path]],
    documents: int,
    cuts_per_document: int,
    seed: int,
    kinds: Sequence[CutKind] = CUT_KINDS,
    limits: CutLimits = CutLimits(),
) -> list[HeldOut]:
    """Draw `documents` held-out documents that have at least one cut, with their cuts.

    `files` are (relative path, absolute path) pairs. Documents are drawn in a seeded random
    order; one whose text cannot be read or has no admissible cut is passed over.
    """
    rng = random.Random(seed)
    order = sorted(files)
    rng.shuffle(order)
    held_out: list[HeldOut] = []
    for relative, file in order:
        if len(held_out) == documents:
            break
        try:
            document = Document.from_file(file)
        except DocumentError:
            continue
        found = find_cuts(document, relative, kinds, limits)
        chosen = choose_cuts(found, cuts_per_document, random.Random(f"{seed}:{relative}"))
        if chosen:
            held_out.append(HeldOut(relative, file, tuple(chosen)))
    return held_out


def _long_enough(text: str, limits: CutLimits) -> bool:
    stripped = text.strip()
    return len(stripped) >= limits.min_after_chars and len(_WORD.findall(stripped)) >= MIN_AFTER_WORDS
