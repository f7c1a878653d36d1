"""The language server object: lifecycle, document sync, settings and the shared Predictor.

Feature modules register their handlers in `create_server`. They reach the core through
`AmplifierServer.predict`, which keeps the status counters and error reporting in one
place. They track their running tasks in `AmplifierServer.jobs`, so that a document change,
a newer request, a settings change or `amplifier.cancel` can cancel them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from .. import __version__
from ..errors import AmplifierError, BackendError, BackendUnavailable
from ..pipeline import Prediction, PredictionRequest, Predictor
from ..settings import Settings
from .config import ConfigurationManager, needs_new_predictor
from .documents import DocumentStore
from .status import StatusReporter

if TYPE_CHECKING:
    from .on_save import SuggestionStore

logger = logging.getLogger(__name__)

CORPUS_MAX_AGE_S = 10.0
"""Seconds a corpus scan stays fresh, so that requests while typing do not rescan the workspace."""

PING = "amplifier/ping"

_ENCODINGS = ("utf-8", "utf-16", "utf-32")

DocumentListener = Callable[[str], None]

COMMAND_WORK_DONE_TOKEN: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "command_work_done_token", default=None
)
"""The `workDoneToken` of the `workspace/executeCommand` request a command handler serves."""


class AmplifierProtocol(LanguageServerProtocol):
    """The pygls protocol, except that UTF-8 positions are chosen whenever the client offers them.

    pygls 2.1.1 picks the client's first offered encoding. Preferring UTF-8 spares the
    client a conversion, since editors such as Neovim store text as UTF-8.
    """

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            offered = list(general.position_encodings)
            if types.PositionEncodingKind.Utf8 in offered:
                offered.remove(types.PositionEncodingKind.Utf8)
                general.position_encodings = [types.PositionEncodingKind.Utf8, *offered]
        return (yield from super().lsp_initialize(params))

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams):
        """Run a command as pygls does, exposing the request's `workDoneToken` to the handler.

        pygls 2.1.1 passes a command handler its arguments only. The handler's task copies
        the context this generator runs in, so it reads the token from a context variable.
        """
        COMMAND_WORK_DONE_TOKEN.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))


class Jobs:
    """Running tasks, keyed by kind ("inline", "command", "on-save") and document URI."""

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, str], set[asyncio.Task[Any]]] = {}

    def add(self, kind: str, uri: str, task: asyncio.Task[Any]) -> None:
        self._tasks.setdefault((kind, uri), set()).add(task)
        task.add_done_callback(lambda done: self._discard(kind, uri, done))

    def replace(self, kind: str, uri: str, task: asyncio.Task[Any]) -> None:
        """Cancel the tasks of this kind for the document and track `task` instead."""
        self.cancel(uri, [kind])
        self.add(kind, uri, task)

    def running(self, kind: str, uri: str) -> list[asyncio.Task[Any]]:
        return [task for task in self._tasks.get((kind, uri), ()) if not task.done()]

    def cancel(self, uri: str | None = None, kinds: Iterable[str] | None = None) -> list[asyncio.Task[Any]]:
        """Cancel the matching tasks and return them; None matches every URI or kind."""
        selected = set(kinds) if kinds is not None else None
        cancelled = []
        for (kind, task_uri), tasks in list(self._tasks.items()):
            if (uri is None or task_uri == uri) and (selected is None or kind in selected):
                for task in tasks:
                    if not task.done() and task is not asyncio.current_task():
                        task.cancel()
                        cancelled.append(task)
        return cancelled

    def _discard(self, kind: str, uri: str, task: asyncio.Task[Any]) -> None:
        tasks = self._tasks.get((kind, uri))
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._tasks[(kind, uri)]


class AmplifierServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "amplifier-ls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=AmplifierProtocol,
        )
        self.documents = DocumentStore()
        self.status = StatusReporter(self)
        self.config = ConfigurationManager(self)
        self.jobs = Jobs()
        self.settings = Settings()
        self.predictor: Predictor | None = None
        self.setup_error: str | None = None
        self.workspace_root: Path | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.change_listeners: list[DocumentListener] = []
        self.save_listeners: list[DocumentListener] = []
        self.close_listeners: list[DocumentListener] = []
        self.suggestions: SuggestionStore | None = None
        self._warm_up: asyncio.Task[None] | None = None
        self._settings_lock = asyncio.Lock()
        self.configured = asyncio.Event()
        """Set once the settings of every layer are applied, after `initialized`."""

    async def predict(
        self, request: PredictionRequest, on_text: Callable[[int, str], None] | None = None
    ) -> Prediction:
        """Run a prediction through the current Predictor, keeping the status up to date.

        Raises BackendError (BackendUnavailable when the Predictor could not be built),
        DocumentError for a request the document cannot serve, and CancelledError.
        """
        await self.configured.wait()
        async with self._settings_lock:
            predictor = self.predictor
        if predictor is None:
            raise BackendUnavailable(self.setup_error or "The backend is not set up yet; wait for initialization")
        self.status.started()
        try:
            prediction = await predictor.predict(request, on_text=on_text, corpus_max_age_s=CORPUS_MAX_AGE_S)
        except asyncio.CancelledError:
            self.status.finished()
            raise
        except BackendError as error:
            self.status.finished(error=str(error))
            raise
        except AmplifierError:
            self.status.finished()
            raise
        except Exception as error:
            logger.exception("Prediction failed unexpectedly")
            self.status.finished(error=f"Internal error: {error}")
            raise
        self.status.finished(succeeded=True)
        return prediction

    async def apply_settings(self, settings: Settings) -> None:
        """Use new settings; rebuild the Predictor when the backend, corpus or cache changed."""
        async with self._settings_lock:
            rebuild = self.predictor is None or needs_new_predictor(self.settings, settings)
            self.settings = settings
            if rebuild:
                await self._rebuild_predictor(settings)
            else:
                assert self.predictor is not None
                self.predictor.settings = settings
                self.status.send()

    async def _rebuild_predictor(self, settings: Settings) -> None:
        old = self.predictor
        if old is not None:
            cancelled = self.jobs.cancel()
            if cancelled:
                await asyncio.wait(cancelled, timeout=5)
        self.predictor = None
        self.setup_error = None
        if self._warm_up is not None:
            self._warm_up.cancel()
        if old is not None:
            await old.aclose()

        try:
            self.predictor = Predictor(settings, self.workspace_root, progress=_log_progress)
        except AmplifierError as error:
            self.setup_error = str(error)
            logger.error("Could not set up the %s backend: %s", settings.backend, error)
            self.status.failed(self.setup_error)
            self.status.notify_user(self.setup_error)
            return
        logger.info("Set up the %s backend for workspace %s", settings.backend, self.workspace_root)
        self.status.restarted()
        self._warm_up = asyncio.ensure_future(self._prepare_backend(self.predictor))

    async def _prepare_backend(self, predictor: Predictor) -> None:
        """Load the model or check the connection before the first request needs it."""
        try:
            await predictor.backend.prepare()
        except AmplifierError as error:
            logger.error("The %s backend is not available: %s", self.settings.backend, error)
            self.status.failed(str(error))
            self.status.notify_user(str(error))
            return
        except Exception as error:
            logger.exception("Preparing the %s backend failed", self.settings.backend)
            self.status.failed(f"Internal error: {error}")
            return
        if predictor is self.predictor:
            logger.info("Backend %s is ready with model %s", self.settings.backend, predictor.backend.model)
            self.status.ready_now()

    async def close(self) -> None:
        cancelled = self.jobs.cancel()
        if cancelled:
            await asyncio.wait(cancelled, timeout=5)
        if self._warm_up is not None:
            self._warm_up.cancel()
        if self.predictor is not None:
            await self.predictor.aclose()
            self.predictor = None


def _log_progress(message: str) -> None:
    logger.debug("%s", message)


def _workspace_root(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    if uri is not None:
        path = to_fs_path(uri)
        return Path(path) if path else None
    return Path(params.root_path) if params.root_path else None


def _register_lifecycle(server: AmplifierServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: AmplifierServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        encoding = getattr(ls.workspace.position_encoding, "value", ls.workspace.position_encoding)
        ls.documents.encoding = encoding if encoding in _ENCODINGS else "utf-16"
        ls.workspace_root = _workspace_root(params)
        ls.config.layers.initialization_options = params.initialization_options
        ls.config.read_file()
        logger.info(
            "Initialized for %s: workspace %s, %s positions",
            params.client_info.name if params.client_info else "an unnamed client",
            ls.workspace_root,
            ls.documents.encoding,
        )

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AmplifierServer, params: types.InitializedParams) -> None:
        await _register_configuration_change(ls)
        if ls.config.client_pulls_configuration():
            await ls.config.pull_client_configuration()
        await ls.apply_settings(ls.config.compute())
        ls.configured.set()
        ls.status.send(force=True)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: AmplifierServer, params: None) -> None:
        await ls.close()

    @server.feature(PING)
    def ping(ls: AmplifierServer, params: Any) -> None:
        """Return nothing at once; benchmarks time it as the cost of a round trip."""


async def _register_configuration_change(ls: AmplifierServer) -> None:
    """Ask clients that need it (VS Code) to send `workspace/didChangeConfiguration`."""
    capabilities = ls.client_capabilities.workspace
    change = capabilities.did_change_configuration if capabilities else None
    if change is None or not change.dynamic_registration:
        return
    registration = types.Registration(
        id="amplifier-configuration",
        method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
        register_options=types.DidChangeConfigurationRegistrationOptions(section="amplifier"),
    )
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
    except Exception as error:  # noqa: BLE001 - registration is optional for the client
        logger.warning("The client did not accept the configuration change registration: %s", error)


def _register_document_sync(server: AmplifierServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AmplifierServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.documents.open(params.text_document)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AmplifierServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.documents.change(params)
        for listener in ls.change_listeners:
            listener(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: AmplifierServer, params: types.DidSaveTextDocumentParams) -> None:
        for listener in ls.save_listeners:
            listener(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AmplifierServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.jobs.cancel(uri, ["inline", "on-save"])
        for listener in ls.close_listeners:
            listener(uri)
        ls.documents.close(uri)


def create_server() -> AmplifierServer:
    from . import actions, config, inline, on_save

    server = AmplifierServer()
    _register_lifecycle(server)
    _register_document_sync(server)
    config.setup(server)
    inline.setup(server)
    actions.setup(server)
    on_save.setup(server)
    return server
