#!/usr/bin/env python3
"""A fake OpenAI-compatible completions server: real HTTP on 127.0.0.1, streamed like vLLM.

It serves `POST /v1/completions` the way vLLM and llama.cpp server do: with `"stream": true`
the response is `Content-Type: text/event-stream` in chunked transfer encoding, one
`data: {json}` event per word, a final chunk with `finish_reason` and `usage`, then
`data: [DONE]`. Without streaming it returns one `text_completion` object. Its responses
come from a JSON script, so tests can make it slow, fail, drop the connection or report an
error inside the stream. It uses only the standard library, so any test process (pytest,
headless Neovim, the VS Code test runner) can start it.

Run as a script:

    python tests/fakes/openai_server.py --port 0 [--script FILE.json] [--verbose]

prints one line `READY http://127.0.0.1:PORT/v1` once it listens, then serves until it gets
SIGTERM or SIGINT and exits with status 0.

Import it:

    with FakeOpenAIServer({"default": {"text": "Hello there."}}) as server:
        server.base_url          # "http://127.0.0.1:PORT/v1"
        server.stats             # counters and the last requests, as served at /_fake/stats
        server.wait_for(lambda stats: stats["completions_disconnected"] == 1)

Endpoints:

    GET  /v1/models       {"object": "list", "data": [{"id": "fake-model", ...}]}
    POST /v1/completions  the completion, streamed or not
    GET  /health          {"status": "ok"}
    GET  /_fake/stats     counters and the last requests (method, path, headers, body)
    POST /_fake/script    replace the script (the body is a script) and reset the counters
    POST /_fake/reset     reset the counters, the request log and the failure counts

Script (every key is optional):

    {
      "default": RESPONSE,          how every completion is answered unless a rule matches
      "rules": [                    the first matching rule wins; its keys override "default"
        {"when_prompt_contains": "some text", ...RESPONSE keys},
        ...                         a rule without "when_prompt_contains" matches every prompt
      ],
      "models": ["fake-model"],     ids listed at /v1/models (an empty list is allowed)
      "require_api_key": null,      a key: requests without `Authorization: Bearer KEY` get 401
      "context_window": null,       tokens: longer prompt + max_tokens gets vLLM's HTTP 400
      "reject_unknown_models": false,  true: a model not in "models" gets vLLM's HTTP 404
      "openai_strict": false        true: like api.openai.com, HTTP 400 for fields outside the
                                    OpenAI completions API and for more than 4 stop sequences
    }

    RESPONSE:
    {
      "text": "...",               the scripted continuation
      "delay_ms": 5,               pause before each chunk, so that a client can cancel midway
      "chunk": "word",             "word" (one token per event), "char" or "all" (one event)
      "flavor": "vllm",            "vllm": usage in a separate last chunk when the request
                                   asks for it with stream_options.include_usage, errors as
                                   `data: {"error": {...}}`. "llama.cpp": usage and timings in
                                   the finishing chunk always, errors as `error: {...}` lines.
      "drop_after_chars": null,    stream this many characters, then drop the connection
      "drop": "close",             how to drop: "close" cuts the socket inside the chunked
                                   body; "end" ends the body cleanly without finish_reason
                                   or [DONE]
      "stream_error": null,        {"after_chars": 0, "message": "..."}: an error event after
                                   that many characters, then [DONE], so that a client must
                                   not take [DONE] for success
      "fail": null                 {"status": 500|429|503|..., "message": "...",
                                   "retry_after": null|seconds|"HTTP date", "times": null|N}:
                                   answer with that HTTP error instead, for the first N
                                   matching requests (null: every time); later ones are served
    }

A token is one whitespace-separated word. The request is honoured: the text is cut at the
first of its `stop` strings (finish_reason "stop"), then at `max_tokens` words
(finish_reason "length", default 16 as in the OpenAI API). Only `n` = 1 is served.

Stats count `completion_requests` (every POST to /v1/completions), `completions_started`
(streams begun), `completions_finished` (streams that sent [DONE]),
`completions_disconnected` (the client went away before the end), `completions_dropped`
(scripted drops), `failures_sent` (scripted HTTP errors) and `model_requests`.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

HOST = "127.0.0.1"
DEFAULT_TEXT = "The rest of the paragraph follows in the same voice, one plain sentence after another."
DEFAULT_MAX_TOKENS = 16
REQUEST_HISTORY = 50

RESPONSE_DEFAULTS: dict[str, Any] = {
    "text": DEFAULT_TEXT,
    "delay_ms": 5,
    "chunk": "word",
    "flavor": "vllm",
    "drop_after_chars": None,
    "drop": "close",
    "stream_error": None,
    "fail": None,
}
SCRIPT_DEFAULTS: dict[str, Any] = {
    "default": {},
    "rules": [],
    "models": ["fake-model"],
    "require_api_key": None,
    "context_window": None,
    "reject_unknown_models": False,
    "openai_strict": False,
}
CHOICES = {"chunk": {"word", "char", "all"}, "flavor": {"vllm", "llama.cpp"}, "drop": {"close", "end"}}

# Fields of the OpenAI completions API. With "openai_strict", any other field is rejected.
OPENAI_FIELDS = {
    "model", "prompt", "suffix", "max_tokens", "temperature", "top_p", "n", "stream",
    "stream_options", "logprobs", "echo", "stop", "presence_penalty", "frequency_penalty",
    "best_of", "logit_bias", "user", "seed",
}
COUNTERS = (
    "completion_requests",
    "completions_started",
    "completions_finished",
    "completions_disconnected",
    "completions_dropped",
    "failures_sent",
    "model_requests",
)
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class ScriptError(ValueError):
    """The script has an unknown key or a value of the wrong kind."""


def load_script(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a script and return it with every default filled in."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ScriptError("the script must be a JSON object")
    _reject_unknown(raw, SCRIPT_DEFAULTS, "script")
    script = {**copy.deepcopy(SCRIPT_DEFAULTS), **copy.deepcopy(raw)}

    script["default"] = {**RESPONSE_DEFAULTS, **_validate_response(script["default"], "default")}
    if not isinstance(script["rules"], list):
        raise ScriptError("rules must be a list")
    for index, rule in enumerate(script["rules"]):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            raise ScriptError(f"{where} must be an object")
        needle = rule.get("when_prompt_contains")
        if needle is not None and not isinstance(needle, str):
            raise ScriptError(f"{where}.when_prompt_contains must be a string")
        _validate_response({k: v for k, v in rule.items() if k != "when_prompt_contains"}, where)

    if not isinstance(script["models"], list) or not all(isinstance(m, str) for m in script["models"]):
        raise ScriptError("models must be a list of strings")
    return script


def _reject_unknown(values: dict[str, Any], known: dict[str, Any], where: str) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ScriptError(f"unknown key(s) in {where}: {', '.join(unknown)}")


def _validate_response(response: Any, where: str) -> dict[str, Any]:
    if not isinstance(response, dict):
        raise ScriptError(f"{where} must be an object")
    _reject_unknown(response, RESPONSE_DEFAULTS, where)
    for key, allowed in CHOICES.items():
        if key in response and response[key] not in allowed:
            raise ScriptError(f"{where}.{key} must be one of {sorted(allowed)}")
    if "text" in response and not isinstance(response["text"], str):
        raise ScriptError(f"{where}.text must be a string")
    fail = response.get("fail")
    if fail is not None and not (isinstance(fail, dict) and isinstance(fail.get("status"), int)):
        raise ScriptError(f"{where}.fail must be an object with an integer status")
    stream_error = response.get("stream_error")
    if stream_error is not None and not isinstance(stream_error, dict):
        raise ScriptError(f"{where}.stream_error must be an object")
    return response


def split_words(text: str) -> list[str]:
    """Split text into tokens the way BPE vocabularies often do: each word with its leading space."""
    pieces = re.findall(r"\s*\S+", text)
    trailing = text[len("".join(pieces)):]
    if trailing:
        if pieces:
            pieces[-1] += trailing
        else:
            pieces.append(trailing)
    return pieces


def split_chunks(text: str, chunk: str) -> list[str]:
    if chunk == "char":
        return list(text)
    if chunk == "all":
        return [text] if text else []
    return split_words(text)


def continuation(text: str, stop: Any, max_tokens: int) -> tuple[str, str, int]:
    """Apply the request's stop strings and max_tokens, and return the text, finish_reason and token count."""
    stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str) and s]
    finish_reason = "stop"
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    if cut >= 0:
        text = text[:cut]

    words = split_words(text)
    if len(words) > max_tokens:
        words = words[:max_tokens]
        finish_reason = "length"
    return "".join(words), finish_reason, len(words)


class _State:
    """The script, counters and request log, shared by the handler threads under one lock."""

    def __init__(self, script: dict[str, Any]):
        self.changed = threading.Condition()
        self.script = script
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.requests: list[dict[str, Any]] = []
        self.failures_by_rule: dict[int | None, int] = {}
        self.completion_ids = 0

    def replace_script(self, script: dict[str, Any]) -> None:
        with self.changed:
            self.script = script
            self._reset_locked()

    def reset(self) -> None:
        with self.changed:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.requests = []
        self.failures_by_rule = {}
        self.changed.notify_all()

    def count(self, counter: str) -> None:
        with self.changed:
            self.counters[counter] += 1
            self.changed.notify_all()

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        with self.changed:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
            del self.requests[:-REQUEST_HISTORY]
            self.changed.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self.changed:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> dict[str, Any]:
        return {**self.counters, "requests": copy.deepcopy(self.requests)}

    def next_completion_id(self) -> str:
        with self.changed:
            self.completion_ids += 1
            return f"cmpl-fake-{self.completion_ids}"

    def plan(self, prompt: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Pick the response for a prompt, and return it with the HTTP failure to send instead, if any."""
        with self.changed:
            rule_index, response = None, dict(self.script["default"])
            for index, rule in enumerate(self.script["rules"]):
                needle = rule.get("when_prompt_contains")
                if needle is None or needle in prompt:
                    rule_index = index
                    response.update({k: v for k, v in rule.items() if k != "when_prompt_contains"})
                    break

            fail = response.get("fail")
            if fail is None:
                return response, None
            served = self.failures_by_rule.get(rule_index, 0)
            times = fail.get("times")
            if times is not None and served >= times:
                return response, None
            self.failures_by_rule[rule_index] = served + 1
            return response, fail


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    state: _State
    stopping: threading.Event
    verbose: bool

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, _Handler)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets an idle keep-alive connection is normal, not a server error.
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except CLIENT_GONE:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    @property
    def state(self) -> _State:
        return self.server.state

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/v1/models":
            self.state.record("GET", path, self._headers(), None)
            self.state.count("model_requests")
            if not self._authorized():
                return
            created = int(time.time())
            models = [
                {"id": model, "object": "model", "created": created, "owned_by": "fake"}
                for model in self.state.script["models"]
            ]
            self._send_json(200, {"object": "list", "data": models})
        elif path == "/health":
            self._send_json(200, {"status": "ok"})
        elif path == "/_fake/stats":
            self._send_json(200, self.state.snapshot())
        else:
            self._send_error(404, f"No route for GET {path}.", "NotFoundError")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self._read_json()
        if body is _INVALID:
            self._send_error(400, "The request body is not valid JSON.", "BadRequestError")
        elif path == "/v1/completions":
            self.state.record("POST", path, self._headers(), body)
            self.state.count("completion_requests")
            self._complete(body)
        elif path == "/_fake/script":
            try:
                self.state.replace_script(load_script(body))
            except ScriptError as error:
                self._send_error(400, f"Invalid script: {error}.", "BadRequestError")
                return
            self._send_json(200, {"status": "ok"})
        elif path == "/_fake/reset":
            self.state.reset()
            self._send_json(200, {"status": "ok"})
        else:
            self._send_error(404, f"No route for POST {path}.", "NotFoundError")

    def _complete(self, body: Any) -> None:
        script = self.state.script
        problem = self._check_request(body, script)
        if problem is not None:
            status, message, kind = problem
            self._send_error(status, message, kind)
            return
        if not self._authorized():
            return

        prompt = body["prompt"]
        response, fail = self.state.plan(prompt)
        if fail is not None:
            self.state.count("failures_sent")
            self._send_failure(fail)
            return

        max_tokens = body.get("max_tokens") or DEFAULT_MAX_TOKENS
        prompt_tokens = len(prompt.split())
        window = script["context_window"]
        if window is not None and prompt_tokens + max_tokens > window:
            message = (
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} "
                "in the completion). Please reduce the length of the messages or completion."
            )
            self._send_error(400, message, "BadRequestError")
            return

        text, finish_reason, completion_tokens = continuation(response["text"], body.get("stop"), max_tokens)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        model = body.get("model") or (script["models"][0] if script["models"] else "fake-model")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(response, text, finish_reason, usage, model, include_usage)
        else:
            self._send_json(200, {
                "id": self.state.next_completion_id(),
                "object": "text_completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}],
                "usage": usage,
            })

    def _check_request(self, body: Any, script: dict[str, Any]) -> tuple[int, str, str] | None:
        if not isinstance(body, dict):
            return 400, "The request body must be a JSON object.", "BadRequestError"
        if script["openai_strict"]:
            unknown = sorted(set(body) - OPENAI_FIELDS)
            if unknown:
                return 400, f"Unrecognized request argument supplied: {unknown[0]}", "invalid_request_error"
            stop = body.get("stop")
            if isinstance(stop, list) and len(stop) > 4:
                return 400, f"{stop!r} is too long - 'stop'", "invalid_request_error"
        if not isinstance(body.get("prompt"), str):
            return 400, "This fake server accepts only a string prompt.", "BadRequestError"
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and not (isinstance(max_tokens, int) and max_tokens > 0):
            return 400, "max_tokens must be a positive integer.", "BadRequestError"
        if body.get("n", 1) != 1:
            return 400, "This fake server serves only n=1.", "BadRequestError"
        model = body.get("model")
        if script["reject_unknown_models"] and model not in script["models"]:
            return 404, f"The model `{model}` does not exist.", "NotFoundError"
        return None

    def _stream(
        self,
        response: dict[str, Any],
        text: str,
        finish_reason: str,
        usage: dict[str, int],
        model: str,
        include_usage: bool,
    ) -> None:
        completion_id = self.state.next_completion_id()
        created = int(time.time())
        flavor = response["flavor"]
        delay = response["delay_ms"] / 1000
        drop_after = response["drop_after_chars"]
        stream_error = response["stream_error"]

        def chunk(piece: str, reason: str | None, **extra: Any) -> dict[str, Any]:
            choice = {"index": 0, "text": piece, "logprobs": None, "finish_reason": reason}
            return {
                "id": completion_id,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [choice],
                **extra,
            }

        sent_text = text
        if drop_after is not None:
            sent_text = text[:drop_after]
        if stream_error is not None:
            sent_text = text[: stream_error.get("after_chars", 0)]
        pieces = split_chunks(sent_text, response["chunk"])
        ends_normally = drop_after is None and stream_error is None

        self.state.count("completions_started")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            for index, piece in enumerate(pieces):
                if self.server.stopping.wait(delay):
                    self.close_connection = True
                    return
                last = ends_normally and flavor == "vllm" and index == len(pieces) - 1
                self._send_event(chunk(piece, finish_reason if last else None))

            if drop_after is not None:
                self._drop(response["drop"])
                return
            if stream_error is not None:
                self._send_stream_error(flavor, stream_error.get("message", "The model failed."))
                self._send_event("[DONE]")
                self._write_chunk(b"")
                return

            if flavor == "llama.cpp":
                timings = {"prompt_n": usage["prompt_tokens"], "cache_n": 0, "predicted_n": usage["completion_tokens"]}
                self._send_event(chunk("", finish_reason, usage=usage, timings=timings))
            elif not pieces:
                self._send_event(chunk("", finish_reason))
            if flavor == "vllm" and include_usage:
                self._send_event({**chunk("", None), "choices": [], "usage": usage})
            self._send_event("[DONE]")
            self._write_chunk(b"")
        except CLIENT_GONE:
            self.close_connection = True
            self.state.count("completions_disconnected")
            return
        self.state.count("completions_finished")

    def _drop(self, mode: str) -> None:
        self.state.count("completions_dropped")
        self.close_connection = True
        if mode == "end":
            self._write_chunk(b"")
            return
        # Without the zero-length last chunk the client sees the body cut short, as it
        # would when a proxy or the server process dies mid-stream.
        self.connection.shutdown(socket.SHUT_RDWR)

    def _send_stream_error(self, flavor: str, message: str) -> None:
        if flavor == "llama.cpp":
            payload = json.dumps({"code": 500, "message": message, "type": "server_error"})
            self._write_chunk(f"error: {payload}\n\n".encode())
            return
        error = {"message": message, "type": "InternalServerError", "param": None, "code": 500}
        self._send_event({"error": error})

    def _send_event(self, data: dict[str, Any] | str) -> None:
        payload = data if isinstance(data, str) else json.dumps(data)
        self._write_chunk(f"data: {payload}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _send_failure(self, fail: dict[str, Any]) -> None:
        status = fail["status"]
        message = fail.get("message") or {
            429: "Rate limit reached, please retry later.",
            503: "The server is overloaded.",
        }.get(status, f"Scripted failure with HTTP {status}.")
        headers = {}
        if fail.get("retry_after") is not None:
            headers["Retry-After"] = str(fail["retry_after"])
        self._send_error(status, message, "ScriptedError", headers)

    def _authorized(self) -> bool:
        key = self.state.script["require_api_key"]
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        # vLLM started with --api-key responds with exactly this body.
        self._send_json(401, {"error": "Unauthorized"})
        return False

    def _send_error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        error = {"message": message, "type": kind, "param": None, "code": status}
        self._send_json(status, {"error": error}, headers)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except CLIENT_GONE:
            self.close_connection = True

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return _INVALID


_INVALID = object()


class FakeOpenAIServer:
    """The fake server on 127.0.0.1, serving from a background thread.

    Use it as a context manager, or call start() and stop().
    """

    def __init__(self, script: dict[str, Any] | None = None, *, port: int = 0, verbose: bool = False):
        self._state = _State(load_script(script))
        self._port = port
        self._verbose = verbose
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeOpenAIServer:
        httpd = _HTTPServer((HOST, self._port))
        httpd.state = self._state
        httpd.stopping = threading.Event()
        httpd.verbose = self._verbose
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end the streams in progress and close every connection."""
        httpd = self._httpd
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        with httpd.connections_lock:
            connections = list(httpd.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The URL up to and including /v1, as `openai.base_url` expects it."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def stats(self) -> dict[str, Any]:
        return self._state.snapshot()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The last requests to /v1, oldest first: method, path, headers (lower-case names), body."""
        return self._state.snapshot()["requests"]

    def set_script(self, script: dict[str, Any] | None) -> None:
        """Replace the script and reset the counters. Raise ScriptError for an invalid script."""
        self._state.replace_script(load_script(script))

    def reset(self) -> None:
        self._state.reset()

    def wait_for(self, condition: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """Block until `condition(stats)` holds and return the stats.

        Raise TimeoutError when it does not hold within `timeout` seconds. The server runs in
        its own thread, so an asyncio test may call this directly once its client has closed
        the connection.
        """
        state = self._state
        with state.changed:
            if state.changed.wait_for(lambda: condition(state._snapshot_locked()), timeout):
                return state._snapshot_locked()
            stats = state._snapshot_locked()
        stats.pop("requests")
        raise TimeoutError(f"the fake server's stats did not reach the expected state: {stats}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI-compatible completions API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port to listen on (0 picks a free port).")
    parser.add_argument("--script", type=Path, help="JSON file with the script (see the module docstring).")
    parser.add_argument("--verbose", action="store_true", help="Log every request to stderr.")
    args = parser.parse_args(argv)

    try:
        script = json.loads(args.script.read_text(encoding="utf-8")) if args.script else None
        server = FakeOpenAIServer(script, port=args.port, verbose=args.verbose)
    except (OSError, ValueError) as error:
        print(f"fake OpenAI server: cannot load the script {args.script}: {error}", file=sys.stderr)
        return 2

    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop_requested.set())
    with server:
        print(f"READY {server.base_url}", flush=True)
        stop_requested.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
