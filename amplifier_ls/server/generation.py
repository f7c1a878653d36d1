"""Long generations run by a command: work-done progress, cancellation and `workspace/applyEdit`.

A command snapshots the document, runs the prediction while reporting progress, then
re-anchors the result on the current version of the document (see `edits`) and sends it
to the client with `workspace/applyEdit` as one versioned `TextDocumentEdit`. The generation stops when the user
cancels the progress in the editor (`window/workDoneProgress/cancel`), when the client
cancels the `workspace/executeCommand` request, and on `amplifier.cancel`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from ..errors import BackendError, DocumentError
from ..pipeline import Prediction, PredictionRequest
from ..volition import Mode
from .documents import Snapshot
from .edits import reanchor, versioned_edit
from .server import COMMAND_WORK_DONE_TOKEN, AmplifierServer

logger = logging.getLogger(__name__)

Status = Literal["ok", "empty", "degenerate", "cancelled", "stale", "error"]

REPORT_INTERVAL_S = 0.25
"""Minimum seconds between two progress reports while text streams in."""

APPLY_ATTEMPTS = 3
"""Times an edit is re-anchored and sent again when the client rejects it for a newer version."""


@dataclass(frozen=True)
class CommandResult:
    applied: bool
    status: Status
    message: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """The place a command acts on: a position, or a range of outline lines the user selected."""

    uri: str
    position: types.Position
    range: types.Range | None = None


def parse_target(arguments: tuple[Any, ...]) -> Target:
    """Read `{"uri", "position"}` or `{"uri", "range"}` from command arguments."""
    if len(arguments) != 1 or not isinstance(arguments[0], dict):
        raise JsonRpcInvalidParams(message='Expected one argument: {"uri": ..., "position": ...} or {"uri": ..., "range": ...}')
    argument = arguments[0]
    uri = argument.get("uri")
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams(message=f'"uri" must be a string, got {uri!r}')
    try:
        if "range" in argument:
            selection = types.Range(
                start=_position(argument["range"]["start"]), end=_position(argument["range"]["end"])
            )
            return Target(uri, selection.start, selection)
        return Target(uri, _position(argument["position"]))
    except (KeyError, TypeError, ValueError) as error:
        raise JsonRpcInvalidParams(
            message=f'Expected "position" as {{"line", "character"}} or "range" as {{"start", "end"}}: {error}'
        ) from error


def _position(value: Any) -> types.Position:
    line, character = value["line"], value["character"]
    if not isinstance(line, int) or not isinstance(character, int) or line < 0 or character < 0:
        raise ValueError(f"invalid position {value!r}")
    return types.Position(line=line, character=character)


class WorkProgress:
    """Work-done progress for a command.

    The server reports on the request's `workDoneToken` when the client sent one, and
    otherwise creates a token when the client supports `window.workDoneProgress`. Without
    either, nothing is reported.
    """

    def __init__(self, server: AmplifierServer, title: str, token: types.ProgressToken | None = None):
        self._server = server
        self.title = title
        self.token = token if token is not None else f"amplifier-{uuid.uuid4()}"
        self._client_token = token is not None
        self.enabled = False
        self._last_report = 0.0

    async def begin(self, on_cancel: Callable[[], None]) -> None:
        progress = self._server.work_done_progress
        if not self._client_token:
            window = self._server.client_capabilities.window
            if not (window and window.work_done_progress):
                return
            try:
                await progress.create_async(self.token)
            except JsonRpcException as error:
                logger.warning("The client rejected progress token %s, so no progress is reported: %s", self.token, error)
                return
        self.enabled = True
        progress.begin(
            self.token,
            types.WorkDoneProgressBegin(title=self.title, cancellable=True, message="Waiting for the model"),
        )
        cancelled = progress.tokens[self.token]
        cancelled.add_done_callback(lambda future: on_cancel() if future.cancelled() else None)

    def report(self, message: str) -> None:
        if self.enabled:
            self._last_report = time.monotonic()
            self._server.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message))

    def on_text(self, index: int, text: str) -> None:
        """Report the words written so far, unless the last report is under REPORT_INTERVAL_S old."""
        if time.monotonic() - self._last_report >= REPORT_INTERVAL_S:
            self.report(f"{len(text.split())} words written")

    def end(self, message: str) -> None:
        if self.enabled:
            self.enabled = False
            progress = self._server.work_done_progress
            progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            progress.tokens.pop(self.token, None)


def _cancel_with_request(server: AmplifierServer, task: asyncio.Task[Any]) -> None:
    """Cancel `task` when the client cancels the `workspace/executeCommand` request.

    NOTE: pygls 2.1.1 runs command handlers in a task of their own and cancels only the
    request's outer future on `$/cancelRequest`, so the command would go on generating.
    This reads pygls' private request table; revisit when pygls forwards the cancellation.
    """
    protocol = server.protocol
    message_id = protocol.msg_id
    outer = protocol._request_futures.get(message_id) if message_id is not None else None
    if outer is not None:
        outer.add_done_callback(lambda future: task.cancel() if future.cancelled() else None)


async def run_generation(server: AmplifierServer, mode: Mode, title: str, arguments: tuple[Any, ...]) -> dict[str, Any]:
    """Generate for a command and apply the text; return the command result as JSON."""
    target = parse_target(arguments)
    await server.configured.wait()
    snapshot = server.documents.snapshot(target.uri)
    if snapshot is None:
        return CommandResult(False, "error", f"{target.uri} is not open in the editor").as_json()
    request = _request_for(snapshot, target, mode)

    command_task = asyncio.current_task()
    assert command_task is not None
    _cancel_with_request(server, command_task)
    progress = WorkProgress(server, title, COMMAND_WORK_DONE_TOKEN.get())
    generation = asyncio.ensure_future(server.predict(request, on_text=progress.on_text))
    server.jobs.add("command", target.uri, generation)

    try:
        await progress.begin(generation.cancel)
        result = await _finish(server, snapshot, generation, progress, title)
    except asyncio.CancelledError:
        generation.cancel()
        progress.end("Cancelled")
        raise
    # The progress notification already shows the title, so its end message leaves it out.
    progress.end(result.message.removeprefix(f"{title}: "))
    if result.status in ("error", "stale"):
        server.status.notify_user(result.message, types.MessageType.Warning)
    return result.as_json()


def _request_for(snapshot: Snapshot, target: Target, mode: Mode) -> PredictionRequest:
    offset = snapshot.offset_at(target.position)
    selection = None
    if target.range is not None:
        selection = (snapshot.offset_at(target.range.start), snapshot.offset_at(target.range.end))
        if mode != "expand":
            offset = selection[1]
    horizon = "section" if mode == "continue" else None
    return PredictionRequest(document=snapshot.document, offset=offset, mode=mode, horizon=horizon, selection=selection)


async def _finish(
    server: AmplifierServer,
    snapshot: Snapshot,
    generation: asyncio.Future[Prediction],
    progress: WorkProgress,
    title: str,
) -> CommandResult:
    try:
        prediction = await asyncio.shield(generation)
    except asyncio.CancelledError:
        if not generation.cancelled():
            raise
        return CommandResult(False, "cancelled", f"{title}: cancelled")
    except DocumentError as error:
        return CommandResult(False, "error", str(error))
    except BackendError as error:
        return CommandResult(False, "error", f"{title} failed: {error}")
    except Exception as error:  # noqa: BLE001 - server.predict logged it; the command still answers
        return CommandResult(False, "error", f"{title} failed with an internal error: {error}")

    if prediction.status != "ok":
        return CommandResult(False, prediction.status, f"{title}: the model's text was {prediction.status} ({prediction.reason})")
    progress.report("Applying the edit")
    text = prediction.texts[0]
    return await apply_text(server, snapshot, text, prediction.replace_start, prediction.replace_end, title)


async def apply_text(server: AmplifierServer, snapshot: Snapshot, text: str, start: int, end: int, title: str) -> CommandResult:
    """Replace `snapshot.text[start:end]` with `text` as a versioned edit, re-anchored on the current document."""
    for _ in range(APPLY_ATTEMPTS):
        current = server.documents.snapshot(snapshot.uri)
        if current is None:
            return CommandResult(False, "stale", f"{title}: the document was closed before the text was ready")
        span = reanchor(snapshot.text, current.text, start, end)
        if span is None:
            return CommandResult(
                False,
                "stale",
                f"{title}: the document changed around the insertion point while the text was generated, "
                "so it was not inserted; run the action again",
            )

        edit = versioned_edit(current, span[0], span[1], text)
        try:
            response = await server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=f"Amplifier: {title}")
            )
        except JsonRpcException as error:
            return CommandResult(False, "error", f"{title}: the editor could not apply the edit ({error})")
        if response.applied:
            return CommandResult(True, "ok", f"{title}: inserted {len(text.split())} words")

        latest = server.documents.snapshot(snapshot.uri)
        if latest is None or latest.version == current.version:
            reason = response.failure_reason or "no reason given"
            return CommandResult(False, "error", f"{title}: the editor rejected the edit ({reason})")
        logger.info("The editor rejected the edit for version %s; re-anchoring on version %s", current.version, latest.version)
    return CommandResult(False, "stale", f"{title}: the document kept changing, so the text was not inserted; run the action again")
