"""The open document: its text, line endings and Markdown structure.

Markdown is parsed for what a writer's plan is made of: front matter, headings (ATX and
setext), sections, paragraphs and list blocks, all outside fenced code. Plain text and other
markup degrade gracefully: they have paragraphs and list blocks but usually no headings.
Offsets are indexes into `Document.text`, whose line endings are normalised to "\\n".
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from .errors import DocumentError
from .text import Encoding, detect_line_ending, normalize_newlines, offset_at, position_at

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_ORG_HEADING = re.compile(r"^(\*{1,6})[ \t]+(.*)$")
_INTENT_COMMENT = re.compile(r"<!--\s*intent:\s*(.*?)\s*-->", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    start: int
    """Offset of the heading line's first character."""
    end: int
    """Offset just past the heading's last line (its newline included when there is one)."""
    source: str
    """The heading as written, for example `## Deploying`."""


@dataclass(frozen=True)
class Block:
    """A range of lines: a paragraph or a list block."""

    start: int
    end: int
    """Offset just past the block's last character, before its trailing newline."""


@dataclass
class Structure:
    front_matter: Block | None = None
    front_matter_data: dict = field(default_factory=dict)
    headings: list[Heading] = field(default_factory=list)
    paragraphs: list[Block] = field(default_factory=list)
    list_blocks: list[Block] = field(default_factory=list)
    code_lines: set[int] = field(default_factory=set)
    """Line numbers inside fenced code blocks, fences included."""


@dataclass(frozen=True)
class Document:
    text: str
    """The text with "\\n" line endings."""
    path: Path | None = None
    line_ending: str = "\n"
    """The line ending the document uses on disk; predictions are returned with it."""
    language: str = "markdown"

    @classmethod
    def from_text(cls, raw: str, path: Path | None = None, language: str | None = None) -> Document:
        if language is None:
            language = _language_of(path)
        return cls(normalize_newlines(raw), path, detect_line_ending(raw), language)

    @classmethod
    def from_file(cls, path: Path) -> Document:
        try:
            raw = path.read_bytes()
        except FileNotFoundError as error:
            raise DocumentError(f"Document not found: {path}") from error
        except OSError as error:
            raise DocumentError(f"Cannot read {path}: {error.strerror}") from error
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise DocumentError(
                f"{path} is not valid UTF-8 (byte {error.start}); save it as UTF-8 and try again"
            ) from error
        return cls.from_text(text, path)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "draft.md"

    def offset_at(self, line: int, character: int, encoding: Encoding = "utf-16") -> int:
        return offset_at(self.text, line, character, encoding)

    def position_at(self, offset: int, encoding: Encoding = "utf-16") -> tuple[int, int]:
        return position_at(self.text, offset, encoding)

    @cached_property
    def structure(self) -> Structure:
        return parse_structure(self.text, self.language)

    @property
    def title(self) -> str:
        data_title = self.structure.front_matter_data.get("title")
        if isinstance(data_title, str) and data_title.strip():
            return data_title.strip()
        for heading in self.structure.headings:
            if heading.level == 1:
                return heading.title
        return self.path.stem if self.path else ""

    def section_path(self, offset: int) -> list[Heading]:
        """Return the headings enclosing `offset`, outermost first."""
        path: list[Heading] = []
        for heading in self.structure.headings:
            if heading.start > offset:
                break
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
        return path

    def section_end(self, offset: int, level: int | None = None) -> int:
        """Return where the section at `offset` ends: the next heading of its level or higher.

        With no heading before `offset`, or `level` given as 0, the section is the whole document.
        """
        if level is None:
            enclosing = self.section_path(offset)
            level = enclosing[-1].level if enclosing else 0
        for heading in self.structure.headings:
            if heading.start > offset and level > 0 and heading.level <= level:
                return heading.start
        return len(self.text)

    def later_headings(self, offset: int) -> list[Heading]:
        return [heading for heading in self.structure.headings if heading.start >= offset]

    def list_block_at(self, offset: int) -> Block | None:
        """Return the list block containing `offset`, also when the cursor is at its end."""
        for block in self.structure.list_blocks:
            if block.start <= offset <= block.end:
                return block
        return None

    def intent_notes(self) -> list[str]:
        """Collect notes of intent: front matter `intent:` and `<!-- intent: ... -->` comments."""
        notes: list[str] = []
        value = self.structure.front_matter_data.get("intent")
        if isinstance(value, str) and value.strip():
            notes.append(value.strip())
        elif isinstance(value, list):
            notes.extend(str(item).strip() for item in value if str(item).strip())
        notes.extend(match.group(1) for match in _INTENT_COMMENT.finditer(self.text) if match.group(1))
        return notes


def _language_of(path: Path | None) -> str:
    if path is None:
        return "markdown"
    suffix = path.suffix.lower()
    if suffix in {".md", ".markdown", ".mdx", ".qmd", ".rmd"}:
        return "markdown"
    if suffix == ".org":
        return "org"
    if suffix in {".rst", ".txt", ".text", ""}:
        return "plaintext" if suffix != ".rst" else "restructuredtext"
    return "markdown"


def _parse_front_matter(text: str) -> tuple[Block | None, dict]:
    if text.startswith("---\n"):
        closing = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
        if closing:
            body = text[4 : 4 + closing.start()]
            end = 4 + closing.end()
            try:
                data = yaml.safe_load(body)
            except yaml.YAMLError:
                data = None
            return Block(0, end), data if isinstance(data, dict) else {}
    if text.startswith("+++\n"):
        closing = re.search(r"^\+\+\+[ \t]*$", text[4:], re.MULTILINE)
        if closing:
            end = 4 + closing.end()
            try:
                data = tomllib.loads(text[4 : 4 + closing.start()])
            except tomllib.TOMLDecodeError:
                data = {}
            return Block(0, end), data
    return None, {}


def parse_structure(text: str, language: str = "markdown") -> Structure:
    structure = Structure()
    structure.front_matter, structure.front_matter_data = _parse_front_matter(text)
    body_start = structure.front_matter.end if structure.front_matter else 0

    lines = text.split("\n")
    starts: list[int] = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1

    fence: str | None = None
    paragraph_start: int | None = None
    list_start: int | None = None
    list_end = 0
    last_content_end = 0

    def close_paragraph(end: int) -> None:
        nonlocal paragraph_start
        if paragraph_start is not None:
            structure.paragraphs.append(Block(paragraph_start, end))
            paragraph_start = None

    def close_list() -> None:
        nonlocal list_start
        if list_start is not None:
            structure.list_blocks.append(Block(list_start, list_end))
            list_start = None

    for number, line in enumerate(lines):
        start = starts[number]
        end = start + len(line)
        if start < body_start:
            continue

        fence_match = _FENCE.match(line)
        if fence is not None or fence_match:
            structure.code_lines.add(number)
            if fence is None:
                fence = fence_match.group(1)[0] * len(fence_match.group(1))
                close_list()
                if paragraph_start is None:
                    paragraph_start = start
            elif line.strip().startswith(fence):
                fence = None
            last_content_end = end
            continue

        if not line.strip():
            close_paragraph(last_content_end)
            continue

        heading = _heading_at(lines, number, starts, language, paragraph_start, start)
        if heading is not None:
            if heading.start < start:
                # A setext underline turns the paragraph line above into a heading.
                structure.paragraphs = [p for p in structure.paragraphs if p.start != heading.start]
                paragraph_start = None
            close_paragraph(last_content_end)
            close_list()
            structure.headings.append(heading)
            last_content_end = end
            continue

        if _LIST_ITEM.match(line) and not (language == "org" and _ORG_HEADING.match(line)):
            if list_start is None:
                close_paragraph(last_content_end)
                list_start = start
            list_end = end
        elif list_start is not None and (line.startswith((" ", "\t")) or paragraph_start is not None):
            list_end = end
        else:
            close_list()

        if paragraph_start is None:
            paragraph_start = start
        last_content_end = end

        next_blank = number + 1 >= len(lines) or not lines[number + 1].strip()
        if next_blank and list_start is not None:
            following = _next_content_line(lines, number + 1)
            if following is None or not (_LIST_ITEM.match(following) or following.startswith(("  ", "\t"))):
                close_list()

    close_paragraph(last_content_end)
    close_list()
    return structure


def _next_content_line(lines: list[str], number: int) -> str | None:
    for line in lines[number:]:
        if line.strip():
            return line
    return None


def _heading_at(
    lines: list[str], number: int, starts: list[int], language: str, paragraph_start: int | None, start: int
) -> Heading | None:
    line = lines[number]
    end = start + len(line) + (1 if number + 1 < len(lines) else 0)
    if language == "org":
        match = _ORG_HEADING.match(line)
        if match:
            return Heading(len(match.group(1)), match.group(2).strip(), start, end, line)
        return None
    match = _ATX_HEADING.match(line)
    if match:
        return Heading(len(match.group(1)), (match.group(2) or "").strip(), start, end, line.strip())
    underline = _SETEXT_UNDERLINE.match(line)
    if underline and paragraph_start is not None and number > 0 and paragraph_start == starts[number - 1]:
        title_line = lines[number - 1]
        if _LIST_ITEM.match(title_line):
            return None
        level = 1 if underline.group(1)[0] == "=" else 2
        return Heading(level, title_line.strip(), starts[number - 1], end, "#" * level + " " + title_line.strip())
    return None
