"""Turning the model's streamed text into the continuation of the caller's prompt text.

Three filters run on every text delta, in this order:

1. `JoinWhitespace`: the caller's prompt text may end with whitespace that the model's own
   text lacks, because it was cut from the prefill or because a no-prefill reply starts
   afresh. Whitespace the model writes first is reconciled with it instead of doubled.
2. `PreambleStripper` (no-prefill only): drops a leading line such as "Here is the
   continuation:" that a chat model may write despite its instructions.
3. `StopScanner`: ends the text at the first stop sequence. The API rejects whitespace-only
   stop sequences, so those are only enforced here; the others are enforced by the API too,
   which costs nothing twice.

Each filter buffers as little as it must, so that text reaches the caller while it streams.
"""

from __future__ import annotations

import re
from typing import Iterable


def reconcile_whitespace(written: str, restored: str) -> str:
    """Return the part of the model's leading whitespace that the caller's text lacks.

    `restored` is the whitespace the caller's prompt text ends with and the prefill did not;
    `written` is the whitespace the model wrote first.
    """
    if restored.startswith(written):
        return ""
    if written.startswith(restored):
        return written[len(restored) :]
    newlines = restored.count("\n")
    if written.count("\n") <= newlines:
        return ""
    position = 0
    for _ in range(newlines):
        position = written.index("\n", position) + 1
    return written[position:]


class JoinWhitespace:
    """Hold the model's leading whitespace until the first other character, then reconcile it."""

    def __init__(self, restored: str):
        self.restored = restored
        self._leading = ""
        self._done = not restored

    def feed(self, text: str) -> str:
        if self._done:
            return text
        stripped = text.lstrip()
        self._leading += text[: len(text) - len(stripped)]
        if not stripped:
            return ""
        self._done = True
        return reconcile_whitespace(self._leading, self.restored) + stripped

    def finish(self) -> str:
        if self._done:
            return ""
        self._done = True
        return reconcile_whitespace(self._leading, self.restored)


# A preamble line opens like a chat reply and announces the continuation, for example
# "Sure! Here's the continuation:" or "Here is the next paragraph:". An author's own
# "Here is the list:" is not one, because it names no continuation.
_PREAMBLE_START = re.compile(
    r"\s*(?:sure|certainly|of course|okay|ok\b|alright|here|below|(?:the )?continu)", re.I
)
_PREAMBLE_LINE = re.compile(
    r"\s*(?:(?:sure|certainly|of course|okay|ok|alright)\b[^\n]*?[!.,]\s*)?"
    r"(?:(?:here(?:'s|’s| is)|below is)\b[^\n]*?"
    r"\b(?:continu(?:ation|ing|es|ed)|next (?:part|paragraph|section|sentence|few \w+)|rest of (?:the|your|this) \w+)\b"
    r"[^\n]*"
    r"|(?:the )?(?:continuation|continued text))"
    r":[ \t]*",
    re.I,
)
MAX_PREAMBLE_CHARS = 120
_UNDECIDED_CHARS = 12


class PreambleStripper:
    """Drop one leading preamble line and the blank lines after it.

    Text is held until its first line ends, unless it soon shows that it does not open
    like a preamble.
    """

    def __init__(self, enabled: bool = True):
        self._buffer = ""
        self._state = "deciding" if enabled else "passing"

    def feed(self, text: str) -> str:
        if self._state == "passing":
            return text
        if self._state == "skipping-blank-lines":
            return self._skip_blank_lines(text)
        self._buffer += text
        head = self._buffer.lstrip()
        if "\n" in head:
            line, rest = head.split("\n", 1)
            if len(line) <= MAX_PREAMBLE_CHARS and _PREAMBLE_LINE.fullmatch(line):
                self._buffer = ""
                self._state = "skipping-blank-lines"
                return self._skip_blank_lines(rest)
            return self._pass()
        opens_like_preamble = _PREAMBLE_START.match(head) is not None or len(head) < _UNDECIDED_CHARS
        if not opens_like_preamble or len(head) > MAX_PREAMBLE_CHARS:
            return self._pass()
        return ""

    def finish(self) -> str:
        if self._state != "deciding":
            return ""
        line = self._buffer.strip()
        if len(line) <= MAX_PREAMBLE_CHARS and _PREAMBLE_LINE.fullmatch(line):
            self._buffer = ""
        return self._pass()

    def _pass(self) -> str:
        self._state = "passing"
        text, self._buffer = self._buffer, ""
        return text

    def _skip_blank_lines(self, text: str) -> str:
        self._buffer += text
        stripped = self._buffer.lstrip("\n \t")
        if not stripped:
            return ""
        self._state = "passing"
        self._buffer = ""
        return stripped


class StopScanner:
    """End the text before the first stop sequence, also when one spans two deltas."""

    def __init__(self, stops: Iterable[str]):
        self.stops = tuple(stop for stop in stops if stop)
        self._pending = ""
        self.stopped_at: str | None = None

    def feed(self, text: str) -> tuple[str, bool]:
        """Return the text that is safe to pass on, and whether a stop sequence was found."""
        self._pending += text
        found = [(self._pending.find(stop), stop) for stop in self.stops if stop in self._pending]
        if found:
            index, stop = min(found)
            self.stopped_at = stop
            text, self._pending = self._pending[:index], ""
            return text, True
        keep = self._longest_partial_stop()
        cut = len(self._pending) - keep
        text, self._pending = self._pending[:cut], self._pending[cut:]
        return text, False

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        return text

    def _longest_partial_stop(self) -> int:
        """Length of the longest end of the pending text that begins some stop sequence."""
        longest = 0
        for stop in self.stops:
            for length in range(min(len(stop) - 1, len(self._pending)), longest, -1):
                if self._pending.endswith(stop[:length]):
                    longest = length
                    break
        return longest
