"""A fake Anthropic Messages API on 127.0.0.1: POST /v1/messages, streamed or not.

It speaks the documented wire format. A streamed reply is a chunked text/event-stream of
message_start (usage with cache_creation_input_tokens and cache_read_input_tokens),
content_block_start, ping, content_block_delta (text_delta), content_block_stop,
message_delta (stop_reason, stop_sequence, usage.output_tokens) and message_stop. Errors
inside a stream are `event: error` with {"type": "error", "error": {...}}. HTTP errors carry
the JSON error body {"type": "error", "error": {"type", "message"}, "request_id"} and a
request-id header; 429 adds retry-after.

Like the real API, it checks the anthropic-version header and the key, sent as x-api-key
or as `Authorization: Bearer` (which the anthropic 2.x SDK uses). It returns 400
invalid_request_error for unknown fields, empty text blocks, more than 4 cache_control
breakpoints, a final assistant turn ending in whitespace, and whitespace-only stop
sequences. It also returns 400 for a prefill, sampling parameters or thinking turned off
on models configured to reject them, and for prompts longer than the configured context
window. Prompt caching is
simulated: a prefix up to a breakpoint is written on first sight and read afterwards,
counted in estimated tokens (4 characters each).

Tests script replies with `push(Reply(...), times=N)`; each request takes the next
scripted reply, else the default. Every request is recorded (JSON body, headers with key
values redacted, whether a key was present and valid, whether the client disconnected).

As a script, for tests that drive another process:
    python tests/fakes/anthropic_server.py --port 0
prints `READY http://127.0.0.1:PORT` and serves until interrupted. Such a test scripts it
with POST /_fake/replies (a JSON list of Reply fields), reads GET /_fake/requests, and
clears both with POST /_fake/reset.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEST_API_KEY = "sk-ant-test-key"
DEFAULT_REPLY = "The fake model continues the draft."
KNOWN_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "metadata",
        "cache_control",
        "thinking",
        "tools",
        "tool_choice",
        "service_tier",
        "output_config",
        "container",
        "inference_geo",
        "speed",
        "diagnostics",
    }
)
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")
MAX_CACHE_BREAKPOINTS = 4
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """The fake's response to one request."""

    text: str | list[str] = DEFAULT_REPLY
    """The reply text: a list gives the text deltas one by one, and a string is split after spaces."""
    status: int = 200
    """An HTTP error status instead of a reply (429, 529, 500...)."""
    error_message: str = ""
    retry_after: float | None = None
    """Seconds for the retry-after header of an HTTP error."""
    stream_error: str | None = None
    """An error type (overloaded_error) sent as `event: error` inside the stream."""
    stream_error_after_text: bool = False
    """Send the stream error after the first text delta instead of before it."""
    drop_after_events: int | None = None
    """Close the connection without finishing the chunked body after this many events."""
    delay: float = 0.0
    """Seconds to wait before each event after message_start."""
    stop_reason: str = "end_turn"
    thinking: str | None = None
    """Text of a thinking block sent before the text block, as thinking models do."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Request headers, with the values of x-api-key and authorization redacted."""
    body: Any
    api_key_present: bool
    api_key_valid: bool
    status: int = 0
    request_id: str = ""
    events_sent: int = 0
    disconnected: bool = False
    """The client closed the connection while the reply was being streamed."""


class FakeAnthropicServer:
    """A threaded HTTP server that fakes the Messages API, used as a context manager."""

    def __init__(
        self,
        api_key: str = TEST_API_KEY,
        port: int = 0,
        reject_prefill: tuple[str, ...] = (),
        reject_sampling: tuple[str, ...] = (),
        exclusive_sampling: tuple[str, ...] = (),
        always_thinking: tuple[str, ...] = (),
        context_tokens: int = 200_000,
        min_cache_tokens: int = 1024,
        default_reply: Reply | None = None,
    ):
        self.api_key = api_key
        self.reject_prefill = set(reject_prefill)
        """Models that reject a conversation ending with an assistant turn."""
        self.reject_sampling = set(reject_sampling)
        """Models that reject temperature, top_p and top_k."""
        self.exclusive_sampling = set(exclusive_sampling)
        """Models that reject temperature and top_p sent together."""
        self.always_thinking = set(always_thinking)
        """Models that reject thinking turned off."""
        self.context_tokens = context_tokens
        self.min_cache_tokens = min_cache_tokens
        self.default_reply = default_reply or Reply()
        self._replies: list[Reply] = []
        self._requests: list[RecordedRequest] = []
        self._cache: set[str] = set()
        self._lock = threading.Lock()
        self._disconnect = threading.Event()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAnthropicServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def push(self, reply: Reply, times: int = 1) -> None:
        """Queue `reply` for the next `times` requests."""
        with self._lock:
            self._replies.extend([reply] * times)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self._requests.clear()
            self._cache.clear()
            self._disconnect.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests to /v1/messages so far, oldest first."""
        with self._lock:
            return [request for request in self._requests if request.path.startswith("/v1/")]

    def wait_for_disconnect(self, timeout: float = 10.0) -> bool:
        """Wait until a client closes a connection in the middle of a streamed reply."""
        return self._disconnect.wait(timeout)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if self._replies else self.default_reply

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            request.request_id = f"req_fake{next(self._ids):06d}"
            self._requests.append(request)

    def _account_cache(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """Return (input, cache write, cache read) token counts, updating the simulated cache."""
        blocks = _prompt_blocks(body)
        total = sum(tokens for _, tokens, _ in blocks)
        breakpoints = [index for index, (_, _, marked) in enumerate(blocks) if marked]
        if not breakpoints:
            return total, 0, 0

        keys = []
        digest = hashlib.sha256(str(body.get("model")).encode())
        for key, _, _ in blocks:
            digest.update(key.encode())
            keys.append(digest.hexdigest())

        def tokens_through(index: int) -> int:
            return sum(tokens for _, tokens, _ in blocks[: index + 1])

        with self._lock:
            read_through = max((b for b in breakpoints if keys[b] in self._cache), default=-1)
            last = breakpoints[-1]
            read = tokens_through(read_through) if read_through >= 0 else 0
            write = 0
            if tokens_through(last) >= self.min_cache_tokens and last > read_through:
                write = tokens_through(last) - read
            for index in breakpoints:
                if tokens_through(index) >= self.min_cache_tokens:
                    self._cache.add(keys[index])
        return total - read - write, write, read


def _prompt_blocks(body: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(cache key part, estimated tokens, has a breakpoint) per system and message block."""
    blocks: list[tuple[str, int, bool]] = []
    system = body.get("system") or []
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    for block in system:
        blocks.append(_block_entry("system", block))
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content:
            blocks.append(_block_entry(message.get("role", ""), block))
    return blocks


def _block_entry(role: str, block: dict[str, Any]) -> tuple[str, int, bool]:
    bare = {key: value for key, value in block.items() if key != "cache_control"}
    key = json.dumps([role, bare], sort_keys=True, ensure_ascii=False)
    return key, _tokens(str(block.get("text", ""))), "cache_control" in block


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _validate(fake: FakeAnthropicServer, body: Any) -> str | None:
    """The message of the 400 the real API would return for `body`, or None if it is valid."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    for name in body:
        if name not in KNOWN_FIELDS:
            return f"{name}: Extra inputs are not permitted"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"

    breakpoints = 0
    for index, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks or []:
            if block.get("type") == "text" and not block.get("text"):
                return f"messages.{index}: text content blocks must be non-empty"
            breakpoints += "cache_control" in block
    system = body.get("system")
    if isinstance(system, list):
        breakpoints += sum("cache_control" in block for block in system)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        return f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."

    model = body["model"]
    last = messages[-1]
    if last.get("role") == "assistant":
        if model in fake.reject_prefill:
            return "This model does not support assistant message prefill. The conversation must end with a user message."
        content = last.get("content")
        text = content if isinstance(content, str) else (content[-1].get("text", "") if content else "")
        if text != text.rstrip():
            return "messages: final assistant content cannot end with trailing whitespace"

    for stop in body.get("stop_sequences") or []:
        if not stop.strip():
            return "stop_sequences: each stop sequence must contain non-whitespace"

    sent = [name for name in SAMPLING_FIELDS if name in body]
    if model in fake.reject_sampling and sent:
        return f"`{sent[0]}` is deprecated for this model."
    if model in fake.exclusive_sampling and "temperature" in body and "top_p" in body:
        return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."

    thinking = body.get("thinking") or {}
    if model in fake.always_thinking and thinking.get("type") == "disabled":
        return "thinking: disabling thinking is not supported for this model"

    total = sum(tokens for _, tokens, _ in _prompt_blocks(body))
    if total > fake.context_tokens:
        return f"prompt is too long: {total} tokens > {fake.context_tokens} maximum"
    return None


def _shape_text(reply: Reply, body: dict[str, Any]) -> tuple[list[str], str, str | None]:
    """Split the reply into deltas after applying stop sequences and max_tokens."""
    pieces = list(reply.text) if isinstance(reply.text, list) else _split_words(reply.text)
    text = "".join(pieces)
    stop_reason, stop_sequence = reply.stop_reason, None

    found = [(text.find(stop), stop) for stop in body.get("stop_sequences") or [] if stop in text]
    if found:
        index, stop_sequence = min(found)
        text, stop_reason = text[:index], "stop_sequence"
    limit = int(body["max_tokens"]) * 4
    if len(text) > limit:
        text, stop_reason, stop_sequence = text[:limit], "max_tokens", None

    deltas, consumed = [], 0
    for piece in pieces:
        if consumed >= len(text):
            break
        part = piece[: len(text) - consumed]
        consumed += len(part)
        if part:
            deltas.append(part)
    return deltas, stop_reason, stop_sequence


def _split_words(text: str) -> list[str]:
    pieces, current = [], ""
    for character in text:
        current += character
        if character == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    @property
    def fake(self) -> FakeAnthropicServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        if self.path == "/_fake/requests":
            with self.fake._lock:
                records = [dataclasses.asdict(request) for request in self.fake._requests]
            self._send_json(200, records)
            return
        self._send_json(404, _error_body("not_found_error", f"{self.path} not found", ""))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/_fake/replies":
            for fields in json.loads(raw or b"[]"):
                times = fields.pop("times", 1)
                self.fake.push(Reply(**fields), times=times)
            self._send_json(200, {"ok": True})
            return
        if self.path == "/_fake/reset":
            self.fake.reset()
            self._send_json(200, {"ok": True})
            return

        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        record = self._record(body)
        if self.path.rstrip("/") != "/v1/messages":
            self._fail(record, 404, f"Not found: {self.path}")
            return
        if not record.api_key_present:
            self._fail(record, 401, "x-api-key header is required")
            return
        if not record.api_key_valid:
            self._fail(record, 401, "invalid x-api-key")
            return
        if not self.headers.get("anthropic-version"):
            self._fail(record, 400, "anthropic-version: header is required")
            return
        problem = _validate(self.fake, body) if body is not None else "Invalid JSON in request body"
        if problem:
            self._fail(record, 400, problem)
            return

        reply = self.fake._next_reply()
        if reply.status != 200:
            message = reply.error_message or {
                429: "Number of request tokens has exceeded your rate limit",
                529: "Overloaded",
            }.get(reply.status, "Internal server error")
            self._fail(record, reply.status, message, retry_after=reply.retry_after)
            return
        if body.get("stream"):
            self._stream(record, reply, body)
        else:
            self._respond_whole(record, reply, body)

    def _record(self, body: Any) -> RecordedRequest:
        api_key = self.headers.get("x-api-key")
        authorization = self.headers.get("authorization", "")
        if api_key is None and authorization.lower().startswith("bearer "):
            api_key = authorization[len("bearer ") :]
        headers = {
            name.lower(): ("<redacted>" if name.lower() in ("x-api-key", "authorization") else value)
            for name, value in self.headers.items()
        }
        record = RecordedRequest(
            method="POST",
            path=self.path,
            headers=headers,
            body=body,
            api_key_present=bool(api_key),
            api_key_valid=api_key == self.fake.api_key,
        )
        self.fake._record(record)
        return record

    def _fail(
        self, record: RecordedRequest, status: int, message: str, retry_after: float | None = None
    ) -> None:
        record.status = status
        headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
        self._send_json(
            status,
            _error_body(ERROR_TYPES.get(status, "api_error"), message, record.request_id),
            record.request_id,
            headers,
        )

    def _send_json(
        self, status: int, payload: Any, request_id: str = "", headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if request_id:
            self.send_header("request-id", request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _respond_whole(self, record: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        deltas, stop_reason, stop_sequence = _shape_text(reply, body)
        input_tokens, write, read = self.fake._account_cache(body)
        text = "".join(deltas)
        message = _message(record, body["model"], input_tokens, write, read, _tokens(text) or 1)
        message.update(
            content=[{"type": "text", "text": text}], stop_reason=stop_reason, stop_sequence=stop_sequence
        )
        record.status = 200
        self._send_json(200, message, record.request_id)

    def _stream(self, record: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        deltas, stop_reason, stop_sequence = _shape_text(reply, body)
        input_tokens, write, read = self.fake._account_cache(body)
        output_tokens = max(_tokens("".join(deltas) + (reply.thinking or "")), 1)

        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": _message(record, body["model"], input_tokens, write, read, 1),
                },
            )
        ]
        index = 0
        if reply.thinking is not None:
            events += [
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                    },
                ),
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "thinking_delta", "thinking": reply.thinking},
                    },
                ),
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"},
                    },
                ),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ]
            index = 1
        events += [
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        text_events = [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": delta},
                },
            )
            for delta in deltas
        ]
        if reply.stream_error is not None:
            error = (
                "error",
                _error_body(
                    reply.stream_error,
                    "Overloaded" if reply.stream_error == "overloaded_error" else "Internal server error",
                    None,
                ),
            )
            if reply.stream_error_after_text:
                events += text_events[:1] + [error]
            else:
                events = events[:1] + [error]
        else:
            events += text_events + [
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                        "usage": {"output_tokens": output_tokens},
                    },
                ),
                ("message_stop", {"type": "message_stop"}),
            ]

        record.status = 200
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", record.request_id)
        self.end_headers()
        try:
            for number, (name, data) in enumerate(events):
                if reply.drop_after_events is not None and number >= reply.drop_after_events:
                    self._drop_connection()
                    return
                if number > 0 and reply.delay:
                    time.sleep(reply.delay)
                self._write_chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                record.events_sent += 1
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            record.disconnected = True
            self.close_connection = True
            self.fake._disconnect.set()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _message(
    record: RecordedRequest, model: str, input_tokens: int, write: int, read: int, output_tokens: int
) -> dict[str, Any]:
    return {
        "id": f"msg_{record.request_id}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "output_tokens": output_tokens,
        },
    }


def _error_body(error_type: str, message: str, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Anthropic Messages API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one.")
    parser.add_argument("--api-key", default=TEST_API_KEY, help="The only key the fake accepts.")
    parser.add_argument("--reply", default=DEFAULT_REPLY, help="Text of the default reply.")
    parser.add_argument(
        "--reject-prefill",
        action="append",
        default=[],
        metavar="MODEL",
        help="A model that rejects assistant prefill (repeatable).",
    )
    parser.add_argument(
        "--reject-sampling",
        action="append",
        default=[],
        metavar="MODEL",
        help="A model that rejects temperature, top_p and top_k (repeatable).",
    )
    parser.add_argument(
        "--exclusive-sampling",
        action="append",
        default=[],
        metavar="MODEL",
        help="A model that rejects temperature with top_p (repeatable).",
    )
    parser.add_argument(
        "--always-thinking",
        action="append",
        default=[],
        metavar="MODEL",
        help="A model that rejects thinking turned off (repeatable).",
    )
    arguments = parser.parse_args(argv)

    fake = FakeAnthropicServer(
        api_key=arguments.api_key,
        port=arguments.port,
        reject_prefill=tuple(arguments.reject_prefill),
        reject_sampling=tuple(arguments.reject_sampling),
        exclusive_sampling=tuple(arguments.exclusive_sampling),
        always_thinking=tuple(arguments.always_thinking),
        default_reply=Reply(text=arguments.reply),
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    fake.start()
    print(f"READY {fake.base_url}", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
