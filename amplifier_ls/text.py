"""Line endings, positions in code units, and cutting text without splitting a character.

The core works on text whose line endings are normalised to "\\n" and on offsets into that
Python string (code points). Editors count positions as (line, character), with characters in
UTF-16 code units unless the client negotiated UTF-8 or UTF-32; the functions here convert.
A (line, character) position means the same thing in the normalised text as in the original
CRLF text, because the line terminator is never part of a line's characters.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def detect_line_ending(text: str) -> str:
    """Return the line ending most lines of `text` use ("\\n" when there are none)."""
    crlf = text.count("\r\n")
    lone_cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    if crlf >= lf and crlf >= lone_cr and crlf > 0:
        return "\r\n"
    if lone_cr > lf:
        return "\r"
    return "\n"


def normalize_newlines(text: str) -> str:
    return _LINE_BREAK.sub("\n", text)


def apply_line_ending(text: str, line_ending: str) -> str:
    """Convert text with "\\n" line endings to `line_ending`."""
    text = normalize_newlines(text)
    return text if line_ending == "\n" else text.replace("\n", line_ending)


def code_units(text: str, encoding: Encoding) -> int:
    """Length of `text` in the code units of `encoding`."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-16":
        return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)
    return len(text.encode("utf-8", errors="surrogatepass"))


def _line_starts(text: str) -> list[int]:
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def _index_in_line(line: str, units: int, encoding: Encoding) -> int:
    """Map a count of code units into a string index within `line`, clamped to the line.

    A count that falls inside a character (the second half of a surrogate pair, the middle of
    a UTF-8 sequence) is rounded down to the start of that character.
    """
    if encoding == "utf-32":
        return min(units, len(line))
    consumed = 0
    for index, character in enumerate(line):
        width = code_units(character, encoding)
        if consumed + width > units:
            return index
        consumed += width
    return len(line)


def offset_at(text: str, line: int, character: int, encoding: Encoding = "utf-16") -> int:
    """Return the string offset of an editor position in newline-normalised `text`.

    Lines past the end clamp to the end of the text and characters past the end of a line
    clamp to the end of that line, as the Language Server Protocol specifies.
    """
    if line < 0 or character < 0:
        raise ValueError(f"position ({line}, {character}) is negative")
    starts = _line_starts(text)
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
    return start + _index_in_line(text[start:end], character, encoding)


def position_at(text: str, offset: int, encoding: Encoding = "utf-16") -> tuple[int, int]:
    """Return the (line, character) position of a string offset in newline-normalised text."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return line, code_units(text[line_start:offset], encoding)


def is_cluster_boundary(text: str, index: int) -> bool:
    """Whether cutting `text` at `index` keeps combining marks and emoji sequences whole.

    This approximates grapheme cluster boundaries: a cut is refused before a combining mark,
    a variation selector, a zero-width joiner or an emoji modifier, and right after a joiner.
    """
    if index <= 0 or index >= len(text):
        return True
    following = text[index]
    previous = text[index - 1]
    if unicodedata.combining(following) or following in "\u200d\ufe0e\ufe0f":
        return False
    if 0x1F3FB <= ord(following) <= 0x1F3FF or 0xE0020 <= ord(following) <= 0xE007F:
        return False
    if previous == "\u200d":
        return False
    if previous == "\r" and following == "\n":
        return False
    return True


def cut_head(text: str, max_chars: int) -> str:
    """Return at most `max_chars` characters from the start of `text`, ending on a boundary."""
    if len(text) <= max_chars:
        return text
    index = max_chars
    while index > 0 and not is_cluster_boundary(text, index):
        index -= 1
    return text[:index]


def cut_tail(text: str, max_chars: int) -> str:
    """Return at most `max_chars` characters from the end of `text`, starting on a boundary."""
    if len(text) <= max_chars:
        return text
    index = len(text) - max_chars
    while index < len(text) and not is_cluster_boundary(text, index):
        index += 1
    return text[index:]


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Return the longest prefix of `text` whose UTF-8 encoding fits in `max_bytes`."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return cut_head(encoded[:max_bytes].decode("utf-8", errors="ignore"), max_bytes)
