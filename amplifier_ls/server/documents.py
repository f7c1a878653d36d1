"""Open documents: their text as the client sent it, and snapshots the core can read.

The store applies `didChange` events itself instead of reading pygls' workspace copy.
pygls 2.1.1 splits lines with `str.splitlines`, which also breaks at U+2028, form feeds and
other characters that are not line terminators in the Language Server Protocol. An
incremental change after such a character then lands on the wrong line. Here only
"\\r\\n", "\\r" and "\\n" end a line.

A `Snapshot` is one version of a document as a core `Document` (newline-normalised text)
plus the negotiated position encoding, so that handlers convert between protocol positions
and core offsets in one place.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from ..state import Document
from ..text import Encoding, offset_at

logger = logging.getLogger(__name__)

_LINE_END = re.compile(r"\r\n|\r|\n")

_LANGUAGES = {"markdown", "plaintext", "org", "restructuredtext"}
"""Language ids passed on to the core; others are guessed from the file name."""


@dataclass(frozen=True)
class Snapshot:
    """One version of an open document."""

    uri: str
    version: int | None
    document: Document
    encoding: Encoding

    @property
    def text(self) -> str:
        """The newline-normalised text that core offsets index."""
        return self.document.text

    def offset_at(self, position: types.Position) -> int:
        return self.document.offset_at(position.line, position.character, self.encoding)

    def position_at(self, offset: int) -> types.Position:
        line, character = self.document.position_at(offset, self.encoding)
        return types.Position(line=line, character=character)

    def range_of(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position_at(start), end=self.position_at(end))

    def identifier(self) -> types.OptionalVersionedTextDocumentIdentifier:
        return types.OptionalVersionedTextDocumentIdentifier(uri=self.uri, version=self.version)


@dataclass
class _OpenDocument:
    uri: str
    raw: str
    version: int | None
    language_id: str | None
    last_edit_line: int | None = None
    """Line where the last change ended; the best guess of the cursor the protocol gives."""
    snapshot: Snapshot | None = None


class DocumentStore:
    """The documents the client has opened, keyed by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, _OpenDocument] = {}
        self.encoding: Encoding = "utf-16"

    def open(self, item: types.TextDocumentItem) -> None:
        self._documents[item.uri] = _OpenDocument(item.uri, item.text, item.version, item.language_id)

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def is_open(self, uri: str) -> bool:
        return uri in self._documents

    def uris(self) -> list[str]:
        return list(self._documents)

    def change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Apply the content changes of a `didChange` notification, in order."""
        document = self._documents.get(params.text_document.uri)
        if document is None:
            logger.warning("Ignored a change to %s, which is not open", params.text_document.uri)
            return
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                start = raw_offset(document.raw, change.range.start, self.encoding)
                end = raw_offset(document.raw, change.range.end, self.encoding)
                document.raw = document.raw[:start] + change.text + document.raw[max(start, end) :]
                document.last_edit_line = change.range.start.line + len(_LINE_END.findall(change.text))
            else:
                document.raw = change.text
                document.last_edit_line = None
        document.version = params.text_document.version
        document.snapshot = None

    def snapshot(self, uri: str) -> Snapshot | None:
        """Return the current version of an open document, or None when it is not open."""
        document = self._documents.get(uri)
        if document is None:
            return None
        if document.snapshot is None or document.snapshot.encoding != self.encoding:
            core = Document.from_text(document.raw, _path_of(uri), _language_of(document.language_id))
            document.snapshot = Snapshot(uri, document.version, core, self.encoding)
        return document.snapshot

    def last_edit_offset(self, uri: str) -> int | None:
        """Return the offset at the end of the line last edited, or None when unknown."""
        document = self._documents.get(uri)
        snapshot = self.snapshot(uri)
        if document is None or snapshot is None or document.last_edit_line is None:
            return None
        return snapshot.document.offset_at(document.last_edit_line, 2**31, "utf-32")


def raw_offset(raw: str, position: types.Position, encoding: Encoding) -> int:
    """Return the index in `raw` (any line endings) of a protocol position.

    Positions past the end of a line clamp to the line's end and lines past the end of the
    text clamp to the end of the text, as the protocol specifies.
    """
    line_start = 0
    for _ in range(position.line):
        match = _LINE_END.search(raw, line_start)
        if match is None:
            return len(raw)
        line_start = match.end()
    match = _LINE_END.search(raw, line_start)
    line_end = match.start() if match else len(raw)
    return line_start + offset_at(raw[line_start:line_end], 0, position.character, encoding)


def _path_of(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path) if path else None


def _language_of(language_id: str | None) -> str | None:
    return language_id if language_id in _LANGUAGES else None
