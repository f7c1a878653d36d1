"""End-to-end fixtures for the language server: the real `amplifier-ls serve` process over stdio.

`start_session` launches the server with pytest-lsp, posing as VS Code or Neovim with their
recorded client capabilities, and configures it for the fake OpenAI-compatible server on
127.0.0.1. `EditorDocument` plays the editor's part for one document. It sends changes,
applies the edits of `workspace/applyEdit` the way an editor does (it rejects an edit for
another version) and converts positions without using the server's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features
from pytest_lsp.protocol import LanguageClientProtocol

from fakes.openai_server import FakeOpenAIServer, _State

CLIENTS = {"vscode": "visual-studio-code", "neovim": "neovim"}
"""Test ids to pytest-lsp client names. VS Code 1.65 offers no position encodings (UTF-16);
Neovim 0.11 offers UTF-8 first."""

SERVER_COMMAND = [sys.executable, "-m", "amplifier_ls", "serve", "-v"]
STATUS = "amplifier/status"
TIMEOUT_S = 20

PAST_WRITING = """# Notes on gardening

Tomatoes want sun, water at the roots and patience. I stake them early and prune the side
shoots once a week, which keeps the plants airy and the fruit clean.
"""

_LINE_END = re.compile(r"\r\n|\r|\n")


class CyclingFakeServer(FakeOpenAIServer):
    """The fake OpenAI server, returning the n-th of `texts` for the n-th completion, cycling.

    NOTE: the fake always returns the same text for a prompt, and the samples of one
    prediction share their prompt. This subclass replaces the fake's private `_State.plan`
    to tell the samples apart; drop it once the fake can vary replies per request.
    """

    def __init__(self, texts: list[str], **response: Any):
        super().__init__({"default": {"text": texts[0], **response}})
        self._state = _CyclingState(self._state.script, texts)


class _CyclingState(_State):
    def __init__(self, script: dict[str, Any], texts: list[str]):
        super().__init__(script)
        self._texts = texts
        self._served = 0

    def plan(self, prompt: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        response, fail = super().plan(prompt)
        with self.changed:
            response = {**response, "text": self._texts[self._served % len(self._texts)]}
            self._served += 1
        return response, fail


def make_workspace(root: Path, settings_toml: str | None = None) -> Path:
    """Create a workspace with one note of past writing, and `.amplifier.toml` when given."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes").mkdir(exist_ok=True)
    (root / "notes" / "gardening.md").write_text(PAST_WRITING, encoding="utf-8")
    if settings_toml is not None:
        (root / ".amplifier.toml").write_text(settings_toml, encoding="utf-8")
    return root


def server_options(fake: FakeOpenAIServer, cache_dir: Path, **extra: Any) -> dict[str, Any]:
    """initializationOptions that point the server at the fake, with a private cache."""
    options: dict[str, Any] = {
        "backend": "openai",
        "openai": {"base_url": fake.base_url, "max_retries": 0},
        "model": "fake-model",
        "cache": {"dir": str(cache_dir)},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(options.get(key), dict):
            options[key] = {**options[key], **value}
        else:
            options[key] = value
    return options


@dataclass
class Session:
    client: LanguageClient
    encoding: str
    workspace: Path
    statuses: list[dict[str, Any]] = field(default_factory=list)
    applied_edits: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    documents: dict[str, EditorDocument] = field(default_factory=dict)

    def open(self, name: str, text: str, language_id: str = "markdown") -> EditorDocument:
        path = self.workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        document = EditorDocument(self, path.as_uri(), text)
        self.documents[document.uri] = document
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=document.uri, language_id=language_id, version=1, text=text)
            )
        )
        return document

    async def wait_for_status(self, predicate, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        async def poll() -> dict[str, Any]:
            while True:
                for status in self.statuses:
                    if predicate(status):
                        return status
                await asyncio.sleep(0.02)

        return await asyncio.wait_for(poll(), timeout)


class EditorDocument:
    """The editor's copy of an open document."""

    def __init__(self, session: Session, uri: str, text: str):
        self.session = session
        self.uri = uri
        self.text = text
        self.version = 1

    @property
    def identifier(self) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=self.uri)

    def position_of(self, index: int) -> types.Position:
        """Return the protocol position of an index into the raw text."""
        line = 0
        line_start = 0
        for match in _LINE_END.finditer(self.text):
            if match.end() > index:
                break
            line += 1
            line_start = match.end()
        return types.Position(line=line, character=units(self.text[line_start:index], self.session.encoding))

    def index_of(self, position: types.Position) -> int:
        starts = [0] + [match.end() for match in _LINE_END.finditer(self.text)]
        if position.line >= len(starts):
            return len(self.text)
        start = starts[position.line]
        end_match = _LINE_END.search(self.text, start)
        end = end_match.start() if end_match else len(self.text)
        count = 0
        for index in range(start, end):
            if count >= position.character:
                return index
            count += units(self.text[index], self.session.encoding)
        return end

    def end_position(self) -> types.Position:
        return self.position_of(len(self.text))

    def replace(self, start: int, end: int, new_text: str) -> None:
        """Edit the text as the user would, and send the change to the server."""
        self._change([(start, end, new_text)])

    def type(self, text: str) -> None:
        self.replace(len(self.text), len(self.text), text)

    def save(self) -> None:
        self.session.client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=self.identifier))

    def apply(self, edit: types.TextDocumentEdit) -> bool:
        """Apply a versioned edit the way an editor does; reject it for another version."""
        if edit.text_document.version is not None and edit.text_document.version != self.version:
            return False
        self._change([(self.index_of(e.range.start), self.index_of(e.range.end), e.new_text) for e in edit.edits])
        return True

    def _change(self, spans: list[tuple[int, int, str]]) -> None:
        """Apply non-overlapping spans as one new version, sent as one `didChange`."""
        changes = []
        for start, end, new_text in sorted(spans, reverse=True):
            change_range = types.Range(start=self.position_of(start), end=self.position_of(end))
            changes.append(types.TextDocumentContentChangePartial(range=change_range, text=new_text))
            self.text = self.text[:start] + new_text + self.text[end:]
        self.version += 1
        self.session.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=changes,
            )
        )


def units(text: str, encoding: str) -> int:
    """Length of `text` in code units, computed with the codecs rather than the server's code."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class _ClientProtocol(LanguageClientProtocol):
    """The pytest-lsp client protocol, except that code-action results stay plain JSON.

    lsprotocol 2025.0.0 structures a code action that carries a command as a `Command`
    whose `command` is the text of the whole action, so `code_actions` structures each
    item by its own shape instead.
    """

    def get_result_type(self, method: str) -> Any:
        if method == types.TEXT_DOCUMENT_CODE_ACTION:
            return None
        return super().get_result_type(method)


async def code_actions(session: Session, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Request code actions and return them as `CodeAction` objects."""
    items = await session.client.text_document_code_action_async(params) or []
    converter = session.client.protocol._converter
    return [converter.structure(item, types.CodeAction) for item in items]


def _client_factory(session_ref: list[Session]) -> Any:
    def factory() -> LanguageClient:
        client = LanguageClient(protocol_cls=_ClientProtocol, converter_factory=default_converter)
        register_lsp_features(client)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            session = session_ref[0]
            session.applied_edits.append(params)
            for change in params.edit.document_changes or []:
                document = session.documents.get(change.text_document.uri)
                if document is None or not document.apply(change):
                    return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version mismatch")
            return types.ApplyWorkspaceEditResult(applied=True)

        @client.feature(STATUS)
        def status(params: Any) -> None:
            session_ref[0].statuses.append(_plain(params))

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register_capability(params: types.RegistrationParams) -> None:
            return None

        return client

    return factory


def _plain(value: Any) -> Any:
    """Turn the namedtuple pygls builds for a custom notification back into a dict."""
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    return value


@contextlib.asynccontextmanager
async def start_session(
    client_name: str,
    workspace: Path,
    options: Any,
    configuration: dict[str, Any] | None = None,
    adjust: Callable[[types.ClientCapabilities], None] | None = None,
) -> AsyncIterator[Session]:
    """Start the server, initialize it as `client_name` and shut it down afterwards.

    `configuration` is what the client returns for `workspace/configuration`, and `adjust`
    may change the recorded client capabilities before they are sent.
    """
    session_ref: list[Session] = []
    config = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=_client_factory(session_ref))
    client = await config.start()
    if configuration is not None:
        client.set_configuration(configuration)
    capabilities = client_capabilities(CLIENTS[client_name])
    if adjust is not None:
        adjust(capabilities)
    session = Session(client, "utf-16", workspace)
    session_ref.append(session)
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities,
                    root_uri=workspace.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
                    initialization_options=options,
                    client_info=types.ClientInfo(name=CLIENTS[client_name]),
                )
            ),
            TIMEOUT_S,
        )
        session.encoding = str(result.capabilities.position_encoding or "utf-16")
        yield session
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), TIMEOUT_S)
        await client.stop()
