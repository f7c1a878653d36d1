"""Inline completions from the real server process, posing as VS Code (UTF-16) and Neovim (UTF-8)."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from fakes.openai_server import FakeOpenAIServer
from server_fixtures import CyclingFakeServer, make_workspace, server_options, start_session

CLIENTS = ["vscode", "neovim"]
SENTENCE = " keeps on growing."
LONG_TEXT = " ".join(f"word{index}" for index in range(60))
"""A continuation with no sentence end, so that only cancellation stops its stream early."""


def inline_params(document, position, trigger=types.InlineCompletionTriggerKind.Invoked):
    return types.InlineCompletionParams(
        text_document=document.identifier,
        position=position,
        context=types.InlineCompletionContext(trigger_kind=trigger),
    )


def last_prompt(fake: FakeOpenAIServer) -> str:
    completions = [request for request in fake.requests if request["path"] == "/v1/completions"]
    return completions[-1]["body"]["prompt"]


@pytest.mark.parametrize("client", CLIENTS)
async def test_inline_invoked_candidates(client, tmp_path):
    texts = [" climb the fence.", " need a trellis.", " flower in June."]
    with CyclingFakeServer(texts, delay_ms=0) as fake:
        options = server_options(fake, tmp_path / "cache", server={"inline_candidates": 3})
        async with start_session(client, make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("draft.md", "# Beans\n\nRunner beans")
            cursor = document.end_position()
            result = await session.client.text_document_inline_completion_async(inline_params(document, cursor))

    assert sorted(item.insert_text for item in result.items) == sorted(texts)
    assert all(item.range == types.Range(start=cursor, end=cursor) for item in result.items)
    assert fake.stats["completion_requests"] == 3


@pytest.mark.parametrize("client", CLIENTS)
async def test_inline_automatic_one_item(client, tmp_path):
    with FakeOpenAIServer({"default": {"text": SENTENCE + " And another sentence.", "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache", server={"debounce_ms": 10, "inline_candidates": 3})
        async with start_session(client, make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("draft.md", "The garden")
            cursor = document.end_position()
            trigger = types.InlineCompletionTriggerKind.Automatic
            result = await session.client.text_document_inline_completion_async(inline_params(document, cursor, trigger))

    assert [item.insert_text for item in result.items] == [SENTENCE]
    assert result.items[0].range == types.Range(start=cursor, end=cursor)
    assert fake.stats["completion_requests"] == 1


UNICODE_CASES = {
    "emoji-before-cursor": ("Sunflowers 🌻🌻 and more", "Sunflowers 🌻🌻"),
    "space-before-cursor": ("Tall 🌻 ", "Tall 🌻 "),
    "combining-accent": ("Un cafe\u0301 noir", "Un cafe\u0301"),
    "cjk": ("# 庭\n\n花が咲く。", "# 庭\n\n花が咲く"),
    "crlf": ("# Title\r\n\r\nFirst line\r\nSecond line", "# Title\r\n\r\nFirst line\r\nSecond"),
    "empty-document": ("", ""),
    "end-of-file-after-newline": ("Last line.\n", "Last line.\n"),
    "emoji-and-crlf-at-end": ("Bloom 🌼\r\nNext 😀", "Bloom 🌼\r\nNext 😀"),
}


@pytest.mark.parametrize("client", CLIENTS)
async def test_inline_unicode_ranges(client, tmp_path):
    """One session per client runs every case, each in its own document."""
    outcomes = {}
    with FakeOpenAIServer({"default": {"text": SENTENCE, "delay_ms": 0}}) as fake:
        async with start_session(client, make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            encoding = session.encoding
            for case, (text, before) in UNICODE_CASES.items():
                document = session.open(f"{case}.md", text)
                cursor = document.position_of(len(before))
                result = await session.client.text_document_inline_completion_async(inline_params(document, cursor))
                items = list(result.items)
                if len(items) == 1:
                    item = items[0]
                    document.replace(document.index_of(item.range.start), document.index_of(item.range.end), item.insert_text)
                outcomes[case] = (cursor, items, last_prompt(fake), document.text)

    assert encoding == ("utf-8" if client == "neovim" else "utf-16")
    for case, (text, before) in UNICODE_CASES.items():
        cursor, items, prompt, edited = outcomes[case]
        assert prompt.endswith(before.replace("\r\n", "\n")), case
        assert len(items) == 1, case
        assert items[0].range == types.Range(start=cursor, end=cursor), case
        assert edited == before + items[0].insert_text + text[len(before) :], case
        if before.endswith(" "):
            assert not items[0].insert_text.startswith(" "), case


@pytest.mark.parametrize("client", CLIENTS)
async def test_inline_typing_burst(client, tmp_path):
    with FakeOpenAIServer({"default": {"text": LONG_TEXT, "delay_ms": 40}}) as fake:
        options = server_options(fake, tmp_path / "cache", server={"debounce_ms": 100})
        async with start_session(client, make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("draft.md", "# Notes\n\nThe")
            trigger = types.InlineCompletionTriggerKind.Automatic
            requests = []

            def keystroke(character: str) -> None:
                document.type(character)
                params = inline_params(document, document.end_position(), trigger)
                requests.append(asyncio.ensure_future(session.client.text_document_inline_completion_async(params)))

            for character in " peas grow":
                keystroke(character)
            await asyncio.to_thread(fake.wait_for, lambda stats: stats["completions_started"] >= 1)
            for character in " tall now ":
                keystroke(character)
            results = await asyncio.gather(*requests, return_exceptions=True)
            await asyncio.to_thread(fake.wait_for, lambda stats: stats["completions_disconnected"] >= 1)

    assert len(results) == 20
    assert all(isinstance(result, JsonRpcRequestCancelled) for result in results[:-1])
    assert isinstance(results[-1], types.InlineCompletionList)
    assert [item.insert_text for item in results[-1].items] == [LONG_TEXT]
    assert fake.stats["completion_requests"] <= 2
    assert fake.stats["completions_disconnected"] >= 1
    assert fake.stats["completions_finished"] == 1


async def test_inline_cancel_request_stops_stream(tmp_path):
    with FakeOpenAIServer({"default": {"text": LONG_TEXT, "delay_ms": 40}}) as fake:
        options = server_options(fake, tmp_path / "cache", server={"inline_candidates": 2})
        async with start_session("neovim", make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("draft.md", "Slow")
            params = inline_params(document, document.end_position())
            pending = asyncio.ensure_future(
                session.client.protocol.send_request_async(
                    types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="inline-to-cancel"
                )
            )
            await asyncio.to_thread(fake.wait_for, lambda stats: stats["completions_started"] >= 2)
            session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="inline-to-cancel"))
            with pytest.raises(JsonRpcRequestCancelled) as cancelled:
                await pending
            await asyncio.to_thread(fake.wait_for, lambda stats: stats["completions_disconnected"] >= 2)

            document.type(" again")
            retry = await session.client.text_document_inline_completion_async(
                inline_params(document, document.end_position())
            )

    assert cancelled.value.code == -32800
    assert fake.stats["completions_finished"] == 2
    assert fake.stats["completion_requests"] == 4
    assert retry.items
