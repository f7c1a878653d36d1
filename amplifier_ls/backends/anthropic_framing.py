"""Framing a prompt document as a Messages API conversation.

Claude is a chat model, so the base-model prompt (an archive of the author's writing, then
the draft up to the cursor) has to be put into turns. Two framings:

prefill
    A file viewer prints the writing folder. The assistant turn contains the prompt text
    itself (archive, then draft), and the model continues it as the rest of the draft. The archive is
    one content block and the draft another, with the cache breakpoint on the archive, so the
    cached prefix (system prompt, the constant user turn, the archive) stays byte-identical
    while the cursor moves. The API rejects a prefill that ends in whitespace, so trailing
    whitespace is cut and given back in `Framed.restored_whitespace`.

no-prefill
    The conversation ends with a user turn that requests the continuation only. A few
    user/assistant pairs, each an excerpt cut at a sentence or paragraph boundary and its
    true rest, teach the reply format and the author's voice. They come before the archive,
    so the continuations they demonstrate were never copyable from text the model had seen.
    The final user turn holds the archive (cache breakpoint after it) and then the draft.

The examples depend only on the excerpts, and the archive only on the excerpt selection,
so everything up to the breakpoint is stable for a given selection in both framings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from ..corpus.model import Chunk
from ..prompt import Prompt, file_marker

Framing = Literal["prefill", "no-prefill"]

CACHE_BREAKPOINT = {"type": "ephemeral"}

PREFILL_SYSTEM = (
    "You are a plain-text file viewer. When asked for files, you print each one exactly as "
    "it is stored, complete, under its ==> path <== line. You print nothing else: no "
    "commentary, no summary and no code fences."
)
PREFILL_REQUEST = (
    "Print the files of this writing folder: the notes the author published, then the "
    "draft they are writing now."
)

NO_PREFILL_SYSTEM = (
    "You write as one particular author and continue their draft in their own voice. The "
    "draft stops where their cursor is. Reply with only the text that comes next at the "
    "cursor, written the way this author writes. Write no preamble, no commentary and no "
    "quotation marks or code fences around the text, and do not repeat the draft. Start "
    "exactly at the cursor: begin with a space or a line break when one belongs there, and "
    "finish a word or sentence that the cursor cuts off. HTML comments in the draft are the "
    "author's notes on what comes next; follow them but never copy them."
)
ARCHIVE_INTRO = "Excerpts of my past writing, so that you know my voice:\n\n"
TASK_TEMPLATE = (
    "Continue this draft from my cursor, which is where the text stops:\n\n<draft>\n{draft}</draft>"
)

EXAMPLE_COUNT = 2
MIN_EXAMPLE_HEAD = 120
MIN_EXAMPLE_TAIL = 60
MAX_EXAMPLE_HEAD = 1200
MAX_EXAMPLE_TAIL = 1000
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]?(?= +[\"'“‘(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Framed:
    """One request's system prompt and messages, and what the output needs undone."""

    framing: Framing
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    restored_whitespace: str = ""
    """Whitespace at the end of the caller's prompt text that the model's text lacks, because
    it was cut from the prefill or because a no-prefill reply starts afresh. The model's
    leading whitespace is reconciled with it."""


def frame(prompt: Prompt, framing: Framing) -> Framed:
    """Build the conversation for `prompt` in the given framing.

    A prompt that is whitespace only cannot be a prefill, so it is framed without one.
    """
    if framing == "prefill" and prompt.text.strip():
        return frame_prefill(prompt)
    return frame_no_prefill(prompt)


def frame_prefill(prompt: Prompt) -> Framed:
    draft = prompt.body.rstrip()
    archive = prompt.prefix if draft else prompt.prefix.rstrip()
    blocks: list[dict[str, Any]] = []
    if archive:
        blocks.append(_text(archive, cache=True))
    if draft:
        blocks.append(_text(draft))
    prefill = archive + draft
    return Framed(
        framing="prefill",
        system=[_text(PREFILL_SYSTEM)],
        messages=[
            {"role": "user", "content": [_text(PREFILL_REQUEST)]},
            {"role": "assistant", "content": blocks},
        ],
        restored_whitespace=prompt.text[len(prefill) :],
    )


def frame_no_prefill(prompt: Prompt) -> Framed:
    messages: list[dict[str, Any]] = []
    for path, head, tail in cut_examples(prompt.excerpts):
        messages.append({"role": "user", "content": [_text(_task(file_marker(path) + head))]})
        messages.append({"role": "assistant", "content": [_text(tail)]})

    final: list[dict[str, Any]] = []
    if prompt.prefix.strip():
        final.append(_text(ARCHIVE_INTRO + prompt.prefix, cache=True))
    elif messages:
        messages[-1]["content"][-1]["cache_control"] = dict(CACHE_BREAKPOINT)
    final.append(_text(_task(prompt.body)))
    messages.append({"role": "user", "content": final})
    return Framed(
        framing="no-prefill",
        system=[_text(NO_PREFILL_SYSTEM)],
        messages=messages,
        restored_whitespace=prompt.text[len(prompt.text.rstrip()) :],
    )


def cut_examples(excerpts: Sequence[Chunk], count: int = EXAMPLE_COUNT) -> list[tuple[str, str, str]]:
    """Cut up to `count` excerpts in two: (path, text before the cut, its true continuation).

    The longest excerpts are tried first, one per file while other files have one to give.
    The first example is cut between sentences and the next between paragraphs where the
    excerpts allow it. The model then gets an example of both joins: a continuation that
    starts with a space, and one that starts a new paragraph. Examples keep the excerpts'
    order.
    """
    ranked = sorted(range(len(excerpts)), key=lambda i: (-len(excerpts[i].text), i))
    chosen: list[tuple[int, str, str]] = []
    used_paths: set[str] = set()
    for pass_number in (0, 1):
        for i in ranked:
            if len(chosen) == count:
                break
            chunk = excerpts[i]
            if any(i == index for index, _, _ in chosen):
                continue
            if pass_number == 0 and chunk.path in used_paths:
                continue
            prefer = "sentence" if len(chosen) % 2 == 0 else "paragraph"
            cut = _cut(chunk.text, prefer)
            if cut is None:
                continue
            chosen.append((i, *cut))
            used_paths.add(chunk.path)
    chosen.sort()
    return [(excerpts[i].path, head, tail) for i, head, tail in chosen]


def _cut(text: str, prefer: str) -> tuple[str, str] | None:
    """Split `text` at the boundary of the preferred kind nearest 55% of its length."""
    text = text.rstrip()
    candidates = {"sentence": _sentence_boundaries(text), "paragraph": _paragraph_boundaries(text)}
    other = "paragraph" if prefer == "sentence" else "sentence"
    for kind in (prefer, other):
        valid = [
            position
            for position in candidates[kind]
            if len(text[:position].strip()) >= MIN_EXAMPLE_HEAD
            and len(text[position:].strip()) >= MIN_EXAMPLE_TAIL
            and text[:position].count("```") % 2 == 0
        ]
        if valid:
            target = len(text) * 0.55
            position = min(valid, key=lambda p: (abs(p - target), p))
            return _trim_head(text[:position]), _trim_tail(text[position:])
    return None


def _sentence_boundaries(text: str) -> list[int]:
    """Offsets just after a sentence's closing punctuation, inside a paragraph."""
    return [match.end() for match in _SENTENCE_END.finditer(text)]


def _paragraph_boundaries(text: str) -> list[int]:
    """Offsets of the first character of each paragraph after the first."""
    return [match.end() for match in re.finditer(r"\n[ \t]*\n\s*", text)]


def _trim_head(head: str) -> str:
    """Keep the last paragraphs of a long head, so that an example costs few tokens."""
    if len(head) <= MAX_EXAMPLE_HEAD:
        return head
    starts = [p for p in _paragraph_boundaries(head) if len(head) - p <= MAX_EXAMPLE_HEAD]
    return head[starts[0] :] if starts else head[-MAX_EXAMPLE_HEAD:].lstrip()


def _trim_tail(tail: str) -> str:
    """Cut a long continuation at its last sentence or paragraph end within the limit."""
    if len(tail) <= MAX_EXAMPLE_TAIL:
        return tail
    ends = [p for p in _sentence_boundaries(tail) + _paragraph_boundaries(tail) if p <= MAX_EXAMPLE_TAIL]
    return tail[: max(ends)].rstrip() if ends else tail[:MAX_EXAMPLE_TAIL].rstrip()


def _task(draft: str) -> str:
    return TASK_TEMPLATE.format(draft=draft)


def _text(text: str, cache: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        block["cache_control"] = dict(CACHE_BREAKPOINT)
    return block
