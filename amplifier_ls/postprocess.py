"""Turn raw model output into the text to insert.

Steps, in order: cut at prompt-format leaks (the next `==> file <==` marker), cut at the
horizon, cut a loop where the text starts repeating itself, drop what repeats the text after
the cursor, fix the whitespace at both boundaries, and convert to the document's line endings.
The result says whether anything worth inserting is left.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Literal

from .settings import Horizon
from .text import apply_line_ending, normalize_newlines
from .volition import Volition

Status = Literal["ok", "empty", "degenerate"]

# Latin-script sentence ends need a space or the end after them ("3.5" is no end); CJK full
# stops end a sentence on their own, since CJK text has no spaces.
_SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s|$)|[。！？](?:[」』”’）]*)")
_HEADING_LINE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)", re.MULTILINE)
# The prompt's own markup: file markers (`==> path <==`, also when the model garbles their
# start) and the HTML comments that carry notes. Text from there on is not the author's.
_FORMAT_LEAK = re.compile(r"^.*<==[ \t]*$|<!--|-->", re.MULTILINE)
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
_WORD = re.compile(r"\w+", re.UNICODE)
_MIN_SENTENCE_CHARS = 12
_MAX_HEADING_CHARS = 80


@dataclass(frozen=True)
class Finished:
    text: str
    status: Status
    reason: str = ""
    """The reason the text is empty or degenerate, or a note on what was cut."""


def stop_sequences(volition: Volition) -> tuple[str, ...]:
    """Stop sequences that end generation at the horizon; post-processing cuts exactly."""
    # A blank line is no stop sequence: at the end of a paragraph the model often starts with
    # one, and the pipeline stops the stream itself once a paragraph has ended.
    stops = ["\n==> "]
    if volition.horizon in ("section", "draft") and volition.section_level > 0:
        stops.extend("\n" + "#" * level + " " for level in range(1, volition.section_level + 1))
    return tuple(stops)


def cut_at_horizon(text: str, volition: Volition) -> str:
    """Cut `text` where the requested horizon ends."""
    leak = _FORMAT_LEAK.search(text)
    if leak:
        text = text[: leak.start()]
    text = _EXTRA_BLANK_LINES.sub("\n\n", text)
    if volition.mode == "expand":
        text = _drop_leading_headings(text)

    horizon: Horizon = volition.horizon
    if horizon == "sentence":
        return _cut_sentence(text, volition.before)
    if horizon == "paragraph":
        return _cut_paragraph(text, volition.before)
    return _cut_section(text, volition)


def _cut_paragraph(text: str, before: str) -> str:
    leading = len(text) - len(text.lstrip("\n"))
    starts_block = before.endswith("\n") or leading > 0 or not before
    body_start = leading
    end = text.find("\n\n", body_start)
    heading = _HEADING_LINE.search(text, body_start + 1)
    cuts = [position for position in (end, heading.start() if heading else -1) if position > body_start]
    if cuts:
        text = text[: min(cuts)]
    if not starts_block and text.startswith("\n\n"):
        return ""
    return text


def _cut_sentence(text: str, before: str) -> str:
    text = _cut_paragraph(text, before)
    line_break = text.find("\n", len(text) - len(text.lstrip("\n")))
    current_line_is_item = bool(re.search(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]", before.rsplit("\n", 1)[-1]))
    for match in _SENTENCE_END.finditer(text):
        if match.end() >= _MIN_SENTENCE_CHARS or len(before.rstrip()) > 0:
            if line_break != -1 and line_break < match.end() and not current_line_is_item:
                return text[:line_break]
            return text[: match.end()]
    if line_break > 0:
        return text[:line_break]
    return text


def _drop_leading_headings(text: str) -> str:
    """Drop heading lines before the first prose: an outline expands within its section."""
    while True:
        stripped = text.lstrip("\n")
        match = _HEADING_LINE.match(stripped)
        if not match:
            return text
        line_end = stripped.find("\n")
        text = "" if line_end == -1 else stripped[line_end + 1 :]


def _cut_section(text: str, volition: Volition) -> str:
    level = volition.section_level
    if level <= 0:
        return text
    search_from = 1 if volition.lead else 0
    for match in _HEADING_LINE.finditer(text):
        if match.start() < search_from:
            continue
        if len(match.group(1)) <= level and match.start() > 0:
            return text[: match.start()]
    return text


def cut_loop(text: str) -> tuple[str, bool]:
    """Cut `text` before it starts repeating itself; return the text and whether a loop was found.

    A loop is a line (of 8 or more characters) that occurs a third time, or a run of 6 words
    that occurs a third time. The text is cut where the second occurrence begins.
    """
    seen_lines: dict[str, list[int]] = {}
    position = 0
    for line in text.split("\n"):
        key = line.strip()
        if len(key) >= 8:
            seen_lines.setdefault(key, []).append(position)
            if len(seen_lines[key]) == 3:
                return text[: seen_lines[key][1]].rstrip(), True
        position += len(line) + 1

    words = list(_WORD.finditer(text))
    seen_runs: dict[tuple[str, ...], list[int]] = {}
    for index in range(len(words) - 5):
        run = tuple(word.group(0).lower() for word in words[index : index + 6])
        starts = seen_runs.setdefault(run, [])
        if starts and index - starts[-1] < 6:
            continue
        starts.append(index)
        if len(starts) == 3:
            return text[: words[starts[1]].start()].rstrip(), True
    return text, False


def is_degenerate(text: str) -> str:
    """Return why `text` is not worth offering, or "" when it is."""
    stripped = text.strip()
    if not stripped:
        return "the model stopped without writing anything"
    if not _WORD.search(stripped):
        return "no words, only punctuation or symbols"
    if len(stripped) > 200:
        ratio = len(zlib.compress(stripped.encode("utf-8"))) / len(stripped.encode("utf-8"))
        if ratio < 0.2:
            return f"highly repetitive (compresses to {ratio:.0%})"
    return ""


def strip_overlap(text: str, after: str, max_chars: int = 400) -> str:
    """Drop the part of `text` that repeats what already follows the cursor."""
    following = after[:max_chars].lstrip()
    if not following or not text.strip():
        return text

    first_line = following.split("\n", 1)[0].strip()
    if len(first_line) >= 12:
        found = text.find(first_line)
        if found != -1:
            return text[:found]

    longest = min(len(text), len(following))
    for size in range(longest, 3, -1):
        tail = text[-size:]
        if following.startswith(tail.lstrip()) and len(tail.strip()) >= 4:
            cut = text[:-size]
            if not cut or not cut[-1].isalnum() or not tail[0].isalnum():
                return cut
    return text


def fix_boundaries(text: str, volition: Volition) -> str:
    """Join `text` to the text before and after it without doubled whitespace or indentation."""
    before = volition.before
    if volition.lead:
        text = volition.lead + text.lstrip(" \t")
    elif before.endswith((" ", "\t")):
        text = text.lstrip(" \t")
    elif before.endswith("\n") or not before:
        trailing_newlines = len(before) - len(before.rstrip("\n"))
        leading_newlines = len(text) - len(text.lstrip("\n"))
        allowed = max(0, 2 - trailing_newlines) if before else 0
        body = text.lstrip("\n")
        if body.startswith(" ") and not body.startswith("  "):
            # One space at the start of a line is the tokenizer's word boundary, not indentation.
            body = body[1:]
        text = "\n" * min(leading_newlines, allowed) + body
    elif volition.mode == "expand" and before and not before.endswith("\n"):
        text = "\n\n" + text.lstrip("\n")

    trailing = text[len(text.rstrip()) :]
    text = text.rstrip()
    after = volition.after
    if volition.mode in ("next-section", "expand") and after.strip():
        after_newlines = len(after) - len(after.lstrip("\n"))
        text += "\n" * max(0, 2 - after_newlines)
    elif after and not after[0].isspace():
        # Keep the separator the model wrote before the text that follows the cursor; at the
        # start of a block, the inserted paragraph gets a blank line of its own.
        if "\n\n" in trailing or (before.endswith("\n\n") or not before) and volition.horizon != "sentence":
            text += "\n\n"
        elif "\n" in trailing:
            text += "\n"
        elif trailing or (text[-1:] in (".", "!", "?") and after[0].isascii() and after[0].isalnum()):
            text += " "
    return text


def finish(raw: str, volition: Volition, line_ending: str = "\n", after_chars: int = 400) -> Finished:
    """Post-process one raw generation into the text to insert, in the document's line endings."""
    text = normalize_newlines(raw)
    text = cut_at_horizon(text, volition)
    text, looped = cut_loop(text)
    text = strip_overlap(text, volition.after, after_chars)

    reason = is_degenerate(text)
    if reason:
        if looped:
            reason = "the model repeated itself"
        empty = not text.strip() and not looped
        return Finished("", "empty" if empty else "degenerate", reason)

    text = fix_boundaries(text, volition)
    if volition.lead:
        heading, _, section_body = text[len(volition.lead) :].partition("\n")
        # A long first line is prose written on the heading line, which is kept.
        if not heading.strip() or (not section_body.strip() and len(heading) <= _MAX_HEADING_CHARS):
            return Finished("", "empty", "the model wrote a heading without a section")
    return Finished(apply_line_ending(text, line_ending), "ok", "cut a repetition" if looped else "")
