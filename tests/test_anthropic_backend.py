"""The anthropic backend, with the real `anthropic` SDK, against the fake Messages API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from amplifier_ls.backends import anthropic as anthropic_backend
from amplifier_ls.backends.anthropic import AnthropicBackend
from amplifier_ls.backends.anthropic_framing import (
    NO_PREFILL_SYSTEM,
    PREFILL_REQUEST,
    PREFILL_SYSTEM,
    cut_examples,
)
from amplifier_ls.backends.anthropic_models import MEMORY_FILE, prices_for
from amplifier_ls.backends.base import GenerationInfo, GenerationRequest, Sampling
from amplifier_ls.corpus.model import Chunk
from amplifier_ls.errors import BackendError, BackendUnavailable, PromptTooLarge
from amplifier_ls.prompt import ARCHIVE_HEADER, Prompt, file_marker
from amplifier_ls.settings import AnthropicSettings
from tests.fakes.anthropic_server import TEST_API_KEY, FakeAnthropicServer, Reply

NOTEBOOK = (
    "I keep a notebook for every project. It starts as a list of questions, and most of them "
    "turn out to be the wrong ones. That is fine, because the wrong questions are how I find "
    "the right ones. By the end the notebook reads like a map of every dead end I walked into."
)
FRIDAYS = (
    "Deploying on Fridays is not the problem people think it is. The fear is older than the "
    "tooling.\n\nThe problem is deploying anything you cannot roll back in five minutes. If "
    "rollback is cheap, the day of the week stops mattering. If it is expensive, Monday is "
    "just as dangerous.\n\nSo the rule I follow is simple: make the undo button work first."
)
EXCERPTS = (
    Chunk("notes/fridays.md", "Fridays", (), FRIDAYS, 0, 0),
    Chunk("notes/notebook.md", "Notebooks", (), NOTEBOOK, 0, 0),
)
PREFIX = ARCHIVE_HEADER + "".join(file_marker(chunk.path) + chunk.text + "\n\n" for chunk in EXCERPTS)


def make_prompt(draft: str = "# On rollbacks\n\nI used to think rollbacks were a luxury.\n\n") -> Prompt:
    return Prompt(
        prefix=PREFIX,
        body=file_marker("drafts/rollbacks.md") + draft,
        excerpts=EXCERPTS,
        document_name="drafts/rollbacks.md",
        document_before=draft,
    )


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(anthropic_backend, "RETRY_BASE_DELAY", 0.01)


@pytest.fixture
def fake():
    with FakeAnthropicServer(min_cache_tokens=50) as server:
        yield server


@pytest.fixture(autouse=True)
async def close_backends():
    yield
    while OPEN_BACKENDS:
        await OPEN_BACKENDS.pop().aclose()


OPEN_BACKENDS: list[AnthropicBackend] = []


def make_backend(
    fake, tmp_path: Path, model: str = "claude-haiku-4-5", environ=None, **settings
) -> AnthropicBackend:
    settings.setdefault("base_url", fake.base_url)
    if environ is None:
        environ = {"ANTHROPIC_API_KEY": TEST_API_KEY}
    backend = AnthropicBackend(AnthropicSettings(**settings), model, tmp_path / "cache", environ=environ)
    OPEN_BACKENDS.append(backend)
    return backend


async def generate(
    backend: AnthropicBackend, prompt: Prompt | None = None, **request
) -> tuple[str, GenerationInfo]:
    info = GenerationInfo()
    generation = GenerationRequest(
        prompt=prompt or make_prompt(), max_tokens=request.pop("max_tokens", 200), **request
    )
    async with contextlib.aclosing(backend.stream(generation, info)) as pieces:
        text = "".join([piece async for piece in pieces])
    return text, info


def texts(blocks) -> list[str]:
    return [block["text"] for block in blocks]


def breakpoints(body) -> list[tuple[str, int, int]]:
    """Where cache_control sits: ("system" or message index, block index)."""
    found = [("system", -1, i) for i, block in enumerate(body.get("system", [])) if "cache_control" in block]
    for m, message in enumerate(body["messages"]):
        found += [("message", m, b) for b, block in enumerate(message["content"]) if "cache_control" in block]
    return found


def up_to_breakpoint(body) -> str:
    """The request JSON up to and including the block with the cache breakpoint."""
    [(_, message_index, block_index)] = breakpoints(body)
    messages = body["messages"][:message_index]
    last = dict(body["messages"][message_index])
    last["content"] = last["content"][: block_index + 1]
    return json.dumps(
        {"model": body["model"], "system": body["system"], "messages": messages + [last]}, sort_keys=True
    )


async def test_prefill_request_shape(fake, tmp_path):
    fake.default_reply = Reply(text=["\n", "\nThe second time", " it cost us a weekend."])
    backend = make_backend(fake, tmp_path)
    prompt = make_prompt()

    text, info = await generate(backend, prompt)

    [request] = fake.requests
    body = request.body
    assert request.api_key_valid
    assert request.headers["authorization"] == "<redacted>"
    assert request.headers["anthropic-version"]
    assert body["stream"] is True
    assert body["model"] == "claude-haiku-4-5"
    assert texts(body["system"]) == [PREFILL_SYSTEM]
    assert [message["role"] for message in body["messages"]] == ["user", "assistant"]
    assert texts(body["messages"][0]["content"]) == [PREFILL_REQUEST]
    assistant = body["messages"][1]["content"]
    assert texts(assistant) == [prompt.prefix, prompt.body.rstrip()]
    assert "".join(texts(assistant)) == prompt.text.rstrip()
    assert assistant[-1]["text"] == assistant[-1]["text"].rstrip()
    assert breakpoints(body) == [("message", 1, 0)]
    assert assistant[0]["cache_control"] == {"type": "ephemeral"}
    assert text == "The second time it cost us a weekend."
    assert prompt.text.endswith("\n\n")
    assert info.finish_reason == "stop"
    assert info.details["framing"] == "prefill"
    assert backend.identity() == {"backend": "anthropic", "model": "claude-haiku-4-5", "framing": "prefill"}


@pytest.mark.parametrize(
    ("draft_end", "reply", "expected"),
    [
        ("\n\n", ["Next"], "Next"),
        ("\n\n", ["\n\nNext"], "Next"),
        ("\n\n", ["\n", "\n", "\n", "Next"], "\nNext"),
        ("\n", ["\n", "  continued"], "  continued"),
        (" ", [" word"], "word"),
        ("", [" word"], " word"),
        ("", ["word"], "word"),
    ],
    ids=["none", "same", "more", "indent", "space", "no-trailing", "mid-word"],
)
async def test_prefill_whitespace_restored(fake, tmp_path, draft_end, reply, expected):
    fake.default_reply = Reply(text=reply)
    prompt = make_prompt("# Title\n\nSome text." + draft_end)

    text, _ = await generate(make_backend(fake, tmp_path), prompt)

    [request] = fake.requests
    assert request.body["messages"][-1]["content"][-1]["text"] == prompt.body.rstrip()
    assert text == expected


async def test_prefill_rejected_fallback(fake, tmp_path):
    fake.reject_prefill.add("claude-haiku-4-5")
    backend = make_backend(fake, tmp_path)

    text, info = await generate(backend)

    first, second = fake.requests
    assert first.status == 400
    assert first.body["messages"][-1]["role"] == "assistant"
    assert second.status == 200
    assert second.body["messages"][-1]["role"] == "user"
    assert text == "The fake model continues the draft."
    assert info.details["framing"] == "no-prefill"
    assert backend.identity()["framing"] == "no-prefill"
    stored = json.loads((tmp_path / "cache" / MEMORY_FILE).read_text())
    assert stored["models"]["claude-haiku-4-5"]["prefill"] is False


async def test_prefill_rejection_remembered(fake, tmp_path):
    fake.reject_prefill.add("claude-haiku-4-5")
    await generate(make_backend(fake, tmp_path))
    fake.reset()

    later = make_backend(fake, tmp_path)
    await generate(later)

    [request] = fake.requests
    assert request.body["messages"][-1]["role"] == "user"
    assert later.identity()["framing"] == "no-prefill"


async def test_prefill_skipped_known_model(fake, tmp_path):
    backend = make_backend(fake, tmp_path, model="claude-opus-4-6")

    await generate(backend)

    [request] = fake.requests
    assert request.body["messages"][-1]["role"] == "user"


async def test_prefill_setting_rejected(fake, tmp_path):
    fake.reject_prefill.add("claude-haiku-4-5")
    backend = make_backend(fake, tmp_path, framing="prefill")

    with pytest.raises(BackendError, match="anthropic.framing") as raised:
        await generate(backend)

    assert not raised.value.retryable
    assert len(fake.requests) == 1


async def test_no_prefill_request_shape(fake, tmp_path):
    backend = make_backend(fake, tmp_path, framing="no-prefill")
    prompt = make_prompt()

    await generate(backend, prompt)

    [request] = fake.requests
    body = request.body
    messages = body["messages"]
    assert texts(body["system"]) == [NO_PREFILL_SYSTEM]
    assert [message["role"] for message in messages] == ["user", "assistant", "user", "assistant", "user"]
    final = messages[-1]["content"]
    assert final[0]["text"].endswith(prompt.prefix)
    assert final[0]["cache_control"] == {"type": "ephemeral"}
    assert final[-1]["text"].endswith(f"<draft>\n{prompt.body}</draft>")
    assert breakpoints(body) == [("message", len(messages) - 1, 0)]
    for example_request, example_reply in zip(messages[0:-1:2], messages[1:-1:2]):
        [question] = texts(example_request["content"])
        [continuation] = texts(example_reply["content"])
        draft = question.split("<draft>\n", 1)[1].removesuffix("</draft>")
        marker, head = draft.split("\n", 1)
        source = next(chunk for chunk in EXCERPTS if file_marker(chunk.path) == marker + "\n")
        assert head + continuation in source.text
        assert head.rstrip()[-1] in ".!?"
        assert prompt.prefix not in question


def test_examples_cut_both_ways():
    examples = cut_examples(EXCERPTS)

    assert [path for path, _, _ in examples] == ["notes/fridays.md", "notes/notebook.md"]
    (_, fridays_head, fridays_tail), (_, notebook_head, notebook_tail) = examples
    assert fridays_head + fridays_tail in FRIDAYS
    assert notebook_head + notebook_tail == NOTEBOOK
    assert fridays_tail.startswith(" ")
    assert notebook_tail.startswith(" ")


def test_examples_paragraph_cut():
    second = Chunk("notes/b.md", "B", (), FRIDAYS, 0, 1)
    first = Chunk("notes/a.md", "A", (), FRIDAYS + " And a longer tail sentence here.", 0, 0)

    examples = cut_examples((first, second))

    assert examples[0][2].startswith(" ")
    assert examples[1][1].endswith("\n\n")
    assert not examples[1][2][0].isspace()


def test_examples_skip_short_excerpts():
    short = Chunk("notes/short.md", "Short", (), "Too short. To cut.", 0, 0)

    assert cut_examples((short,)) == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (["Here is the continuation:\n\n", "It was a long week."], "It was a long week."),
        (["Sure! Here's how the draft continues:\n", "It was"], "It was"),
        (["Here is the list:\n- one"], "Here is the list:\n- one"),
        (["Continuous integration:\nruns"], "Continuous integration:\nruns"),
    ],
    ids=["continuation", "sure", "author-list", "author-heading"],
)
async def test_no_prefill_preamble(fake, tmp_path, reply, expected):
    fake.default_reply = Reply(text=reply)
    backend = make_backend(fake, tmp_path, framing="no-prefill")

    text, _ = await generate(backend)

    assert text == expected


async def test_missing_key(fake, tmp_path):
    backend = make_backend(fake, tmp_path, environ={})

    with pytest.raises(BackendUnavailable, match="ANTHROPIC_API_KEY"):
        await generate(backend)

    assert fake.requests == []


async def test_missing_key_custom_variable(fake, tmp_path):
    backend = make_backend(
        fake, tmp_path, environ={"ANTHROPIC_API_KEY": TEST_API_KEY}, api_key_env="WRITER_KEY"
    )

    await backend.prepare()
    with pytest.raises(BackendUnavailable, match="WRITER_KEY"):
        await generate(backend)
    assert fake.requests == []


async def test_invalid_key(fake, tmp_path):
    backend = make_backend(fake, tmp_path, environ={"ANTHROPIC_API_KEY": "sk-ant-wrong"})

    with pytest.raises(BackendUnavailable, match="ANTHROPIC_API_KEY") as raised:
        await generate(backend)

    assert "invalid" in str(raised.value)
    [request] = fake.requests
    assert request.status == 401
    assert request.api_key_present
    assert not request.api_key_valid


async def test_rate_limit_retry_after(fake, tmp_path, caplog):
    fake.push(Reply(status=429, retry_after=0.2))
    caplog.set_level(logging.WARNING, logger="amplifier_ls.backends.anthropic")

    text, info = await generate(make_backend(fake, tmp_path))

    assert [request.status for request in fake.requests] == [429, 200]
    assert text == "The fake model continues the draft."
    assert info.details["attempts"] == 2
    assert any("retry 1 of 2 in 0.2 s" in record.getMessage() for record in caplog.records)


async def test_rate_limit_long_wait(fake, tmp_path):
    fake.push(Reply(status=429, retry_after=120))

    with pytest.raises(BackendError, match="120 s") as raised:
        await generate(make_backend(fake, tmp_path))

    assert raised.value.retryable
    assert len(fake.requests) == 1


async def test_overloaded_then_success(fake, tmp_path):
    fake.push(Reply(status=529), times=2)

    text, _ = await generate(make_backend(fake, tmp_path, max_retries=2))

    assert [request.status for request in fake.requests] == [529, 529, 200]
    assert text == "The fake model continues the draft."


async def test_overloaded_exhausted(fake, tmp_path):
    fake.push(Reply(status=529), times=3)

    with pytest.raises(BackendError, match="overloaded") as raised:
        await generate(make_backend(fake, tmp_path, max_retries=2))

    assert raised.value.retryable
    assert "2 retries" in str(raised.value)
    assert len(fake.requests) == 3


async def test_rate_limit_exhausted(fake, tmp_path):
    fake.push(Reply(status=429, retry_after=0), times=2)

    with pytest.raises(BackendError, match="429") as raised:
        await generate(make_backend(fake, tmp_path, max_retries=1))

    assert raised.value.retryable
    assert len(fake.requests) == 2


async def test_stream_error_before_text(fake, tmp_path):
    fake.push(Reply(stream_error="overloaded_error"))

    text, info = await generate(make_backend(fake, tmp_path))

    assert len(fake.requests) == 2
    assert text == "The fake model continues the draft."
    assert info.details["attempts"] == 2


async def test_stream_error_after_text(fake, tmp_path):
    fake.push(
        Reply(text="One two three four.", stream_error="overloaded_error", stream_error_after_text=True)
    )
    backend = make_backend(fake, tmp_path, framing="prefill")
    info = GenerationInfo()
    received = []

    with pytest.raises(BackendError, match="partial prediction was discarded") as raised:
        async with contextlib.aclosing(
            backend.stream(GenerationRequest(prompt=make_prompt(), max_tokens=50), info)
        ) as pieces:
            async for piece in pieces:
                received.append(piece)

    assert received == ["One "]
    assert raised.value.retryable
    assert len(fake.requests) == 1


async def test_dropped_connection(fake, tmp_path):
    fake.push(Reply(text=["One ", "two ", "three ", "four."], drop_after_events=5))

    with pytest.raises(BackendError, match="ended before the response was complete"):
        await generate(make_backend(fake, tmp_path))

    [request] = fake.requests
    assert request.events_sent == 5


async def test_dropped_before_text(fake, tmp_path):
    fake.push(Reply(drop_after_events=1))

    text, _ = await generate(make_backend(fake, tmp_path))

    assert len(fake.requests) == 2
    assert text == "The fake model continues the draft."


async def test_usage_and_cost(fake, tmp_path):
    backend = make_backend(fake, tmp_path, model="claude-haiku-4-5")

    _, first = await generate(backend, make_prompt("First draft text."))
    _, second = await generate(backend, make_prompt("First draft text, now longer."))

    assert first.cache_creation_input_tokens > 0
    assert first.cache_read_input_tokens == 0
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens > 0
    assert second.output_tokens > 0
    prices = prices_for("claude-haiku-4-5")
    expected = (
        second.input_tokens * prices.input
        + second.cache_read_input_tokens * prices.cache_read
        + second.output_tokens * prices.output
    ) / 1_000_000
    assert second.cost_usd == pytest.approx(expected)
    assert prices.cache_read == pytest.approx(prices.input * 0.1)
    assert prices.cache_write == pytest.approx(prices.input * 1.25)


async def test_cost_unknown_model(fake, tmp_path):
    _, info = await generate(make_backend(fake, tmp_path, model="house-proxy-model"))

    assert info.cost_usd is None
    assert info.output_tokens > 0


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        ("claude-opus-4-7", {}),
        ("claude-sonnet-5-5", {"thinking": {"type": "disabled"}}),
        ("claude-haiku-4-5-20251001", {"temperature": 0.3}),
        ("claude-opus-4-6", {"temperature": 0.3}),
    ],
)
async def test_optional_parameters_sent(fake, tmp_path, model, sent):
    backend = make_backend(fake, tmp_path, model=model)

    await generate(backend, sampling=Sampling(temperature=0.3, top_p=0.8))

    [request] = fake.requests
    optional = ("temperature", "top_p", "top_k", "thinking", "output_config")
    assert {name: request.body[name] for name in optional if name in request.body} == sent


async def test_sampling_temperature_clamped(fake, tmp_path):
    await generate(make_backend(fake, tmp_path), sampling=Sampling(temperature=1.6))

    [request] = fake.requests
    assert request.body["temperature"] == 1.0


async def test_sampling_rejection_learned(fake, tmp_path):
    fake.reject_sampling.add("house-proxy-model")

    text, _ = await generate(make_backend(fake, tmp_path, model="house-proxy-model"))

    first, second = fake.requests
    assert first.status == 400
    assert "temperature" in first.body
    assert "temperature" not in second.body
    assert text == "The fake model continues the draft."
    fake.reset()
    await generate(make_backend(fake, tmp_path, model="house-proxy-model"))
    [later] = fake.requests
    assert later.status == 200
    assert "temperature" not in later.body


async def test_thinking_rejection_learned(fake, tmp_path):
    fake.always_thinking.add("claude-opus-5-5")
    fake.default_reply = Reply(thinking="Short sentences, dry tone.", text="It broke.")

    text, _ = await generate(make_backend(fake, tmp_path, model="claude-opus-5-5"), max_tokens=200)

    first, second = fake.requests
    assert first.status == 400
    assert first.body["thinking"] == {"type": "disabled"}
    assert "thinking" not in second.body
    assert second.body["output_config"] == {"effort": "low"}
    assert second.body["max_tokens"] == 200 + anthropic_backend.THINKING_ALLOWANCE
    assert text == "It broke."
    fake.reset()
    await generate(make_backend(fake, tmp_path, model="claude-opus-5-5"))
    [later] = fake.requests
    assert later.status == 200


async def test_stop_sequences(fake, tmp_path):
    fake.default_reply = Reply(text=["One.\n", "\nTwo. THE END", " Three."])
    backend = make_backend(fake, tmp_path)

    text, info = await generate(backend, stop=("\n\n", "THE END", "   "))

    [request] = fake.requests
    assert request.body["stop_sequences"] == ["THE END"]
    assert text == "One."
    assert info.finish_reason == "stop"
    assert info.details["stop_sequence"] == "\n\n"


async def test_stop_sequence_server_side(fake, tmp_path):
    fake.default_reply = Reply(text="One two. THE END and more.")

    text, info = await generate(make_backend(fake, tmp_path), stop=("THE END",))

    assert text == "One two. "
    assert info.finish_reason == "stop"
    assert info.details["stop_reason"] == "stop_sequence"


async def test_max_tokens_finish(fake, tmp_path):
    fake.default_reply = Reply(text="word " * 40)

    text, info = await generate(make_backend(fake, tmp_path), max_tokens=5)

    assert text == ("word " * 4)
    assert info.finish_reason == "length"


async def test_thinking_block_ignored(fake, tmp_path):
    fake.default_reply = Reply(thinking="The author writes short sentences.", text="It broke.")

    text, _ = await generate(make_backend(fake, tmp_path, model="claude-sonnet-5"))

    assert text == "It broke."


async def test_close_disconnects(fake, tmp_path):
    fake.default_reply = Reply(text=[f"word{i} " for i in range(200)], delay=0.02)
    backend = make_backend(fake, tmp_path)
    info = GenerationInfo()

    stream = backend.stream(GenerationRequest(prompt=make_prompt(), max_tokens=1000), info)
    first = await anext(stream)
    await stream.aclose()

    assert first.startswith("word0")
    assert await asyncio.to_thread(fake.wait_for_disconnect, 10)
    [request] = fake.requests
    assert request.disconnected


async def test_cancel_disconnects(fake, tmp_path):
    fake.default_reply = Reply(text=[f"word{i} " for i in range(200)], delay=0.02)
    backend = make_backend(fake, tmp_path)
    started = asyncio.Event()

    async def consume():
        request = GenerationRequest(prompt=make_prompt(), max_tokens=1000)
        async with contextlib.aclosing(backend.stream(request, GenerationInfo())) as pieces:
            async for _ in pieces:
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await asyncio.to_thread(fake.wait_for_disconnect, 10)


@pytest.mark.parametrize("framing", ["prefill", "no-prefill"])
async def test_prefix_byte_identical(fake, tmp_path, framing):
    backend = make_backend(fake, tmp_path, framing=framing)

    await generate(backend, make_prompt("# On rollbacks\n\nI used to"))
    _, later = await generate(
        backend, make_prompt("# On rollbacks\n\nI used to think rollbacks were a luxury. Then")
    )

    first, second = fake.requests
    assert first.body != second.body
    assert up_to_breakpoint(first.body) == up_to_breakpoint(second.body)
    assert later.cache_read_input_tokens > 0


async def test_prompt_too_long(tmp_path):
    with FakeAnthropicServer(context_tokens=100) as server:
        with pytest.raises(PromptTooLarge):
            await generate(make_backend(server, tmp_path))

        assert len(server.requests) == 1


async def test_base_url_from_environment(fake, tmp_path):
    backend = make_backend(
        fake,
        tmp_path,
        base_url="",
        environ={"ANTHROPIC_API_KEY": TEST_API_KEY, "ANTHROPIC_BASE_URL": fake.base_url},
    )

    text, _ = await generate(backend)

    assert backend.base_url == fake.base_url
    assert text == "The fake model continues the draft."


async def test_key_not_logged(fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake.push(Reply(status=529))

    await generate(make_backend(fake, tmp_path))

    assert caplog.records
    assert all(TEST_API_KEY not in record.getMessage() for record in caplog.records)


def test_capabilities(tmp_path):
    backend = AnthropicBackend(AnthropicSettings(max_concurrency=5), "", None, environ={})

    capabilities = backend.capabilities()

    assert backend.model == "claude-haiku-4-5"
    assert capabilities.context_window == 200_000
    assert capabilities.max_concurrency == 5
    assert capabilities.reuses_prefix


async def test_fake_runs_as_script(tmp_path):
    script = Path(__file__).parent / "fakes" / "anthropic_server.py"
    with subprocess.Popen(
        [sys.executable, str(script), "--port", "0"], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            line = await asyncio.to_thread(process.stdout.readline)
            assert line.startswith("READY http://127.0.0.1:")
            base_url = line.split(" ", 1)[1].strip()
            replies = json.dumps(
                [{"text": "From the script.", "status": 529, "times": 1}, {"text": "From the script."}]
            )
            await asyncio.to_thread(post_json, f"{base_url}/_fake/replies", replies)
            backend = AnthropicBackend(
                AnthropicSettings(base_url=base_url),
                "",
                tmp_path,
                environ={"ANTHROPIC_API_KEY": TEST_API_KEY},
            )
            OPEN_BACKENDS.append(backend)

            text, _ = await generate(backend)

            recorded = await asyncio.to_thread(get_json, f"{base_url}/_fake/requests")
        finally:
            process.terminate()
            process.wait(timeout=10)

    assert text == "From the script."
    assert [request["status"] for request in recorded] == [529, 200]
    assert all(request["api_key_valid"] for request in recorded)
    assert process.returncode == 0


def post_json(url: str, data: str) -> None:
    request = urllib.request.Request(url, data=data.encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.mark.parametrize(
    ("headers", "status", "error_type"),
    [
        ({"x-api-key": TEST_API_KEY, "anthropic-version": "2023-06-01"}, 200, None),
        ({"x-api-key": TEST_API_KEY}, 400, "invalid_request_error"),
        ({"anthropic-version": "2023-06-01"}, 401, "authentication_error"),
        ({"x-api-key": "sk-ant-wrong", "anthropic-version": "2023-06-01"}, 401, "authentication_error"),
    ],
    ids=["valid", "no-version", "no-key", "wrong-key"],
)
def test_fake_checks_headers(fake, headers, status, error_type):
    body = json.dumps(
        {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}]}
    )
    request = urllib.request.Request(
        f"{fake.base_url}/v1/messages",
        data=body.encode(),
        headers={"content-type": "application/json", **headers},
    )

    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            received_status, payload, request_id = (
                response.status,
                json.load(response),
                response.headers["request-id"],
            )
    except urllib.error.HTTPError as error:
        received_status, payload, request_id = error.code, json.load(error), error.headers["request-id"]
        error.close()

    assert received_status == status
    assert request_id == fake.requests[0].request_id
    if error_type is None:
        assert payload["content"] == [{"type": "text", "text": "The fake model continues the draft."}]
    else:
        assert payload["type"] == "error"
        assert payload["error"]["type"] == error_type
        assert payload["request_id"] == request_id
