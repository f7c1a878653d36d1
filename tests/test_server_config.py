"""Settings layers, the status notification, log forwarding and the TCP transport."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from fakes.openai_server import FakeOpenAIServer
from server_fixtures import make_workspace, server_options, start_session

CLIENTS = ["vscode", "neovim"]
TEXT = " and then the rain came."


def invoked(document):
    return types.InlineCompletionParams(
        text_document=document.identifier,
        position=document.end_position(),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )


def completion_bodies(fake: FakeOpenAIServer) -> list[dict]:
    """Return the bodies of the completion requests the fake received, oldest first.

    A request cancelled between its headers and its body (a settings change rebuilds the
    Predictor while it is sent) is recorded without a body and left out.
    """
    requests = [request for request in fake.requests if request["path"] == "/v1/completions"]
    return [request["body"] for request in requests if request["body"] is not None]


async def complete_until(session, fake: FakeOpenAIServer, condition, attempts: int = 100) -> dict:
    """Request completions in new documents until the request the fake receives meets `condition`.

    A settings change that rebuilds the Predictor cancels the request in flight, as an
    editor would see it, so cancelled requests are retried.
    """
    for attempt in range(attempts):
        document = session.open(f"probe-{attempt}.md", f"Probe number {attempt}")
        with contextlib.suppress(JsonRpcRequestCancelled):
            await session.client.text_document_inline_completion_async(invoked(document))
        bodies = completion_bodies(fake)
        if bodies and condition(bodies[-1]):
            return bodies[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no request met the condition; last body: {completion_bodies(fake)[-1:]}")


async def test_invalid_settings_one_message(tmp_path):
    bad = {"decoding": {"temperature": 5}, "server": {"debounce_ms": "fast", "inline_candidates": 1}, "bogus": 1}
    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache", **bad)
        async with start_session("neovim", make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("rain.md", "It was dry")
            result = await session.client.text_document_inline_completion_async(invoked(document))

            session.client.set_configuration({"amplifier": {"decoding": {"top_p": 0.5}}})
            session.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
            body = await complete_until(session, fake, lambda body: body["top_p"] == 0.5)
            messages = list(session.client.messages)

    assert [item.insert_text for item in result.items] == [TEXT]
    assert len(messages) == 1
    assert messages[0].type == types.MessageType.Warning
    for key in ("decoding.temperature", "server.debounce_ms", "bogus"):
        assert key in messages[0].message
    assert completion_bodies(fake)[0]["temperature"] == 0.7
    assert body["temperature"] == 0.7


@pytest.mark.parametrize("client", CLIENTS)
async def test_settings_precedence(client, tmp_path):
    workspace = make_workspace(tmp_path / "ws", "[decoding]\ntemperature = 0.1\ntop_p = 0.5\nmin_p = 0.3\n")
    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache", decoding={"temperature": 0.2, "min_p": 0.2})
        configuration = {"amplifier": {"decoding": {"temperature": 0.3}}}
        async with start_session(client, workspace, options, configuration=configuration) as session:
            document = session.open("rain.md", "It was dry")
            await session.client.text_document_inline_completion_async(invoked(document))
            messages = list(session.client.messages)

    body = completion_bodies(fake)[0]
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.5
    assert body["min_p"] == 0.2
    assert messages == []


async def test_notification_settings_without_pull(tmp_path):
    def without_configuration(capabilities: types.ClientCapabilities) -> None:
        capabilities.workspace.configuration = False

    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache")
        async with start_session("neovim", make_workspace(tmp_path / "ws"), options, adjust=without_configuration) as session:
            settings = {"amplifier": {"decoding": {"temperature": 0.4}}}
            session.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
            body = await complete_until(session, fake, lambda body: body["temperature"] == 0.4)

    assert body["temperature"] == 0.4


async def test_backend_change_rebuilds_predictor(tmp_path):
    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 0}}) as first, FakeOpenAIServer(
        {"default": {"text": " from the second server.", "delay_ms": 0}}
    ) as second:
        options = server_options(first, tmp_path / "cache")
        async with start_session("vscode", make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("rain.md", "It was dry")
            before = await session.client.text_document_inline_completion_async(invoked(document))
            session.client.set_configuration({"amplifier": {"openai": {"base_url": second.base_url}}})
            session.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
            await complete_until(session, second, lambda body: True)
            first_requests = first.stats["completion_requests"]
            after = await session.client.text_document_inline_completion_async(invoked(document))
            states = [status["state"] for status in session.statuses]

    assert [item.insert_text for item in before.items] == [TEXT]
    assert [item.insert_text for item in after.items] == [" from the second server."]
    assert first.stats["completion_requests"] == first_requests
    assert states.count("starting") >= 2


async def test_status_and_log_messages(tmp_path):
    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache", server={"inline_candidates": 1})
        async with start_session("neovim", make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("rain.md", "It was dry")
            await session.client.text_document_inline_completion_async(invoked(document))
            idle = await session.wait_for_status(lambda status: status["state"] == "idle" and status["running"] == 0)
            busy = await session.wait_for_status(lambda status: status["state"] == "busy")

            fake.set_script({"default": {"fail": {"status": 500, "message": "The GPU caught fire."}}})
            failed_document = session.open("fire.md", "Smoke rose")
            failed = await session.client.text_document_inline_completion_async(invoked(failed_document))
            error = await session.wait_for_status(lambda status: status["state"] == "error")
            logs = [message.message for message in session.client.log_messages]
            messages = list(session.client.messages)

    assert idle == {"backend": "openai", "model": "fake-model", "state": "idle", "running": 0, "lastError": None}
    assert busy["running"] == 1
    assert list(failed.items) == []
    assert "The GPU caught fire." in error["lastError"]
    assert any("Initialized for neovim" in line for line in logs)
    assert any("No inline completion" in line for line in logs)
    assert messages == []


async def test_unreachable_backend_shows_one_message(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    options = {
        "backend": "openai",
        "openai": {"base_url": f"http://127.0.0.1:{closed_port}/v1", "max_retries": 0, "timeout": 2},
        "cache": {"dir": str(tmp_path / "cache")},
    }
    async with start_session("neovim", make_workspace(tmp_path / "ws"), options) as session:
        error = await session.wait_for_status(lambda status: status["state"] == "error")
        for attempt in range(3):
            document = session.open(f"draft-{attempt}.md", "Nothing listens")
            result = await session.client.text_document_inline_completion_async(invoked(document))
            assert list(result.items) == []
        messages = list(session.client.messages)

    assert error["lastError"]
    assert len(messages) == 1
    assert messages[0].type == types.MessageType.Error


def _lsp_message(payload: dict) -> bytes:
    body = json.dumps(payload).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read_message(stream) -> dict:
    length = 0
    while True:
        line = stream.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length))


def test_tcp_transport(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "amplifier_ls", "serve", "--tcp", "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        assert b"listening on 127.0.0.1" in process.stderr.readline()
        connection = None
        for _ in range(200):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=20)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        assert connection is not None
        with connection, connection.makefile("rb") as stream:
            initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                          "params": {"processId": None, "rootUri": None, "capabilities": {}}}
            connection.sendall(_lsp_message(initialize))
            response = _read_message(stream)
            while response.get("id") != 1:
                response = _read_message(stream)
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert "result" in response, response
    capabilities = response["result"]["capabilities"]
    assert capabilities["positionEncoding"] == "utf-16"
    assert capabilities["inlineCompletionProvider"] == {}
    assert "amplifier.continueSection" in capabilities["executeCommandProvider"]["commands"]
