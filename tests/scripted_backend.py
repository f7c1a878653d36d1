"""An in-process backend for pipeline unit tests: replies from a list, records requests.

End-to-end tests use the fake HTTP servers in tests/fakes instead; this one only exercises
the pipeline's own logic (caching, samples, cancellation) without a socket.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from amplifier_ls.backends.base import Backend, Capabilities, GenerationInfo, GenerationRequest
from amplifier_ls.errors import BackendError


class ScriptedBackend(Backend):
    name = "scripted"

    def __init__(self, replies: list[str], delay_s: float = 0.0, fail_after: int | None = None,
                 context_window: int = 4096, max_concurrency: int = 1):
        self.replies = list(replies)
        self.delay_s = delay_s
        self.fail_after = fail_after
        self.requests: list[GenerationRequest] = []
        self.closed_streams = 0
        self.finished_streams = 0
        self._context_window = context_window
        self._max_concurrency = max_concurrency

    @property
    def model(self) -> str:
        return "scripted-model"

    def capabilities(self) -> Capabilities:
        return Capabilities(context_window=self._context_window, max_concurrency=self._max_concurrency)

    async def stream(self, request: GenerationRequest, info: GenerationInfo) -> AsyncIterator[str]:
        self.requests.append(request)
        reply = self.replies[(len(self.requests) - 1) % len(self.replies)]
        words = reply.split(" ")
        try:
            for index, word in enumerate(words):
                if self.fail_after is not None and index >= self.fail_after:
                    raise BackendError("connection closed before the completion finished")
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                yield word if index == 0 else " " + word
            info.finish_reason = "stop"
            self.finished_streams += 1
        finally:
            self.closed_streams += 1
