"""The prediction pipeline: state → volition → prompt → cache → backend → post-processing.

`Predictor` is what the command line and the language server call. It owns the backend, the
corpus index and the prediction cache for one workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

from .backends.base import Backend, GenerationInfo, GenerationRequest, Sampling
from .backends.registry import create_backend
from .cache import PredictionCache, default_cache_dir, request_key
from .corpus.model import Chunk
from .errors import PromptTooLarge
from .postprocess import Finished, cut_at_horizon, cut_loop, finish, stop_sequences
from .prompt import Prompt
from .prompt_builder import Budget, build_prompt
from .settings import Horizon, Settings
from .state import Document
from .volition import Mode, Volition, build_volition

if TYPE_CHECKING:
    from .corpus.index import CorpusIndex

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
TextCallback = Callable[[int, str], None]

_LOOP_CHECK_PIECES = 16
_HORIZON_TOKEN_FACTOR = {"sentence": 0.4, "paragraph": 1.0, "section": 3.0, "draft": 4.0}


@dataclass(frozen=True)
class PredictionRequest:
    document: Document
    offset: int
    mode: Mode = "continue"
    horizon: Horizon | None = None
    samples: int | None = None
    selection: tuple[int, int] | None = None
    use_corpus: bool = True
    exclude_corpus_paths: frozenset[str] = frozenset()
    """Corpus paths (relative, with forward slashes) left out of retrieval, besides the document."""


@dataclass
class Prediction:
    texts: list[str]
    """Candidates to insert, post-processed, in the document's line endings; empty unless ok."""
    status: Literal["ok", "empty", "degenerate"]
    reason: str
    replace_start: int
    replace_end: int
    cached: bool
    prompt: Prompt
    volition: Volition
    raw: list[str] = field(default_factory=list)
    infos: list[GenerationInfo] = field(default_factory=list)
    seconds: float = 0.0


def retrieval_query(document: Document) -> str:
    """Return the corpus retrieval query: the whole document, independent of the cursor, so that
    requests at different positions in one document select the same excerpts."""
    return document.title + "\n" + document.text


class Predictor:
    def __init__(
        self,
        settings: Settings,
        workspace: Path | None,
        backend: Backend | None = None,
        progress: Progress | None = None,
    ):
        self.settings = settings
        self.workspace = workspace
        self.cache_dir = (
            (Path(settings.cache.dir).expanduser() if settings.cache.dir else default_cache_dir())
            if settings.cache.enabled
            else None
        )
        self._progress = progress or (lambda message: None)
        self.backend = backend or create_backend(settings, self.cache_dir)
        self.cache = PredictionCache(self.cache_dir, settings.cache.size_limit_mb)
        self._corpus: CorpusIndex | None = None
        self._corpus_refreshed_at = float("-inf")
        self._corpus_excluded: frozenset[Path] = frozenset()
        self._prompt_lock = asyncio.Lock()

    @property
    def corpus(self) -> CorpusIndex | None:
        if self._corpus is None and self.workspace is not None and self.settings.corpus.enabled:
            from .corpus.index import CorpusIndex

            self._corpus = CorpusIndex(self.workspace, self.settings.corpus, self.cache_dir)
        return self._corpus

    def refresh_corpus(self, exclude_files: frozenset[Path] = frozenset(), max_age_s: float = 0.0) -> None:
        """Bring the corpus index up to date, unless it was refreshed less than `max_age_s` ago."""
        corpus = self.corpus
        if corpus is None:
            return
        fresh = time.monotonic() - self._corpus_refreshed_at < max_age_s
        if fresh and exclude_files == self._corpus_excluded:
            return
        report = corpus.refresh(exclude_files=exclude_files, progress=self._progress)
        self._corpus_refreshed_at = time.monotonic()
        self._corpus_excluded = exclude_files
        logger.debug("Corpus refreshed: %s", report)

    def _excluded_relative(self, request: PredictionRequest) -> set[str]:
        excluded = set(request.exclude_corpus_paths)
        path = request.document.path
        if path is not None and self.workspace is not None:
            with contextlib.suppress(ValueError):
                excluded.add(path.resolve().relative_to(self.workspace.resolve()).as_posix())
        return excluded

    def volition_for(self, request: PredictionRequest) -> Volition:
        return build_volition(
            request.document,
            request.offset,
            request.mode,
            request.horizon,
            request.selection,
            default_horizon=self.settings.prediction.horizon,
        )

    def max_tokens_for(self, volition: Volition) -> int:
        tokens = int(self.settings.decoding.max_tokens * _HORIZON_TOKEN_FACTOR[volition.horizon])
        return max(16, min(tokens, self.backend.capabilities().context_window // 2))

    async def build_prompt(
        self, request: PredictionRequest, corpus_scale: float = 1.0, corpus_max_age_s: float = 0.0
    ) -> tuple[Prompt, Volition]:
        """Build the prompt for a request; `corpus_scale` shrinks the archive budget on a retry.

        Scanning the corpus and counting tokens run in a worker thread, one request at a time,
        so that a language server's event loop keeps serving requests meanwhile.
        """
        volition = self.volition_for(request)
        await self.backend.prepare()
        async with self._prompt_lock:
            prompt = await asyncio.to_thread(
                self._build_prompt_blocking, request, volition, corpus_scale, corpus_max_age_s
            )
        return prompt, volition

    def _build_prompt_blocking(
        self, request: PredictionRequest, volition: Volition, corpus_scale: float, corpus_max_age_s: float
    ) -> Prompt:
        count = self.backend.count_tokens
        budget = Budget(
            context_window=self.backend.capabilities().context_window,
            max_output_tokens=self.max_tokens_for(volition),
            document_tokens=self.settings.prompt.document_budget_tokens,
            corpus_tokens=int(self.settings.corpus.budget_tokens * corpus_scale),
        )

        fit_excerpts: Callable[[int], list[Chunk]] | None = None
        if request.use_corpus and self.corpus is not None:
            document_path = request.document.path
            exclude_files = frozenset([document_path.resolve()]) if document_path else frozenset()
            self.refresh_corpus(exclude_files, corpus_max_age_s)
            excluded = self._excluded_relative(request)
            query = retrieval_query(request.document)
            corpus = self.corpus

            def fit_excerpts(tokens: int) -> list[Chunk]:
                return corpus.search(query, tokens, count, exclude_paths=excluded)

        return build_prompt(request.document, volition, (), budget, count, fit_excerpts)

    def _sampling(self, index: int) -> Sampling:
        decoding = self.settings.decoding
        seed = decoding.seed + index if decoding.seed >= 0 else None
        return Sampling(
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            min_p=decoding.min_p,
            repeat_penalty=decoding.repeat_penalty,
            repeat_last_n=decoding.repeat_last_n,
            seed=seed,
        )

    async def predict(
        self,
        request: PredictionRequest,
        on_text: TextCallback | None = None,
        corpus_max_age_s: float = 0.0,
    ) -> Prediction:
        """Predict what follows the cursor. Cancelling the awaiting task stops the backend."""
        started = time.perf_counter()
        samples = request.samples or self.settings.prediction.samples
        try:
            return await self._predict_once(request, samples, on_text, 1.0, started, corpus_max_age_s)
        except PromptTooLarge as error:
            logger.warning("%s; retrying once with half the corpus budget", error)
            return await self._predict_once(request, samples, on_text, 0.5, started, corpus_max_age_s)

    async def _predict_once(
        self,
        request: PredictionRequest,
        samples: int,
        on_text: TextCallback | None,
        corpus_scale: float,
        started: float,
        corpus_max_age_s: float,
    ) -> Prediction:
        prompt, volition = await self.build_prompt(request, corpus_scale, corpus_max_age_s)
        base = GenerationRequest(
            prompt=prompt,
            max_tokens=self.max_tokens_for(volition),
            stop=stop_sequences(volition),
            sampling=self._sampling(0),
        )
        key = request_key(self.backend.identity(), base, samples)
        raw = self.cache.get(key)
        cached = raw is not None
        infos: list[GenerationInfo] = []
        if raw is None:
            raw, infos = await self._generate_samples(base, volition, samples, on_text)
            self.cache.set(key, raw)
        return self._finish(raw, prompt, volition, request.document, cached, infos, started)

    async def _generate_samples(
        self, base: GenerationRequest, volition: Volition, samples: int, on_text: TextCallback | None
    ) -> tuple[list[str], list[GenerationInfo]]:
        limit = asyncio.Semaphore(max(1, self.backend.capabilities().max_concurrency))
        infos = [GenerationInfo() for _ in range(samples)]
        unseeded = base.sampling.seed is None

        async def one(index: int) -> str:
            sampling = self._sampling(index)
            if unseeded:
                sampling = replace(sampling, seed=random.randrange(2**31))
            request = replace(base, sampling=sampling)
            async with limit:
                return await self._generate_one(request, volition, infos[index], index, on_text)

        tasks = [asyncio.ensure_future(one(index)) for index in range(samples)]
        try:
            texts = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return list(texts), infos

    async def _generate_one(
        self,
        request: GenerationRequest,
        volition: Volition,
        info: GenerationInfo,
        index: int,
        on_text: TextCallback | None,
    ) -> str:
        """Stream one sample, stopping early once the horizon is passed or the text loops."""
        text = ""
        pieces = 0
        async with contextlib.aclosing(self.backend.stream(request, info)) as stream:
            async for piece in stream:
                text += piece
                pieces += 1
                if on_text is not None:
                    on_text(index, text)
                if _should_stop(text, volition, check_loop="\n" in piece or pieces % _LOOP_CHECK_PIECES == 0):
                    info.finish_reason = info.finish_reason or "horizon"
                    break
        return text

    def _finish(
        self,
        raw: list[str],
        prompt: Prompt,
        volition: Volition,
        document: Document,
        cached: bool,
        infos: list[GenerationInfo],
        started: float,
    ) -> Prediction:
        results: list[Finished] = [
            finish(text, volition, document.line_ending, self.settings.prompt.after_cursor_chars) for text in raw
        ]
        texts: list[str] = []
        for result in results:
            if result.status == "ok" and result.text not in texts:
                texts.append(result.text)
        if texts:
            status, reason = "ok", ""
        else:
            status = "degenerate" if any(r.status == "degenerate" for r in results) else "empty"
            reason = next((r.reason for r in results if r.reason), "the model produced no text")
        return Prediction(
            texts=texts,
            status=status,
            reason=reason,
            replace_start=volition.start,
            replace_end=volition.end,
            cached=cached,
            prompt=prompt,
            volition=volition,
            raw=raw,
            infos=infos,
            seconds=time.perf_counter() - started,
        )

    async def aclose(self) -> None:
        await self.backend.aclose()
        self.cache.close()
        if self._corpus is not None:
            self._corpus.close()


def _should_stop(text: str, volition: Volition, check_loop: bool) -> bool:
    """Tell whether the stream can stop: the horizon is passed, or (when `check_loop`) the text loops.

    Loop detection reads the whole text, so it runs at line ends and every few pieces only.
    """
    if volition.horizon in ("sentence", "paragraph"):
        if text.strip() and len(cut_at_horizon(text, volition)) < len(text.rstrip()):
            return True
    return check_loop and cut_loop(text)[1]
