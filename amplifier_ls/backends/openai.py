"""The `openai` backend: raw-text completions from an OpenAI-compatible server.

Base models are served through the completions endpoint (`POST {base_url}/completions`):
the whole prompt document goes in as `prompt` and the server continues it. vLLM, llama.cpp
server and Ollama implement it. The response is read as server-sent events: `data: {json}`
lines ending with `data: [DONE]`.

Besides the OpenAI fields, a request carries the sampling fields of the servers this backend
targets, all taken from the `decoding` settings:

- `min_p` (vLLM and llama.cpp);
- `repetition_penalty` (vLLM's name) and `repeat_penalty` with `repeat_last_n` (llama.cpp's
  names) for the same penalty, so that each server receives it under its own name;
- `cache_prompt: true` (llama.cpp), so that the unchanged archive prefix is reused from the
  KV cache. vLLM reuses it by itself when started with prefix caching.

vLLM and llama.cpp server ignore request fields they do not know (vLLM logs a warning). A
server that rejects them, as api.openai.com does with HTTP 400 "Unrecognized request
argument", gets the request again without them, and later requests leave them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import httpx

from ..errors import BackendError, BackendUnavailable, PromptTooLarge
from ..settings import OpenAISettings
from .base import Backend, Capabilities, GenerationInfo, GenerationRequest

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT_WINDOW = 8192
MAX_CONCURRENCY = 4
MAX_SERVER_STOPS = 4
"""The OpenAI API rejects more stop sequences than this; the rest are applied here."""
MAX_RETRY_WAIT = 30.0
"""Seconds. A request whose Retry-After is longer than this is not retried."""
MAX_TOTAL_RETRY_WAIT = 60.0
"""Seconds spent waiting between retries of one request, at most."""
FIRST_BACKOFF = 0.5
"""Seconds before the first retry when the server sends no Retry-After. It doubles with each retry."""
ERROR_EXCERPT_CHARS = 200

EXTRA_FIELDS = ("min_p", "repetition_penalty", "repeat_penalty", "repeat_last_n", "cache_prompt")
_CONTEXT_ERROR = re.compile(r"context (length|size|window)|exceed_context_size", re.IGNORECASE)
_UNKNOWN_FIELD_ERROR = re.compile(
    r"unrecognized request argument|extra inputs are not permitted|extra_forbidden", re.IGNORECASE
)
_MISSING = object()


class OpenAIBackend(Backend):
    """Completions from an OpenAI-compatible server, streamed.

    With no model configured, the first model the server lists at `{base_url}/models` is
    used. It is looked up on the first request or in `prepare()`, and `model` and
    `identity()` report "" until then, so callers that key caches on the identity await
    `prepare()` first.
    """

    name = "openai"

    def __init__(
        self,
        settings: OpenAISettings,
        model: str,
        environ: Mapping[str, str] = os.environ,
        *,
        context_window: int = DEFAULT_CONTEXT_WINDOW,
    ):
        self._settings = settings
        self._base_url = settings.base_url.rstrip("/")
        self._configured_model = model
        self._discovered_model = ""
        self._environ = environ
        self._context_window = context_window
        self._client: httpx.AsyncClient | None = None
        self._discovery_lock = asyncio.Lock()
        self._send_extra_fields = True

    @property
    def model(self) -> str:
        return self._configured_model or self._discovered_model

    def capabilities(self) -> Capabilities:
        return Capabilities(
            context_window=self._context_window,
            max_concurrency=MAX_CONCURRENCY,
            reuses_prefix=True,
        )

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self._base_url, "model": self.model}

    async def prepare(self) -> None:
        await self._resolve_model()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def stream(self, request: GenerationRequest, info: GenerationInfo) -> AsyncIterator[str]:
        url = f"{self._base_url}/completions"
        try:
            model = await self._resolve_model()
            logger.debug(
                "POST %s: model %s, %d prompt characters, max_tokens %d",
                url, model, len(request.prompt.text), request.max_tokens,
            )
            async with self._send("POST", url, lambda: self._request_body(request, model)) as response:
                if response.status_code != 200:
                    raise self._completion_error(response, model)
                pieces = self._read_completion(response, request.stop, info, model)
                async with contextlib.aclosing(pieces):
                    async for piece in pieces:
                        yield piece
        except httpx.HTTPError as error:
            raise self._transport_error(error, url) from error
        logger.debug(
            "Completion from %s ended (%s): %d input tokens, %d output tokens",
            url, info.finish_reason, info.input_tokens, info.output_tokens,
        )

    def _request_body(self, request: GenerationRequest, model: str) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": model,
            "prompt": request.prompt.text,
            "max_tokens": request.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        stops = unique_stops(request.stop)
        if stops:
            body["stop"] = stops[:MAX_SERVER_STOPS]
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if self._send_extra_fields:
            # NOTE: vLLM applies repetition_penalty to every token of the prompt and the output
            # and ignores repeat_last_n, so a long archive prompt makes it stronger there than
            # on llama.cpp. Revisit if vLLM continuations avoid the author's common words.
            body["min_p"] = sampling.min_p
            body["repetition_penalty"] = sampling.repeat_penalty
            body["repeat_penalty"] = sampling.repeat_penalty
            body["repeat_last_n"] = sampling.repeat_last_n
            body["cache_prompt"] = True
        return body

    async def _read_completion(
        self, response: httpx.Response, stop: Sequence[str], info: GenerationInfo, model: str
    ) -> AsyncIterator[str]:
        """Yield the text of a streamed completion, cut at the first stop sequence.

        Leaving the loop early (a stop sequence found here) returns to `stream`, whose
        `async with` closes the response and with it the connection.
        """
        stops = StopFilter(unique_stops(stop))
        finished = False
        events = iter_sse(response.aiter_lines())
        try:
            async for event, data in events:
                if event == "error":
                    raise self._stream_error(_parse_json(data, default=data), model)
                if data == "[DONE]":
                    finished = True
                    break
                payload = _parse_json(data)
                if payload is _MISSING or not isinstance(payload, dict):
                    raise BackendError(
                        f"The server at {self._base_url} sent a stream event that is not a JSON "
                        f"object ({_excerpt(data)}); check that openai.base_url points to an "
                        "OpenAI-compatible server."
                    )
                if payload.get("error") is not None or payload.get("object") == "error":
                    raise self._stream_error(payload, model)

                _record_usage(payload, info)
                for choice in payload.get("choices") or ():
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    text, stopped = stops.feed(choice.get("text") or "")
                    if text:
                        yield text
                    if stopped:
                        info.finish_reason = "stop"
                        return
                    if choice.get("finish_reason"):
                        info.finish_reason = choice["finish_reason"]
                        finished = True
        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
            if not finished:
                raise
            # The text is complete once the server has sent finish_reason, so only the usage
            # chunk or [DONE] was lost.
            logger.debug("Connection to %s closed after the completion finished: %s", self._base_url, error)
        finally:
            await events.aclose()

        if not finished:
            raise self._dropped_error()
        tail = stops.flush()
        if tail:
            yield tail

    @contextlib.asynccontextmanager
    async def _send(
        self, method: str, url: str, build_body: Callable[[], dict[str, Any]] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed response, retrying HTTP 429 and 503 as `openai.max_retries` allows.

        Yields the response: a 200 with its body unread, or any other status with its body
        read, for the caller to turn into an error.
        """
        client = self._http()
        retries = 0
        waited = 0.0
        while True:
            body = build_body() if build_body is not None else None
            async with client.stream(method, url, json=body, headers=self._headers()) as response:
                wait = None
                if response.status_code != 200:
                    await response.aread()
                    if body is not None and self._drop_rejected_extra_fields(response):
                        continue
                    wait = self._retry_wait(response, retries, waited)
                if wait is None:
                    yield response
                    return

            retries += 1
            waited += wait
            logger.warning(
                "HTTP %d from %s; retry %d of %d in %.1f s",
                response.status_code, url, retries, self._settings.max_retries, wait,
            )
            await asyncio.sleep(wait)

    def _drop_rejected_extra_fields(self, response: httpx.Response) -> bool:
        """Stop sending the vLLM and llama.cpp fields if this HTTP 400 rejects them, and return whether it did."""
        if not self._send_extra_fields or response.status_code != 400:
            return False
        if not _UNKNOWN_FIELD_ERROR.search(error_message(response)):
            return False
        self._send_extra_fields = False
        logger.info(
            "The server at %s rejects the fields %s; sending the OpenAI fields only",
            self._base_url, ", ".join(EXTRA_FIELDS),
        )
        return True

    def _retry_wait(self, response: httpx.Response, retries: int, waited: float) -> float | None:
        """Return the seconds to wait before retrying, or None when the request is not retried."""
        if response.status_code not in (429, 503) or retries >= self._settings.max_retries:
            return None
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None:
            wait = FIRST_BACKOFF * 2**retries
        if wait > MAX_RETRY_WAIT or waited + wait > MAX_TOTAL_RETRY_WAIT:
            return None
        return wait

    async def _resolve_model(self) -> str:
        if self._configured_model:
            return self._configured_model
        async with self._discovery_lock:
            if not self._discovered_model:
                self._discovered_model = await self._first_listed_model()
                logger.info(
                    "No model configured; using %s, the first model listed by %s",
                    self._discovered_model, self._base_url,
                )
        return self._discovered_model

    async def _first_listed_model(self) -> str:
        url = f"{self._base_url}/models"
        try:
            async with self._send("GET", url) as response:
                if response.status_code in (401, 403):
                    raise self._authorization_error(response.status_code)
                if response.status_code != 200:
                    raise BackendUnavailable(
                        f"Listing the models at {url} failed with HTTP {response.status_code} "
                        f"({_excerpt(error_message(response))}); set `model` to the model to use."
                    )
                payload = _parse_json((await response.aread()).decode("utf-8", "replace"))
        except httpx.HTTPError as error:
            raise self._transport_error(error, url) from error

        entries = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(entries, list):
            raise BackendUnavailable(
                f"The response from {url} is not an OpenAI model list; set `model` to the model to use."
            )
        ids = [entry["id"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)]
        if not ids:
            raise BackendUnavailable(f"The server at {url} lists no models; set `model` to the model to use.")
        return ids[0]

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._check_base_url()
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self._settings.timeout))
        return self._client

    def _check_base_url(self) -> None:
        """Raise BackendUnavailable unless openai.base_url is an http(s) URL with a host and a valid port."""
        try:
            url = httpx.URL(self._base_url)
        except httpx.InvalidURL:
            url = None
        valid = (
            url is not None
            and url.scheme in ("http", "https")
            and bool(url.host)
            and (url.port is None or 0 < url.port < 65536)
        )
        if not valid:
            raise self._invalid_url_error()

    def _invalid_url_error(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"openai.base_url is not a valid http(s) URL ({self._settings.base_url!r}); set it "
            "to the server's address up to and including /v1, for example http://127.0.0.1:8000/v1."
        )

    def _headers(self) -> dict[str, str]:
        key = self._api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _api_key(self) -> str:
        variable = self._settings.api_key_env
        return self._environ.get(variable, "").strip() if variable else ""

    def _completion_error(self, response: httpx.Response, model: str) -> BackendError:
        status = response.status_code
        message = _excerpt(error_message(response))
        base = self._base_url
        if status in (401, 403):
            return self._authorization_error(status)
        if status == 404:
            return BackendUnavailable(
                f'The server at {base} found no model "{model}" or no completions endpoint '
                f"(HTTP 404: {message}); set `model` to a model it serves and openai.base_url "
                "to its address up to and including /v1."
            )
        if status in (400, 413) and _CONTEXT_ERROR.search(message):
            return PromptTooLarge(
                f'The prompt does not fit the context window of model "{model}" at {base} '
                f"(HTTP {status}: {message}); lower corpus.budget_tokens, "
                "prompt.document_budget_tokens or decoding.max_tokens."
            )
        if status == 429:
            return BackendError(
                f"The server at {base} is rate limiting requests (HTTP 429{self._retry_note(response)}); "
                "try again later or raise openai.max_retries.",
                retryable=True,
            )
        if status == 503:
            return BackendError(
                f"The server at {base} is overloaded or still loading the model "
                f"(HTTP 503{self._retry_note(response)}); try again later or raise openai.max_retries.",
                retryable=True,
            )
        if status == 400:
            return BackendError(
                f"The server at {base} rejected the completion request (HTTP 400: {message}); "
                "check `model` and the decoding settings."
            )
        return BackendError(
            f"The server at {base} failed with HTTP {status} ({message}); check the server's log."
        )

    def _retry_note(self, response: httpx.Response) -> str:
        requested = parse_retry_after(response.headers.get("Retry-After"))
        note = f" after {self._settings.max_retries} retries"
        if requested is not None and requested > MAX_RETRY_WAIT:
            note += f", and it requests a wait of {requested:.0f} s"
        return note

    def _authorization_error(self, status: int) -> BackendUnavailable:
        base = self._base_url
        variable = self._settings.api_key_env
        if not variable:
            return BackendUnavailable(
                f"The server at {base} requires an API key (HTTP {status}); set "
                "openai.api_key_env to the name of an environment variable that holds it."
            )
        if not self._api_key():
            return BackendUnavailable(
                f"The server at {base} requires an API key (HTTP {status}); set the environment "
                f"variable {variable}."
            )
        return BackendUnavailable(
            f"The server at {base} rejected the API key in {variable} (HTTP {status}); set "
            f"{variable} to a valid key."
        )

    def _stream_error(self, payload: Any, model: str) -> BackendError:
        message = _excerpt(_message_of(payload))
        if _CONTEXT_ERROR.search(message):
            return PromptTooLarge(
                f'The prompt does not fit the context window of model "{model}" at {self._base_url} '
                f"({message}); lower corpus.budget_tokens, prompt.document_budget_tokens or "
                "decoding.max_tokens."
            )
        return BackendError(
            f"The server at {self._base_url} reported an error during the completion ({message}); "
            "check the server's log."
        )

    def _dropped_error(self) -> BackendError:
        return BackendError(
            f"The server at {self._base_url} closed the connection before the completion "
            "finished; the partial text was discarded."
        )

    def _transport_error(self, error: httpx.HTTPError, url: str) -> BackendError:
        timeout = self._settings.timeout
        if isinstance(error, httpx.UnsupportedProtocol):
            return self._invalid_url_error()
        if isinstance(error, httpx.ConnectTimeout):
            return BackendUnavailable(
                f"Connecting to {url} timed out after {timeout:g} s; check openai.base_url or "
                "raise openai.timeout."
            )
        if isinstance(error, httpx.ConnectError):
            return BackendUnavailable(
                f"Cannot connect to the OpenAI-compatible server at {url} ({_excerpt(str(error))}); "
                "start the server or set openai.base_url to its address."
            )
        if isinstance(error, httpx.TimeoutException):
            return BackendError(
                f"The server at {url} sent nothing for {timeout:g} s; raise openai.timeout or "
                "check that the server is not overloaded."
            )
        if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return self._dropped_error()
        return BackendError(f"The request to {url} failed ({type(error).__name__}: {_excerpt(str(error))}).")


class StopFilter:
    """Cut streamed text at the first stop sequence.

    A tail that could be the start of a stop sequence is held back until the next piece
    shows whether it is one, so that a stop sequence split across pieces is still found.
    """

    def __init__(self, stops: Sequence[str]):
        self._stops = [stop for stop in stops if stop]
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return the text that is safe to pass on, and whether a stop sequence ended the stream."""
        if not self._stops:
            return text, False
        self._pending += text
        found = [index for index in (self._pending.find(stop) for stop in self._stops) if index >= 0]
        if found:
            head = self._pending[: min(found)]
            self._pending = ""
            return head, True

        cut = len(self._pending) - self._partial_stop_length()
        head, self._pending = self._pending[:cut], self._pending[cut:]
        return head, False

    def flush(self) -> str:
        """Return the held-back text once the stream has ended without a stop sequence."""
        tail, self._pending = self._pending, ""
        return tail

    def _partial_stop_length(self) -> int:
        longest = max(len(stop) for stop in self._stops) - 1
        for length in range(min(longest, len(self._pending)), 0, -1):
            suffix = self._pending[-length:]
            if any(stop.startswith(suffix) for stop in self._stops):
                return length
        return 0


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """Yield (event type, data) for each server-sent event.

    Data lines of one event are joined with newlines, comments (`:` lines) are skipped, and
    an event cut off by the end of the stream is dropped, as the SSE specification requires.
    Some llama.cpp server versions report failures on a nonstandard `error:` line, which
    comes out as an event of type "error".
    """
    event_type = "message"
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield event_type, "\n".join(data)
            event_type, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event_type = value
        elif field == "error":
            event_type, data = "error", [value]


def unique_stops(stops: Sequence[str]) -> list[str]:
    """Return the non-empty stop sequences in their order, without repeats."""
    return list(dict.fromkeys(stop for stop in stops if stop))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the delay in seconds that a Retry-After header requests (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def error_message(response: httpx.Response) -> str:
    """Return the error message of a failed response, from any of the servers' JSON shapes."""
    text = response.content.decode("utf-8", "replace")
    return _message_of(_parse_json(text, default=text))


def _message_of(payload: Any) -> str:
    """Find the message in `{"error": {"message": ...}}`, `{"error": "..."}`,
    `{"object": "error", "message": ...}` (older vLLM) or `{"detail": ...}` (FastAPI)."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or json.dumps(error))
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if payload.get(key):
                return str(payload[key])
        return json.dumps(payload)
    return str(payload)


def _record_usage(payload: dict[str, Any], info: GenerationInfo) -> None:
    usage = payload.get("usage")
    if isinstance(usage, dict):
        info.input_tokens = int(usage.get("prompt_tokens") or 0)
        info.output_tokens = int(usage.get("completion_tokens") or 0)
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and details.get("cached_tokens") is not None:
            info.cache_read_input_tokens = int(details["cached_tokens"])
    # llama.cpp server adds timings, where cache_n counts the prompt tokens reused from its cache.
    timings = payload.get("timings")
    if isinstance(timings, dict):
        info.details["timings"] = timings
        if not info.cache_read_input_tokens and isinstance(timings.get("cache_n"), int):
            info.cache_read_input_tokens = timings["cache_n"]


def _parse_json(text: str, default: Any = _MISSING) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return default


def _excerpt(text: str) -> str:
    """Collapse whitespace and shorten a server's message for an error sentence."""
    text = " ".join(text.split())
    if len(text) > ERROR_EXCERPT_CHARS:
        text = text[: ERROR_EXCERPT_CHARS - 1].rstrip() + "…"
    return text or "no message"
