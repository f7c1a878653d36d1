"""The openai backend against the fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from datetime import datetime, timezone
from typing import Any

import pytest

from amplifier_ls.backends.base import GenerationInfo, GenerationRequest, Sampling
from amplifier_ls.backends.openai import OpenAIBackend, StopFilter, iter_sse, parse_retry_after
from amplifier_ls.errors import BackendError, BackendUnavailable, PromptTooLarge
from amplifier_ls.prompt import Prompt
from amplifier_ls.settings import OpenAISettings
from fakes.openai_server import FakeOpenAIServer

TEXT = "The archive grows one note at a time, and every note is short."
LONG_TEXT = " ".join(f"word{index}" for index in range(400))
SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def fake():
    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 1}}) as server:
        yield server


@pytest.fixture
async def make_backend():
    backends: list[OpenAIBackend] = []

    def make(server: FakeOpenAIServer | None = None, model: str = "", environ=None, **settings: Any) -> OpenAIBackend:
        if server is not None:
            settings.setdefault("base_url", server.base_url)
        settings.setdefault("max_retries", 2)
        backend = OpenAIBackend(OpenAISettings(**settings), model, environ if environ is not None else {})
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.aclose()


def request(body: str = "Draft: ", max_tokens: int = 200, stop: tuple[str, ...] = (), **sampling: Any) -> GenerationRequest:
    prompt = Prompt(prefix="==> notes/old.md <==\nAn older note.\n\n", body=f"==> draft.md <==\n{body}")
    return GenerationRequest(prompt=prompt, max_tokens=max_tokens, stop=stop, sampling=Sampling(**sampling))


async def collect(backend: OpenAIBackend, generation: GenerationRequest, info: GenerationInfo | None = None) -> list[str]:
    pieces = []
    async with contextlib.aclosing(backend.stream(generation, info or GenerationInfo())) as stream:
        async for piece in stream:
            pieces.append(piece)
    return pieces


def completion_bodies(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    return [entry["body"] for entry in server.requests if entry["path"] == "/v1/completions"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_stream_assembles_text(fake, make_backend):
    info = GenerationInfo()
    pieces = await collect(make_backend(fake), request(), info)

    assert "".join(pieces) == TEXT
    assert len(pieces) == len(TEXT.split())
    assert info.finish_reason == "stop"
    assert fake.stats["completions_finished"] == 1


async def test_stream_char_chunks_unicode(fake, make_backend):
    text = "Naïve café, 東京 and 🙂 survive the stream."
    fake.set_script({"default": {"text": text, "chunk": "char", "delay_ms": 0}})

    pieces = await collect(make_backend(fake), request())

    assert "".join(pieces) == text


async def test_request_body_fields(fake, make_backend):
    generation = request(max_tokens=42, temperature=0.3, top_p=0.8, min_p=0.1, repeat_penalty=1.2, repeat_last_n=64)
    await collect(make_backend(fake, model="fake-model"), generation)

    body = completion_bodies(fake)[-1]
    assert body["prompt"] == generation.prompt.text
    assert body["model"] == "fake-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 42
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.8
    assert body["min_p"] == 0.1
    assert body["repetition_penalty"] == 1.2
    assert body["repeat_penalty"] == 1.2
    assert body["repeat_last_n"] == 64
    assert body["cache_prompt"] is True
    assert "seed" not in body
    assert "stop" not in body


async def test_request_body_seed(fake, make_backend):
    await collect(make_backend(fake), request(seed=1234))

    assert completion_bodies(fake)[-1]["seed"] == 1234


async def test_stop_sequence_at_server(fake, make_backend):
    info = GenerationInfo()
    pieces = await collect(make_backend(fake), request(stop=(", and",)), info)

    assert "".join(pieces) == "The archive grows one note at a time"
    assert completion_bodies(fake)[-1]["stop"] == [", and"]
    assert info.finish_reason == "stop"


async def test_stop_sequences_beyond_four(fake, make_backend):
    fake.set_script({"default": {"text": "First part.\n\nSecond part " + LONG_TEXT, "delay_ms": 5}})
    stops = ("<a>", "<b>", "<c>", "<d>", "\n\n")
    info = GenerationInfo()

    pieces = await collect(make_backend(fake), request(stop=stops), info)

    assert "".join(pieces) == "First part."
    assert completion_bodies(fake)[-1]["stop"] == ["<a>", "<b>", "<c>", "<d>"]
    assert info.finish_reason == "stop"
    stats = fake.wait_for(lambda stats: stats["completions_disconnected"] == 1)
    assert stats["completions_finished"] == 0


async def test_stop_split_across_chunks(fake, make_backend):
    fake.set_script({"default": {"text": "Keep this. STOP HERE and not this.", "chunk": "char", "delay_ms": 0}})
    stops = ("<a>", "<b>", "<c>", "<d>", "STOP HERE")

    pieces = await collect(make_backend(fake), request(stop=stops))

    assert "".join(pieces) == "Keep this. "


async def test_max_tokens_length(fake, make_backend):
    info = GenerationInfo()
    pieces = await collect(make_backend(fake), request(max_tokens=3), info)

    assert "".join(pieces) == "The archive grows"
    assert info.finish_reason == "length"
    assert info.output_tokens == 3


async def test_usage_vllm(fake, make_backend):
    generation = request()
    info = GenerationInfo()
    await collect(make_backend(fake), generation, info)

    assert info.input_tokens == len(generation.prompt.text.split())
    assert info.output_tokens == len(TEXT.split())


async def test_usage_llama_cpp(fake, make_backend):
    fake.set_script({"default": {"text": TEXT, "flavor": "llama.cpp", "delay_ms": 0}})
    generation = request()
    info = GenerationInfo()

    pieces = await collect(make_backend(fake), generation, info)

    assert "".join(pieces) == TEXT
    assert info.input_tokens == len(generation.prompt.text.split())
    assert info.output_tokens == len(TEXT.split())
    assert info.details["timings"]["predicted_n"] == len(TEXT.split())


async def test_model_discovery(fake, make_backend):
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0}, "models": ["first-model", "second-model"]})
    backend = make_backend(fake)

    await backend.prepare()
    await collect(backend, request())
    await collect(backend, request())

    assert backend.model == "first-model"
    assert backend.identity() == {"backend": "openai", "base_url": fake.base_url, "model": "first-model"}
    assert [body["model"] for body in completion_bodies(fake)] == ["first-model", "first-model"]
    assert fake.stats["model_requests"] == 1


async def test_model_discovery_on_first_stream(fake, make_backend):
    backend = make_backend(fake)

    await collect(backend, request())

    assert backend.model == "fake-model"
    assert fake.stats["model_requests"] == 1


async def test_model_discovery_empty_list(fake, make_backend):
    fake.set_script({"models": []})

    with pytest.raises(BackendUnavailable) as caught:
        await collect(make_backend(fake), request())

    assert "lists no models" in str(caught.value)
    assert "`model`" in str(caught.value)
    assert fake.stats["completion_requests"] == 0


async def test_configured_model_skips_discovery(fake, make_backend):
    await collect(make_backend(fake, model="my-model"), request())

    assert completion_bodies(fake)[-1]["model"] == "my-model"
    assert fake.stats["model_requests"] == 0


async def test_authorization_sent_when_set(fake, make_backend, caplog):
    caplog.set_level(logging.DEBUG)
    backend = make_backend(fake, environ={"MY_KEY": SECRET}, api_key_env="MY_KEY")

    await collect(backend, request())

    assert len(fake.requests) == 2
    for entry in fake.requests:
        assert entry["headers"]["authorization"] == f"Bearer {SECRET}"
    assert caplog.records
    assert SECRET not in caplog.text


async def test_authorization_absent_when_unset(fake, make_backend):
    await collect(make_backend(fake, environ={"OTHER": SECRET}, api_key_env="MY_KEY"), request())

    for entry in fake.requests:
        assert "authorization" not in entry["headers"]


async def test_authorization_absent_without_variable_name(fake, make_backend):
    await collect(make_backend(fake, environ={"OPENAI_API_KEY": SECRET}, api_key_env=""), request())

    for entry in fake.requests:
        assert "authorization" not in entry["headers"]


async def test_unauthorized_names_variable(fake, make_backend, caplog):
    caplog.set_level(logging.DEBUG)
    fake.set_script({"require_api_key": "the-right-key"})

    with pytest.raises(BackendUnavailable) as missing:
        await collect(make_backend(fake, model="m", api_key_env="MY_KEY"), request())
    with pytest.raises(BackendUnavailable) as wrong:
        await collect(make_backend(fake, model="m", environ={"MY_KEY": SECRET}, api_key_env="MY_KEY"), request())

    assert "set the environment variable MY_KEY" in str(missing.value)
    assert "rejected the API key in MY_KEY" in str(wrong.value)
    assert SECRET not in str(wrong.value)
    assert SECRET not in caplog.text


async def test_unauthorized_model_list(fake, make_backend):
    fake.set_script({"require_api_key": "the-right-key"})

    with pytest.raises(BackendUnavailable) as caught:
        await collect(make_backend(fake, api_key_env="MY_KEY"), request())

    assert "MY_KEY" in str(caught.value)


async def test_http_500_clear_error(fake, make_backend):
    fake.set_script({"default": {"fail": {"status": 500, "message": "CUDA out of memory"}}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake), request())

    message = str(caught.value)
    assert "HTTP 500" in message
    assert "CUDA out of memory" in message
    assert "\n" not in message
    assert caught.value.retryable is False
    assert fake.stats["completion_requests"] == 1


async def test_http_500_message_truncated(fake, make_backend):
    fake.set_script({"default": {"fail": {"status": 500, "message": "stack frame " * 200}}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake), request())

    assert len(str(caught.value)) < 400
    assert "…" in str(caught.value)


async def test_429_retry_then_success(fake, make_backend):
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0, "fail": {"status": 429, "retry_after": 0, "times": 2}}})

    pieces = await collect(make_backend(fake, model="m", max_retries=2), request())

    assert "".join(pieces) == TEXT
    assert fake.stats["failures_sent"] == 2
    assert fake.stats["completion_requests"] == 3


async def test_503_retry_after_http_date(fake, make_backend):
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0, "fail": {"status": 503, "retry_after": past, "times": 1}}})

    pieces = await collect(make_backend(fake, model="m"), request())

    assert "".join(pieces) == TEXT
    assert fake.stats["completion_requests"] == 2


async def test_429_forever(fake, make_backend):
    fake.set_script({"default": {"fail": {"status": 429, "retry_after": 0}}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake, model="m", max_retries=2), request())

    assert caught.value.retryable is True
    assert "rate limiting" in str(caught.value)
    assert "openai.max_retries" in str(caught.value)
    assert fake.stats["completion_requests"] == 3


async def test_429_without_retries(fake, make_backend):
    fake.set_script({"default": {"fail": {"status": 429, "retry_after": 0}}})

    with pytest.raises(BackendError):
        await collect(make_backend(fake, model="m", max_retries=0), request())

    assert fake.stats["completion_requests"] == 1


async def test_retry_after_too_long(fake, make_backend):
    fake.set_script({"default": {"fail": {"status": 429, "retry_after": 3600}}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake, model="m"), request())

    assert "requests a wait of 3600 s" in str(caught.value)
    assert fake.stats["completion_requests"] == 1


async def test_503_overloaded(fake, make_backend):
    fake.set_script({"default": {"fail": {"status": 503, "retry_after": 0}}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake, model="m", max_retries=1), request())

    assert caught.value.retryable is True
    assert "HTTP 503" in str(caught.value)
    assert fake.stats["completion_requests"] == 2


@pytest.mark.parametrize("drop", ["close", "end"])
async def test_connection_dropped_mid_stream(fake, make_backend, drop):
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0, "drop_after_chars": 20, "drop": drop}})
    pieces: list[str] = []

    with pytest.raises(BackendError) as caught:
        async with contextlib.aclosing(make_backend(fake).stream(request(), GenerationInfo())) as stream:
            async for piece in stream:
                pieces.append(piece)

    assert "closed the connection before the completion finished" in str(caught.value)
    assert "partial text was discarded" in str(caught.value)
    assert "".join(pieces) == TEXT[:20]
    assert fake.stats["completions_dropped"] == 1


async def test_unreachable_port(make_backend):
    base_url = f"http://127.0.0.1:{free_port()}/v1"

    with pytest.raises(BackendUnavailable) as caught:
        await collect(make_backend(base_url=base_url, model="m"), request())

    assert "openai.base_url" in str(caught.value)
    assert base_url in str(caught.value)


@pytest.mark.parametrize("base_url", ["127.0.0.1:8000/v1", "ftp://127.0.0.1/v1", "http://127.0.0.1:99999/v1"])
async def test_invalid_base_url(make_backend, base_url):
    with pytest.raises(BackendUnavailable) as caught:
        await collect(make_backend(base_url=base_url, model="m"), request())

    assert "openai.base_url is not a valid http(s) URL" in str(caught.value)


async def test_read_timeout(fake, make_backend):
    fake.set_script({"default": {"text": TEXT, "delay_ms": 5000}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake, model="m", timeout=0.2), request())

    assert "openai.timeout" in str(caught.value)
    assert not isinstance(caught.value, BackendUnavailable)


async def test_cancel_mid_stream(fake, make_backend):
    fake.set_script({"default": {"text": LONG_TEXT, "delay_ms": 10}})
    backend = make_backend(fake, model="m")
    first_piece = asyncio.Event()
    pieces: list[str] = []

    async def consume() -> None:
        async with contextlib.aclosing(backend.stream(request(), GenerationInfo())) as stream:
            async for piece in stream:
                pieces.append(piece)
                first_piece.set()

    task = asyncio.create_task(consume())
    await first_piece.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    stats = fake.wait_for(lambda stats: stats["completions_disconnected"] == 1)
    assert stats["completions_finished"] == 0
    assert stats["completions_started"] == 1
    assert 0 < len(pieces) < len(LONG_TEXT.split())


async def test_close_stream_early(fake, make_backend):
    fake.set_script({"default": {"text": LONG_TEXT, "delay_ms": 10}})
    backend = make_backend(fake, model="m")

    async with contextlib.aclosing(backend.stream(request(), GenerationInfo())) as stream:
        async for piece in stream:
            break

    stats = fake.wait_for(lambda stats: stats["completions_disconnected"] == 1)
    assert stats["completions_finished"] == 0


@pytest.mark.parametrize("flavor", ["vllm", "llama.cpp"])
async def test_error_inside_stream(fake, make_backend, flavor):
    stream_error = {"after_chars": 12, "message": "engine core died unexpectedly"}
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0, "flavor": flavor, "stream_error": stream_error}})

    with pytest.raises(BackendError) as caught:
        await collect(make_backend(fake, model="m"), request())

    assert "engine core died unexpectedly" in str(caught.value)
    assert "during the completion" in str(caught.value)


async def test_context_length_exceeded(fake, make_backend):
    fake.set_script({"context_window": 20})

    with pytest.raises(PromptTooLarge) as caught:
        await collect(make_backend(fake, model="m"), request(max_tokens=200))

    assert "maximum context length is 20 tokens" in str(caught.value)
    assert "corpus.budget_tokens" in str(caught.value)


async def test_unknown_model_404(fake, make_backend):
    fake.set_script({"reject_unknown_models": True})

    with pytest.raises(BackendUnavailable) as caught:
        await collect(make_backend(fake, model="no-such-model"), request())

    message = str(caught.value)
    assert '"no-such-model"' in message
    assert fake.base_url in message
    assert "HTTP 404" in message


async def test_strict_server_gets_openai_fields(fake, make_backend):
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0}, "openai_strict": True})
    backend = make_backend(fake, model="m")
    stops = ("<a>", "<b>", "<c>", "<d>", "<e>")

    first = await collect(backend, request(stop=stops))
    second = await collect(backend, request(stop=stops))

    assert "".join(first) == TEXT
    assert "".join(second) == TEXT
    bodies = completion_bodies(fake)
    assert len(bodies) == 3
    assert "min_p" in bodies[0]
    for body in bodies[1:]:
        assert not {"min_p", "repetition_penalty", "repeat_penalty", "repeat_last_n", "cache_prompt"} & set(body)


async def test_concurrent_streams(fake, make_backend):
    rules = [{"when_prompt_contains": f"topic {index}", "text": f"Answer {index} in a few words."} for index in range(4)]
    fake.set_script({"default": {"delay_ms": 2}, "rules": rules})
    backend = make_backend(fake)

    results = await asyncio.gather(*(collect(backend, request(f"topic {index}")) for index in range(4)))

    for index, pieces in enumerate(results):
        assert "".join(pieces) == f"Answer {index} in a few words."
    assert fake.stats["model_requests"] == 1


def test_capabilities_and_identity():
    settings = OpenAISettings(base_url="http://127.0.0.1:8000/v1/")
    default = OpenAIBackend(settings, "base-7b", {})
    larger = OpenAIBackend(settings, "base-7b", {}, context_window=32768)

    assert default.capabilities().context_window == 8192
    assert default.capabilities().max_concurrency == 4
    assert default.capabilities().reuses_prefix is True
    assert larger.capabilities().context_window == 32768
    assert default.identity() == {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "base-7b"}


@pytest.mark.parametrize(
    ("pieces", "stops", "expected", "stopped"),
    [
        (["Hel", "lo ST", "OP more"], ["STOP"], "Hello ", True),
        (["ab", "c"], ["abd"], "abc", False),
        (["one\n", "\ntwo"], ["\n\n", "two"], "one", True),
        (["no stops here"], [], "no stops here", False),
        (["x<", "b>y"], ["<a>", "<b>"], "x", True),
    ],
    ids=["split", "false-prefix", "earliest", "none", "second-stop"],
)
def test_stop_filter(pieces, stops, expected, stopped):
    stop_filter = StopFilter(stops)
    output = ""
    found = False
    for piece in pieces:
        text, found = stop_filter.feed(piece)
        output += text
        if found:
            break
    if not found:
        output += stop_filter.flush()

    assert output == expected
    assert found is stopped


async def test_iter_sse_fields():
    async def lines():
        for line in [": keep-alive", "data: {\"a\": 1}", "", "event: ping", "data: one", "data: two", "",
                     "error: {\"message\": \"boom\"}", "", "data: cut off"]:
            yield line

    events = [event async for event in iter_sse(lines())]

    assert events == [("message", '{"a": 1}'), ("ping", "one\ntwo"), ("error", '{"message": "boom"}')]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), ("1.5", 1.5), ("-3", 0.0), ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0), ("soon", None), (None, None)],
    ids=["seconds", "fraction", "negative", "http-date", "invalid", "absent"],
)
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)

    assert parse_retry_after(value, now) == expected
