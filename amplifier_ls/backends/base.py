"""The interface every backend implements: a few capabilities and one async text stream.

A backend turns a `GenerationRequest` into text, streamed in pieces. It does not see
documents, corpora or caches, because the pipeline builds the prompt before and
post-processes the text after. Consumers must close the stream when they stop early, for
example with `contextlib.aclosing`, so that cancelling the consuming task stops the
generation at the backend (the local model stops sampling, an HTTP stream is closed).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from ..prompt import Prompt


@dataclass(frozen=True)
class Capabilities:
    """Capabilities of a backend, from which the pipeline sizes prompts and schedules samples."""

    context_window: int
    """Tokens the model accepts, prompt and output together."""
    max_concurrency: int = 1
    """Samples that may run at the same time (1 for the local model)."""
    reuses_prefix: bool = False
    """Whether an unchanged prompt prefix is cheaper the second time (KV reuse, prompt caching)."""


@dataclass(frozen=True)
class Sampling:
    """Decoding settings for one request. Backends send only those their model accepts."""

    temperature: float = 0.7
    top_p: float = 0.9
    min_p: float = 0.05
    repeat_penalty: float = 1.15
    repeat_last_n: int = 128
    seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    prompt: Prompt
    max_tokens: int
    stop: tuple[str, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)


@dataclass
class GenerationInfo:
    """Filled in by the backend while it streams: token usage and why generation ended."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float | None = None
    finish_reason: str | None = None
    """'stop' (a stop sequence or end of text), 'length' (max_tokens), or the backend's own word."""
    details: dict[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """A model that continues a prompt document."""

    name: str = ""

    @property
    @abc.abstractmethod
    def model(self) -> str:
        """Return the model in use, as shown to the user and stored in cache keys."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    def identity(self) -> dict[str, Any]:
        """Everything besides the request that determines the output; part of every cache key."""
        return {"backend": self.name, "model": self.model}

    def count_tokens(self, text: str) -> int:
        """Estimate the tokens of `text`. Backends with a tokenizer at hand count exactly."""
        return estimate_tokens(text)

    def describe_request(self, request: GenerationRequest) -> str:
        """Render what this backend would send for `request`, for `amplifier-ls prompt`.

        Completion backends send the prompt text as it is; chat backends override this to
        show their messages.
        """
        return request.prompt.text

    async def prepare(self) -> None:
        """Load the model or check the connection ahead of the first request (optional)."""

    @abc.abstractmethod
    def stream(self, request: GenerationRequest, info: GenerationInfo) -> AsyncIterator[str]:
        """Yield the continuation of `request.prompt` in pieces until a stop sequence,
        `max_tokens` or the end of text.

        Raises BackendError (or a subclass) for failures; a stream that ends early because the
        connection dropped raises too, so that partial text is never taken for complete.
        """

    async def aclose(self) -> None:
        """Release connections, threads and model memory."""


def estimate_tokens(text: str) -> int:
    """Estimate tokens for English-like prose (about 4 characters a token) without a tokenizer.

    Characters outside Latin scripts (CJK, emoji) usually take a token or more each, so they
    are counted one token each.
    """
    wide = sum(1 for character in text if ord(character) > 0x2FFF)
    return (len(text) - wide + 3) // 4 + wide
