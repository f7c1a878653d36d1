"""Suggestions on save: a prediction made in the background and offered as a hint.

When a document is saved and `server.on_save` is not "off", the server predicts:

- "next-section": the section that follows the section last edited;
- "outline": the draft of the unexpanded outline in the section last edited, that is its
  last list block when nothing but blank lines follows it up to the end of the section.
  Without such an outline nothing is predicted.

`didSave` carries no cursor, so "the section last edited" is the section containing the
end of the last incremental change. Before any change, or after a full-text change, it is
the section at the end of the document.

At most one suggestion is in flight per document: saving again starts over, and a change
to the document cancels it. A finished suggestion is published as a hint diagnostic at the
end of the section (on the outline, in "outline" mode) whose message shows its first words,
and code actions on it offer a quick fix that inserts it. Any change to the document clears
the suggestion, because its offsets belong to the version that was saved.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from ..errors import BackendError, BackendUnavailable, DocumentError
from ..pipeline import PredictionRequest
from ..state import Block, Document
from .documents import Snapshot
from .edits import versioned_edit
from .generation import CommandResult, apply_text
from .server import AmplifierServer

logger = logging.getLogger(__name__)

INSERT_SUGGESTION = "amplifier.insertSuggestion"
KIND_INSERT_SUGGESTION = "quickfix.amplifier.insertSuggestion"
DIAGNOSTIC_SOURCE = "amplifier"
DIAGNOSTIC_CODE = "suggestion"
PREVIEW_CHARS = 80


@dataclass(frozen=True)
class Suggestion:
    snapshot: Snapshot
    text: str
    start: int
    end: int
    mode: str
    diagnostic: types.Diagnostic

    @property
    def title(self) -> str:
        if self.mode == "expand":
            return "Replace the outline with the suggested draft"
        return "Insert the suggested next section"


class SuggestionStore:
    """The latest finished suggestion per document, and the diagnostics that show them."""

    def __init__(self, server: AmplifierServer):
        self._server = server
        self._suggestions: dict[str, Suggestion] = {}
        self._in_flight: dict[str, int | None] = {}

    def current(self, uri: str) -> Suggestion | None:
        suggestion = self._suggestions.get(uri)
        snapshot = self._server.documents.snapshot(uri)
        if suggestion is None or snapshot is None or snapshot.version != suggestion.snapshot.version:
            return None
        return suggestion

    def saved(self, uri: str) -> None:
        server = self._server
        snapshot = server.documents.snapshot(uri)
        if snapshot is None or self.current(uri) is not None:
            return
        if server.jobs.running("on-save", uri) and self._in_flight.get(uri) == snapshot.version:
            return
        anchor = server.documents.last_edit_offset(uri)
        task = asyncio.ensure_future(self._suggest(snapshot, len(snapshot.text) if anchor is None else anchor))
        self._in_flight[uri] = snapshot.version
        server.jobs.replace("on-save", uri, task)

    def changed(self, uri: str) -> None:
        self._server.jobs.cancel(uri, ["on-save"])
        self._in_flight.pop(uri, None)
        if self._suggestions.pop(uri, None) is not None:
            self._publish(uri, [])

    async def _suggest(self, snapshot: Snapshot, anchor: int) -> None:
        uri = snapshot.uri
        await self._server.configured.wait()
        mode = self._server.settings.server.on_save
        if mode == "off":
            return
        request = _request_for(snapshot.document, mode, anchor)
        if request is None:
            logger.debug("No unexpanded outline in the section last edited in %s", uri)
            return
        try:
            prediction = await self._server.predict(request)
        except DocumentError as error:
            logger.info("No suggestion for %s: %s", uri, error)
            return
        except BackendUnavailable as error:
            logger.warning("No suggestion for %s: %s", uri, error)
            self._server.status.notify_user(str(error))
            return
        except BackendError as error:
            logger.warning("No suggestion for %s: %s", uri, error)
            return
        except Exception:  # noqa: BLE001 - server.predict logged it; a background task has no caller
            return
        if prediction.status != "ok":
            logger.info("No suggestion for %s: the model's text was %s (%s)", uri, prediction.status, prediction.reason)
            return

        current = self._server.documents.snapshot(uri)
        if current is None or current.version != snapshot.version:
            return
        text = prediction.texts[0]
        start, end = prediction.replace_start, prediction.replace_end
        diagnostic = _diagnostic(snapshot, start, end, text, request.mode)
        self._suggestions[uri] = Suggestion(snapshot, text, start, end, request.mode, diagnostic)
        self._publish(uri, [diagnostic])

    def _publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        snapshot = self._server.documents.snapshot(uri)
        version = snapshot.version if snapshot is not None else None
        self._server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def quick_fixes(self, snapshot: Snapshot, params: types.CodeActionParams) -> list[types.CodeAction]:
        suggestion = self.current(snapshot.uri)
        if suggestion is None:
            return []
        ours = [d for d in params.context.diagnostics if d.source == DIAGNOSTIC_SOURCE and d.code == DIAGNOSTIC_CODE]
        if not ours and not _overlaps(params.range, suggestion.diagnostic.range):
            return []
        edit = versioned_edit(snapshot, suggestion.start, suggestion.end, suggestion.text)
        return [
            types.CodeAction(
                title=suggestion.title,
                kind=KIND_INSERT_SUGGESTION,
                diagnostics=[suggestion.diagnostic],
                edit=edit,
                is_preferred=True,
            )
        ]

    async def insert(self, arguments: tuple[Any, ...]) -> dict[str, Any]:
        argument = arguments[0] if arguments and isinstance(arguments[0], dict) else {}
        uri = argument.get("uri")
        suggestion = self.current(uri) if isinstance(uri, str) else None
        if suggestion is None or argument.get("version", suggestion.snapshot.version) != suggestion.snapshot.version:
            return CommandResult(False, "stale", "The suggestion no longer matches the document; save it again").as_json()
        result = await apply_text(
            self._server, suggestion.snapshot, suggestion.text, suggestion.start, suggestion.end, suggestion.title
        )
        return result.as_json()


def _request_for(document: Document, mode: str, anchor: int) -> PredictionRequest | None:
    if mode == "outline":
        outline = unexpanded_outline(document, anchor)
        if outline is None:
            return None
        return PredictionRequest(document=document, offset=outline.start, mode="expand")
    return PredictionRequest(document=document, offset=anchor, mode="next-section")


def unexpanded_outline(document: Document, offset: int) -> Block | None:
    """Return the last list block of the section at `offset` when only blank lines follow it."""
    enclosing = document.section_path(offset)
    section_start = enclosing[-1].end if enclosing else 0
    section_end = document.section_end(offset)
    blocks = [b for b in document.structure.list_blocks if section_start <= b.start and b.end <= section_end]
    if not blocks:
        return None
    last = blocks[-1]
    if document.text[last.end : section_end].strip():
        return None
    return last


def _diagnostic(snapshot: Snapshot, start: int, end: int, text: str, mode: str) -> types.Diagnostic:
    if mode == "expand":
        where = snapshot.range_of(start, end)
        label = "Suggested draft for this outline"
    else:
        where = _last_line_range(snapshot, start)
        label = "Suggested next section"
    preview = " ".join(text.split())
    if len(preview) > PREVIEW_CHARS:
        preview = preview[:PREVIEW_CHARS].rstrip() + "…"
    return types.Diagnostic(
        range=where,
        message=f"{label}: {preview}",
        severity=types.DiagnosticSeverity.Hint,
        source=DIAGNOSTIC_SOURCE,
        code=DIAGNOSTIC_CODE,
        data={"uri": snapshot.uri, "version": snapshot.version},
    )


def _last_line_range(snapshot: Snapshot, end: int) -> types.Range:
    """Return the range of the last line with text before `end`, the end of the section."""
    text = snapshot.text
    content_end = len(text[:end].rstrip())
    line_start = text.rfind("\n", 0, content_end) + 1
    return snapshot.range_of(line_start, content_end)


def _overlaps(first: types.Range, second: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(first.start) <= key(second.end) and key(second.start) <= key(first.end)


def suggestion_actions(server: AmplifierServer, snapshot: Snapshot, params: types.CodeActionParams) -> list[types.CodeAction]:
    store = server.suggestions
    return store.quick_fixes(snapshot, params) if store is not None else []


def setup(server: AmplifierServer) -> None:
    store = SuggestionStore(server)
    server.suggestions = store
    server.save_listeners.append(store.saved)
    server.change_listeners.append(store.changed)
    server.close_listeners.append(store.changed)

    @server.command(INSERT_SUGGESTION)
    async def insert_suggestion(ls: AmplifierServer, *arguments: Any) -> dict[str, Any]:
        return await store.insert(arguments)
