"""The server's status for editor plugins, and its log for the client.

`StatusReporter` sends the custom `amplifier/status` notification: the backend and model,
the state ("starting", "idle", "busy" or "error"), how many generations are running and
the last error. `ClientLogHandler` forwards stdlib logging records of the `amplifier_ls`
loggers to `window/logMessage`. Pop-ups (`window/showMessage`) go through `notify_user`,
which drops a message identical to the one shown last, so that a failing backend does not
open a pop-up per keystroke.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types

if TYPE_CHECKING:
    from .server import AmplifierServer

STATUS_NOTIFICATION = "amplifier/status"

State = Literal["starting", "idle", "busy", "error"]

_MESSAGE_TYPES = (
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
)


class StatusReporter:
    """Counts running generations and notifies the client whenever the status changes."""

    def __init__(self, server: AmplifierServer):
        self._server = server
        self.running = 0
        self.ready = False
        self.last_error: str | None = None
        self._failed = False
        self._last_sent: dict[str, Any] | None = None
        self._last_shown: str | None = None

    @property
    def state(self) -> State:
        if self.running:
            return "busy"
        if self._failed:
            return "error"
        return "idle" if self.ready else "starting"

    def payload(self) -> dict[str, Any]:
        predictor = self._server.predictor
        settings = self._server.settings
        model = predictor.backend.model if predictor is not None else settings.model
        return {
            "backend": settings.backend,
            "model": model,
            "state": self.state,
            "running": self.running,
            "lastError": self.last_error,
        }

    def send(self, force: bool = False) -> None:
        payload = self.payload()
        if force or payload != self._last_sent:
            self._last_sent = payload
            self._server.protocol.notify(STATUS_NOTIFICATION, payload)

    def started(self) -> None:
        self.running += 1
        self.send()

    def finished(self, *, succeeded: bool = False, error: str | None = None) -> None:
        """Count a generation as ended; `succeeded` clears the error state, `error` sets it."""
        self.running = max(0, self.running - 1)
        if succeeded:
            self.ready = True
            self._failed = False
            self._last_shown = None
        if error is not None:
            self._failed = True
            self.last_error = error
        self.send()

    def failed(self, message: str) -> None:
        self._failed = True
        self.last_error = message
        self.send()

    def restarted(self) -> None:
        """Reset the state after the Predictor was rebuilt; the backend is loading again."""
        self.ready = False
        self._failed = False
        self.send()

    def ready_now(self) -> None:
        self.ready = True
        self.send()

    def notify_user(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Show a pop-up, unless it repeats the last one shown since the last success."""
        if message == self._last_shown:
            return
        self._last_shown = message
        self._server.window_show_message(types.ShowMessageParams(type=kind, message=message))


class ClientLogHandler(logging.Handler):
    """Forward log records to the client as `window/logMessage` notifications.

    Records from another thread are sent from the event loop. Records emitted before the
    client connected, or while a message is being sent, are dropped, so that a failing
    transport cannot log about itself forever.
    """

    def __init__(self, server: AmplifierServer, level: int = logging.INFO):
        super().__init__(level)
        self._server = server
        self._sending = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._sending, "active", False) or self._server.protocol.writer is None:
            return
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        params = types.LogMessageParams(type=_message_type(record.levelno), message=message)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._send(record, params)
        elif self._server.loop is not None:
            self._server.loop.call_soon_threadsafe(self._send, record, params)

    def _send(self, record: logging.LogRecord, params: types.LogMessageParams) -> None:
        self._sending.active = True
        try:
            self._server.window_log_message(params)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
        finally:
            self._sending.active = False


def _message_type(level: int) -> types.MessageType:
    for threshold, kind in _MESSAGE_TYPES:
        if level >= threshold:
            return kind
    return types.MessageType.Log
