"""Claude through the Anthropic Messages API, with the official `anthropic` package (2.x).

The prompt document is framed as a conversation (see `anthropic_framing`), streamed with the
SDK's async client, and the streamed text is turned back into a continuation of the prompt
text (see `anthropic_output`). The SDK's own retries are off: this module retries 429, 5xx,
529 and an overloaded stream itself, honouring retry-after, and only while no text has
reached the caller. A stream that fails after text was yielded raises, so that partial text
is never taken for a complete prediction.

Two kinds of 400 are learned from and stored per model on disk (`ModelMemory`). After a
rejected assistant prefill, framing "auto" falls back to no-prefill. A rejected optional
parameter (temperature, or the settings that turn thinking off) is dropped, and the request
is sent again without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Mapping

import anthropic
import httpx2

from ..errors import BackendError, BackendUnavailable, PromptTooLarge
from ..settings import AnthropicSettings
from .anthropic_framing import Framed, Framing, frame
from .anthropic_models import (
    ModelMemory,
    prefill_known_rejected,
    prices_for,
    rejected_parameters,
    temperature_accepted,
    thinks_by_default,
)
from .anthropic_output import JoinWhitespace, PreambleStripper, StopScanner
from .base import Backend, Capabilities, GenerationInfo, GenerationRequest, Sampling

logger = logging.getLogger(__name__)

# Claude Sonnet 4.5 retired on 2026-11-30 (platform.claude.com, "Model deprecations"). Haiku
# 4.5 is absent from the deprecated models of anthropic 2.10.0, accepts an assistant prefill,
# and is fast and cheap ($1 and $5 per million tokens), which suits predictions while typing.
DEFAULT_MODEL = "claude-haiku-4-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"
CONTEXT_WINDOW = 200_000
RETRY_BASE_DELAY = 0.5
"""Seconds before the first retry when the server sends no retry-after; doubled per retry."""
MAX_RETRY_DELAY = 20.0
"""A longer retry-after fails the request at once: a prediction that late is of no use."""
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})
RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})
# NOTE: the thinking settings follow the model documentation and have run only against the
# fake API. Revisit with a real key on a 5.x model, checking that text arrives within
# max_tokens.
THINKING_ALLOWANCE = 1024
"""Tokens added to max_tokens for a model that thinks and rejects turning thinking off,
because thinking tokens count toward max_tokens."""

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
}


class _StreamIncomplete(Exception):
    """The stream ended without message_stop."""


@dataclass
class _Failure:
    """The decision about a failed attempt."""

    action: str
    """"retry", "fall-back" (to no-prefill), "drop-parameters" or "raise"."""
    error: BackendError
    """Raised when the action is "raise", or when retries run out."""
    delay: float | None = None
    """Seconds from the response's retry-after header, if it has one."""
    parameters: frozenset[str] = frozenset()


class AnthropicBackend(Backend):
    """Claude models through the Messages API, streamed."""

    name = "anthropic"

    def __init__(
        self,
        settings: AnthropicSettings,
        model: str,
        cache_dir: Path | None,
        environ: Mapping[str, str] = os.environ,
    ):
        self.settings = settings
        self._model = model or DEFAULT_MODEL
        self._environ = environ
        self._memory = ModelMemory(cache_dir)
        self._client: anthropic.AsyncAnthropic | None = None

    @property
    def model(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return self.settings.base_url or self._environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL

    def capabilities(self) -> Capabilities:
        return Capabilities(
            context_window=CONTEXT_WINDOW,
            max_concurrency=self.settings.max_concurrency,
            reuses_prefix=True,
        )

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "framing": self.framing()}

    def framing(self) -> Framing:
        """Return the framing of the next request: the setting, or for "auto" what the model accepts."""
        if self.settings.framing != "auto":
            return self.settings.framing
        if self._memory.prefill_rejected(self.model) or prefill_known_rejected(self.model):
            return "no-prefill"
        return "prefill"

    def describe_request(self, request: GenerationRequest) -> str:
        framed = frame(request.prompt, self.framing())
        payload = {"model": self.model, "system": framed.system, "messages": framed.messages}
        return json.dumps(payload, ensure_ascii=False, indent=2)

    async def prepare(self) -> None:
        """Nothing to load: the client is created, and the key checked, on the first request,
        so that `amplifier-ls prompt` works without a key."""

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def stream(self, request: GenerationRequest, info: GenerationInfo) -> AsyncIterator[str]:
        client = self._ensure_client()
        framing = self.framing()
        started = time.monotonic()
        retries = 0
        attempts = 0

        while True:
            framed = frame(request.prompt, framing)
            fields, sent, extra_tokens = self._optional_parameters(request.sampling)
            attempts += 1
            yielded = False
            try:
                pieces = self._stream_once(client, framed, fields, extra_tokens, request, info)
                async with contextlib.aclosing(pieces):
                    async for piece in pieces:
                        yielded = True
                        yield piece
            except (anthropic.APIError, httpx2.TransportError, _StreamIncomplete) as error:
                failure = self._classify(error, framed, sent, retries, yielded=yielded)
                request_id = getattr(error, "request_id", None) or info.details.get("request_id")
            else:
                self._record_usage(info, framed, attempts, started)
                return

            if failure.action == "fall-back":
                logger.info(
                    "Model %s rejects an assistant prefill; using the no-prefill framing from now on",
                    self.model,
                )
                self._memory.remember_prefill_rejected(self.model)
                framing = "no-prefill"
                continue
            if failure.action == "drop-parameters":
                logger.info(
                    "Model %s rejects %s; not sending it from now on",
                    self.model,
                    ", ".join(sorted(failure.parameters)),
                )
                self._memory.remember_rejected_parameters(self.model, set(failure.parameters))
                continue
            if failure.action == "retry" and retries < self.settings.max_retries:
                delay = _backoff(failure.delay, retries)
                if delay > MAX_RETRY_DELAY:
                    raise BackendError(
                        f"{failure.error} The API asked to wait {delay:.0f} s before the next request.",
                        retryable=True,
                    )
                retries += 1
                logger.warning(
                    "Anthropic request %s failed (%s); retry %d of %d in %.1f s",
                    request_id,
                    failure.error,
                    retries,
                    self.settings.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            logger.warning("Anthropic request %s failed: %s", request_id, failure.error)
            raise failure.error

    async def _stream_once(
        self,
        client: anthropic.AsyncAnthropic,
        framed: Framed,
        fields: dict[str, Any],
        extra_tokens: int,
        request: GenerationRequest,
        info: GenerationInfo,
    ) -> AsyncIterator[str]:
        """Send one request and yield its text, run through the output filters."""
        arguments: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens + extra_tokens,
            "system": framed.system,
            "messages": framed.messages,
        }
        api_stops = [stop for stop in request.stop if stop.strip()]
        if api_stops:
            arguments["stop_sequences"] = api_stops

        # Optional fields go in extra_body: the SDK's create() has no sampling keywords any
        # more, and one mechanism serves every field the API may reject.
        stream = await client.messages.create(**arguments, stream=True, extra_body=fields or None)
        info.details["request_id"] = stream.response.headers.get("request-id")
        join = JoinWhitespace(framed.restored_whitespace)
        preamble = PreambleStripper(enabled=framed.framing == "no-prefill")
        stops = StopScanner(request.stop)
        stop_reason: str | None = None
        completed = False
        try:
            async for event in stream:
                if event.type == "message_start":
                    _set_usage(info, event.message.usage, reset=True)
                    info.details["message_id"] = event.message.id
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    text, stopped = stops.feed(preamble.feed(join.feed(event.delta.text)))
                    if text:
                        yield text
                    if stopped:
                        info.finish_reason = "stop"
                        info.details["stop_sequence"] = stops.stopped_at
                        return
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason
                    _set_usage(info, event.usage, reset=False)
                elif event.type == "message_stop":
                    completed = True
        finally:
            await stream.close()

        if not completed:
            raise _StreamIncomplete()
        text, stopped = stops.feed(preamble.feed(join.finish()) + preamble.finish())
        if not stopped:
            text += stops.finish()
        if text:
            yield text
        info.details["stop_reason"] = stop_reason
        info.finish_reason = "stop" if stopped else _FINISH_REASONS.get(stop_reason or "", stop_reason)

    def _classify(
        self,
        error: Exception,
        framed: Framed,
        sent: set[str],
        retries: int,
        yielded: bool,
    ) -> _Failure:
        """Decide whether a failed attempt is retried, teaches something, or ends the request."""
        if isinstance(error, anthropic.APIStatusError) and error.status_code >= 400:
            return self._classify_status(error, framed, sent, retries)

        # The SDK raises an `event: error` inside a 200 stream as APIStatusError with status 200.
        if isinstance(error, anthropic.APIStatusError):
            kind = error.type or "error"
            retryable = kind in RETRYABLE_STREAM_ERRORS
            if yielded:
                message = (
                    f"The Anthropic API reported {kind} in the middle of the response; "
                    "the partial prediction was discarded, try again."
                )
                return _Failure("raise", BackendError(message, retryable=retryable))
            if not retryable:
                return _Failure(
                    "raise", BackendError(f"The Anthropic API reported {kind}: {_api_message(error)}")
                )
            message = (
                f"The Anthropic API reported {kind} while streaming the response, after {retries} "
                "retries; try again in a moment."
            )
            return _Failure("retry", BackendError(message, retryable=True))

        if yielded:
            return _Failure("raise", self._incomplete_error(error))
        if isinstance(error, _StreamIncomplete):
            return _Failure("retry", self._incomplete_error(error))
        if isinstance(error, (anthropic.APITimeoutError, httpx2.TimeoutException)):
            message = (
                f"The Anthropic API did not respond within {self.settings.timeout:g} s; "
                "try again, or raise anthropic.timeout."
            )
            return _Failure("retry", BackendError(message, retryable=True))
        if isinstance(error, (anthropic.APIConnectionError, httpx2.TransportError)):
            message = (
                f"Could not connect to the Anthropic API at {self.base_url} ({_describe(error)}); "
                "check the network connection and anthropic.base_url."
            )
            return _Failure("retry", BackendUnavailable(message, retryable=True))
        return _Failure(
            "raise", BackendError(f"The Anthropic API sent an unexpected response: {_describe(error)}")
        )

    def _classify_status(
        self,
        error: anthropic.APIStatusError,
        framed: Framed,
        sent: set[str],
        retries: int,
    ) -> _Failure:
        status = error.status_code
        message = _api_message(error)
        lowered = message.lower()
        env = self.settings.api_key_env

        if status == 401:
            text = f"The Anthropic API rejected the key in {env} as invalid; set {env} to a valid API key."
            return _Failure("raise", BackendUnavailable(text))
        if status == 403:
            text = (
                f"The key in {env} lacks permission for this request ({message}); "
                f"check the key's workspace and its access to model {self.model}."
            )
            return _Failure("raise", BackendUnavailable(text))
        if status == 404:
            text = (
                f"The Anthropic API does not know model {self.model!r} ({message}); "
                f"set `model` to a valid model id, such as {DEFAULT_MODEL}."
            )
            return _Failure("raise", BackendError(text))
        if status == 413 or (
            status == 400 and ("prompt is too long" in lowered or "context window" in lowered)
        ):
            return _Failure(
                "raise", PromptTooLarge(f"The prompt is too long for model {self.model} ({message}).")
            )
        if status == 400 and "prefill" in lowered and framed.framing == "prefill":
            if self.settings.framing == "auto":
                return _Failure("fall-back", BackendError(message))
            text = (
                f"Model {self.model} does not accept an assistant prefill; "
                'set anthropic.framing to "auto" or "no-prefill".'
            )
            return _Failure("raise", BackendError(text))
        if status == 400:
            rejected = rejected_parameters(message, sent)
            if rejected:
                return _Failure("drop-parameters", BackendError(message), parameters=frozenset(rejected))
            return _Failure(
                "raise", BackendError(f"The Anthropic API rejected the request as invalid: {message}")
            )
        if status in RETRYABLE_STATUS:
            if status == 429:
                text = (
                    f"The Anthropic API rate limit was reached (HTTP 429), after {retries} retries; "
                    "try again in a moment, or lower anthropic.max_concurrency."
                )
            elif status == 529:
                text = (
                    f"The Anthropic API is overloaded (HTTP 529), after {retries} retries; "
                    "try again in a moment."
                )
            else:
                text = (
                    f"The Anthropic API failed with HTTP {status} ({message}), after {retries} retries; "
                    "try again in a moment."
                )
            return _Failure(
                "retry", BackendError(text, retryable=True), delay=_retry_after(error.response.headers)
            )
        return _Failure("raise", BackendError(f"The Anthropic API failed with HTTP {status}: {message}"))

    def _incomplete_error(self, error: Exception) -> BackendError:
        detail = "" if isinstance(error, _StreamIncomplete) else f" ({_describe(error)})"
        return BackendError(
            f"The Anthropic response stream ended before the response was complete{detail}; "
            "the partial prediction was discarded, try again.",
            retryable=True,
        )

    def _ensure_client(self) -> anthropic.AsyncAnthropic:
        if self._client is None:
            env = self.settings.api_key_env
            key = self._environ.get(env, "").strip()
            if not key:
                raise BackendUnavailable(
                    f"No Anthropic API key: set the {env} environment variable "
                    "(anthropic.api_key_env names the variable to read)."
                )
            self._client = anthropic.AsyncAnthropic(
                api_key=key,
                base_url=self.base_url,
                max_retries=0,
                timeout=self.settings.timeout,
            )
        return self._client

    def _optional_parameters(self, sampling: Sampling) -> tuple[dict[str, Any], set[str], int]:
        """Request fields that the model accepts as far as known, with their names and extra max_tokens.

        The names ("temperature", "thinking", "effort") are the words a 400 that rejects a
        field uses. Temperature is clamped to the API's range of 0 to 1. A model that thinks
        by default is sent `thinking: disabled`. If it rejects that, it is sent low effort
        instead, and max_tokens grows by THINKING_ALLOWANCE.
        """
        rejected = self._memory.rejected_parameters(self.model)
        fields: dict[str, Any] = {}
        names: set[str] = set()
        extra_tokens = 0
        if temperature_accepted(self.model) and "temperature" not in rejected:
            fields["temperature"] = min(max(sampling.temperature, 0.0), 1.0)
            names.add("temperature")
        if thinks_by_default(self.model):
            if "thinking" not in rejected:
                fields["thinking"] = {"type": "disabled"}
                names.add("thinking")
            else:
                extra_tokens = THINKING_ALLOWANCE
                if "effort" not in rejected:
                    fields["output_config"] = {"effort": "low"}
                    names.add("effort")
        return fields, names, extra_tokens

    def _record_usage(self, info: GenerationInfo, framed: Framed, attempts: int, started: float) -> None:
        # NOTE: usage and cost are those of the last attempt. An earlier attempt that failed
        # inside the stream may have been billed too, which the estimate leaves out.
        prices = prices_for(self.model)
        info.cost_usd = None
        if prices is not None:
            info.cost_usd = prices.cost(
                info.input_tokens,
                info.cache_creation_input_tokens,
                info.cache_read_input_tokens,
                info.output_tokens,
            )
        info.details["framing"] = framed.framing
        info.details["attempts"] = attempts
        logger.info(
            "Anthropic %s (%s): %d input, %d cache write, %d cache read, %d output tokens, "
            "cost %s, finish %s, %d attempt(s), %.2f s, request id %s",
            self.model,
            framed.framing,
            info.input_tokens,
            info.cache_creation_input_tokens,
            info.cache_read_input_tokens,
            info.output_tokens,
            "unknown" if info.cost_usd is None else f"${info.cost_usd:.5f}",
            info.finish_reason,
            attempts,
            time.monotonic() - started,
            info.details.get("request_id"),
        )


def _set_usage(info: GenerationInfo, usage: Any, reset: bool) -> None:
    """Copy token counts from a message_start usage (reset) or a cumulative message_delta usage."""
    for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"):
        value = getattr(usage, field, None)
        if value is not None:
            setattr(info, field, value)
        elif reset:
            setattr(info, field, 0)


def _api_message(error: anthropic.APIStatusError) -> str:
    return error.api_message or str(error)


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from retry-after-ms or retry-after (seconds or an HTTP date), if present."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _backoff(server_delay: float | None, retries: int) -> float:
    """Return the server's delay if it gave one, else exponential backoff with jitter."""
    if server_delay is not None:
        return server_delay
    return RETRY_BASE_DELAY * (2**retries) * random.uniform(0.75, 1.25)
