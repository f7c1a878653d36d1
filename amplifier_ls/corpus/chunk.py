"""Cut a corpus file into passages at natural boundaries: sections first, then paragraphs.

A chunk is a slice of the file's text: `text[chunk.start:chunk.start + len(chunk.text)]`
equals `chunk.text`, where `text` has its line endings normalised to "\\n". Nothing is
rewritten, so an excerpt in the prompt reads exactly as the author wrote it.

Markdown files, and files with an unknown extension, are read with ATX and setext headings
and with fenced code blocks, which are cut only when one alone exceeds `max_chars`. Their
YAML (`---`) or TOML (`+++`) front matter is left out of the chunks but may give the title.
Org, AsciiDoc, reStructuredText and LaTeX files are cut at their headings. Plain text is cut
at blank lines only.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

from ..text import is_cluster_boundary, normalize_newlines
from .model import Chunk

logger = logging.getLogger(__name__)

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-+*]|\d+[.)])(?:\s|$)")
_FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_ORG_HEADING = re.compile(r"^(\*+)[ \t]+(.*?)[ \t]*$")
_ADOC_HEADING = re.compile(r"^(=+)[ \t]+(.*?)[ \t]*$")
_TEX_HEADING = re.compile(r"^\s*\\(part|chapter|section|subsection|subsubsection|paragraph)\*?\{(.*)\}")
_TEX_LEVELS = {"part": 1, "chapter": 1, "section": 2, "subsection": 3, "subsubsection": 4, "paragraph": 5}
_MARKDOWN_MARKERS = frozenset("`~#=-")
"""First characters of the lines that can open a fence, be a heading or underline one."""
_YAML_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_TOML_END = re.compile(r"^\+\+\+[ \t]*$", re.MULTILINE)
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}[ \t]*$")

_MARKDOWN = "markdown"
_PLAIN = "plain"
_SYNTAX_BY_EXTENSION = {
    ".txt": _PLAIN,
    ".text": _PLAIN,
    ".org": "org",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
    ".rst": "rst",
    ".tex": "latex",
}


@dataclass
class _Line:
    start: int
    end: int
    """Offset just past the last character, before the "\\n"."""
    kind: str = "text"
    """"text", "blank", "heading", "underline" (of a setext or rst heading) or "fence"."""
    level: int = 0
    heading: str = ""
    fence_id: int = -1
    """Id shared by the lines of one fenced block, or -1 outside fences."""


@dataclass(frozen=True)
class _Unit:
    """A span that packing never cuts: a short section, a paragraph, a fence, or a piece of one."""

    start: int
    end: int
    heading_path: tuple[str, ...]
    opens_section: bool


def chunk_text(path: str, text: str, target_chars: int = 1200, max_chars: int = 2400) -> list[Chunk]:
    """Cut `text` (the content of corpus file `path`) into chunks of about `target_chars`.

    No chunk is longer than `max_chars`. A chunk grows past `target_chars` only where a
    section, paragraph or code block would otherwise be cut, or where the chunk so far is
    shorter than half the target.
    """
    if max_chars < target_chars:
        raise ValueError(f"max_chars ({max_chars}) must not be smaller than target_chars ({target_chars})")
    text = normalize_newlines(text)
    syntax = _SYNTAX_BY_EXTENSION.get(PurePosixPath(path).suffix.lower(), _MARKDOWN)

    body_start, front_matter_title = 0, None
    if syntax == _MARKDOWN:
        body_start, front_matter_title = split_front_matter(text)
    lines = _classify_lines(text, body_start, syntax)

    first_title = next((line.heading for line in lines if line.kind == "heading" and line.level == 1), None)
    title = first_title or front_matter_title or PurePosixPath(path).stem

    units = _units(text, lines, target_chars, max_chars)
    spans = _pack(units, target_chars, max_chars)
    return [
        Chunk(
            path=path,
            title=title,
            heading_path=_common_prefix([unit.heading_path for unit in group]),
            text=text[group[0].start:group[-1].end],
            start=group[0].start,
            index=index,
        )
        for index, group in enumerate(spans)
    ]


def split_front_matter(text: str) -> tuple[int, str | None]:
    """Return where the body starts after YAML or TOML front matter, and its `title`, if any."""
    if text.startswith("---\n"):
        closing, parse = _YAML_END, _parse_yaml
    elif text.startswith("+++\n"):
        closing, parse = _TOML_END, _parse_toml
    else:
        return 0, None
    match = closing.search(text, 4)
    if match is None:
        return 0, None

    data = parse(text[4:match.start()])
    body_start = min(len(text), match.end() + 1)
    title = data.get("title") if isinstance(data, dict) else None
    if isinstance(title, (str, int, float)) and str(title).strip():
        return body_start, str(title).strip()
    return body_start, None


def _parse_yaml(source: str) -> object:
    try:
        return yaml.safe_load(source)
    except yaml.YAMLError as error:
        logger.debug("Front matter is not valid YAML: %s", error)
        return None


def _parse_toml(source: str) -> object:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        logger.debug("Front matter is not valid TOML: %s", error)
        return None


def _classify_lines(text: str, body_start: int, syntax: str) -> list[_Line]:
    lines: list[_Line] = []
    position = body_start
    while position < len(text):
        newline = text.find("\n", position)
        end = len(text) if newline == -1 else newline
        lines.append(_Line(position, end, "blank" if not text[position:end].strip() else "text"))
        position = end + 1

    if syntax == _MARKDOWN:
        _mark_markdown(text, lines)
    elif syntax == "rst":
        _mark_rst(text, lines)
    elif syntax != _PLAIN:
        _mark_by_pattern(text, lines, syntax)
    return lines


def _mark_markdown(text: str, lines: list[_Line]) -> None:
    fence: tuple[str, int] | None = None
    fence_id = -1
    for number, line in enumerate(lines):
        content = text[line.start:line.end]
        if fence is not None:
            line.kind, line.fence_id = "fence", fence_id
            stripped = content.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= fence[1]:
                fence = None
            continue

        first = content.lstrip()[:1]
        if first not in _MARKDOWN_MARKERS:
            continue

        opening = _FENCE_OPEN.match(content) if first in "`~" else None
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence_id += 1
            fence = (opening.group(1)[0], len(opening.group(1)))
            line.kind, line.fence_id = "fence", fence_id
            continue

        atx = _ATX_HEADING.match(content) if first == "#" else None
        if atx:
            line.kind, line.level, line.heading = "heading", len(atx.group(1)), (atx.group(2) or "").strip()
            continue

        underline = _SETEXT_UNDERLINE.match(content) if first in "=-" else None
        if underline and number > 0 and _is_setext_title(text, lines, number - 1):
            title_line = lines[number - 1]
            title_line.kind = "heading"
            title_line.level = 1 if underline.group(1)[0] == "=" else 2
            title_line.heading = text[title_line.start:title_line.end].strip()
            line.kind = "underline"


def _is_setext_title(text: str, lines: list[_Line], number: int) -> bool:
    """Return whether line `number` is a one-line paragraph that an underline makes a heading."""
    line = lines[number]
    if line.kind != "text" or _LIST_ITEM.match(text[line.start:line.end]):
        return False
    return number == 0 or lines[number - 1].kind in ("blank", "heading", "underline")


def _mark_rst(text: str, lines: list[_Line]) -> None:
    levels: list[str] = []
    for number in range(1, len(lines)):
        line, title = lines[number], lines[number - 1]
        underline = _RST_UNDERLINE.match(text[line.start:line.end])
        if not underline or title.kind != "text" or _RST_UNDERLINE.match(text[title.start:title.end]):
            continue
        if line.end - line.start < len(text[title.start:title.end].rstrip()):
            continue
        character = underline.group(1)
        if character not in levels:
            levels.append(character)
        title.kind, title.level = "heading", levels.index(character) + 1
        title.heading = text[title.start:title.end].strip()
        line.kind = "underline"


def _mark_by_pattern(text: str, lines: list[_Line], syntax: str) -> None:
    for line in lines:
        content = text[line.start:line.end]
        if syntax == "org":
            match = _ORG_HEADING.match(content)
            if match:
                line.kind, line.level, line.heading = "heading", len(match.group(1)), match.group(2)
        elif syntax == "asciidoc":
            match = _ADOC_HEADING.match(content)
            if match:
                line.kind, line.level, line.heading = "heading", len(match.group(1)), match.group(2)
        elif syntax == "latex":
            match = _TEX_HEADING.match(content)
            if match:
                line.kind, line.level, line.heading = "heading", _TEX_LEVELS[match.group(1)], match.group(2)


@dataclass
class _Section:
    heading_path: tuple[str, ...]
    blocks: list[tuple[int, int]]
    """(start, end) of the heading, then of each paragraph or fenced block."""


def _sections(lines: list[_Line]) -> list[_Section]:
    """Group lines into sections (a heading and what follows) made of blocks."""
    sections = [_Section((), [])]
    stack: list[tuple[int, str]] = []
    block: list[_Line] = []

    def close_block() -> None:
        if block:
            sections[-1].blocks.append((block[0].start, block[-1].end))
            block.clear()

    for line in lines:
        if line.kind == "heading":
            close_block()
            while stack and stack[-1][0] >= line.level:
                stack.pop()
            stack.append((line.level, line.heading))
            sections.append(_Section(tuple(heading for _, heading in stack), []))
            block.append(line)
            continue
        if line.kind == "underline":
            block.append(line)
            close_block()
            continue
        if line.kind == "blank":
            close_block()
            continue
        starts_fence = line.kind == "fence" and (not block or block[-1].fence_id != line.fence_id)
        leaves_fence = line.kind != "fence" and block and block[-1].kind == "fence"
        if starts_fence or leaves_fence or (block and block[-1].kind == "heading"):
            close_block()
        block.append(line)
    close_block()
    return [section for section in sections if section.blocks]


def _units(text: str, lines: list[_Line], target_chars: int, max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    for section in _sections(lines):
        path = section.heading_path
        start, end = section.blocks[0][0], section.blocks[-1][1]
        if end - start <= target_chars:
            units.append(_Unit(start, end, path, True))
            continue

        blocks = list(section.blocks)
        if path and len(blocks) > 1 and blocks[1][1] - blocks[0][0] <= max_chars:
            # Keep a heading with the paragraph that follows it.
            blocks[0:2] = [(blocks[0][0], blocks[1][1])]
        for number, (block_start, block_end) in enumerate(blocks):
            for piece_start, piece_end in _split_block(text, block_start, block_end, max_chars):
                opens = number == 0 and piece_start == block_start
                units.append(_Unit(piece_start, piece_end, path, opens))
    return units


def _split_block(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split a block longer than `max_chars` at line ends, and a line longer than that anywhere."""
    if end - start <= max_chars:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    piece_start = start
    line_start = start
    while line_start <= end:
        newline = text.find("\n", line_start, end)
        line_end = end if newline == -1 else newline
        if line_end - piece_start > max_chars and line_start > piece_start:
            pieces.append((piece_start, line_start - 1))
            piece_start = line_start
        while line_end - piece_start > max_chars:
            cut = _cut_point(text, piece_start, piece_start + max_chars)
            pieces.append((piece_start, cut))
            piece_start = cut
        line_start = line_end + 1
    if piece_start < end:
        pieces.append((piece_start, end))
    return pieces


def _cut_point(text: str, start: int, limit: int) -> int:
    """Return where to cut a line that is too long: after the last space, else before `limit`."""
    space = text.rfind(" ", start + 1, limit)
    cut = space + 1 if space > start else limit
    while cut > start + 1 and not is_cluster_boundary(text, cut):
        cut -= 1
    return cut


def _pack(units: list[_Unit], target_chars: int, max_chars: int) -> list[list[_Unit]]:
    """Join neighbouring units into chunks of about `target_chars`, starting new sections fresh."""
    small = target_chars // 2
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    for unit in units:
        if current:
            length = current[-1].end - current[0].start
            combined = unit.end - current[0].start
            too_long = combined > max_chars or (combined > target_chars and length >= small)
            new_section = unit.opens_section and length >= small
            if too_long or new_section:
                groups.append(current)
                current = []
        current.append(unit)
    if current:
        groups.append(current)
    return groups


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    prefix = paths[0]
    for path in paths[1:]:
        length = 0
        while length < min(len(prefix), len(path)) and prefix[length] == path[length]:
            length += 1
        prefix = prefix[:length]
    return prefix
