"""Predict every cut with every variant and score each prediction against the real continuation.

The run goes document by document, and inside a document variant by variant. The corpus
index then switches its held-out file once per document, and the local model gets the same
archive prefix several times in a row, which it reuses from its KV cache. Each cut gets its own sampling seed, derived
from the run's seed and the cut, so that a rerun sends identical requests and is served
from the prediction cache: an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BackendError, BackendUnavailable
from ..pipeline import Prediction, PredictionRequest, Predictor
from ..postprocess import cut_at_horizon, finish
from ..settings import Settings
from ..state import Document
from ..text import normalize_newlines
from ..volition import Volition
from . import metrics
from .configs import Variant
from .cuts import Cut, HeldOut, truncated

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class Sample:
    text: str
    """The post-processed prediction with "\\n" line endings; "" unless `status` is "ok"."""
    status: str
    stopped: bool | None = None
    """Whether generation ended at the requested boundary rather than at the token limit;
    None when that is unknown (a cached prediction whose finish reason was not recorded)."""
    finish_reason: str | None = None


@dataclass
class CutResult:
    cut: str
    """The cut's id."""
    variant: str
    status: str
    """"ok", "empty", "degenerate" (as the pipeline reports them) or "error"."""
    reason: str = ""
    cached: bool = False
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    excerpts: list[str] = field(default_factory=list)
    """Corpus paths of the excerpts in the prompt."""


@dataclass
class RunCounts:
    predictions: int = 0
    cache_hits: int = 0
    errors: int = 0
    seconds: float = 0.0


def cut_seed(run_seed: int, cut: Cut) -> int:
    """Return the sampling seed of a cut; sample i uses this plus i (see Predictor._sampling)."""
    digest = hashlib.sha256(f"{run_seed}:{cut.id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x3FFFFFFF


def score_samples(cut: Cut, texts: Sequence[str], profile: metrics.StyleProfile) -> dict[str, float | None]:
    """Score the samples of one cut; an empty text stands for a sample that produced nothing usable."""
    reference = cut.reference
    chrf_scores = [metrics.chrf(text, reference) for text in texts]
    deltas = [value for value in (profile.delta(text) for text in texts if text) if value is not None]
    ratios = [value for value in (metrics.length_ratio(text, reference) for text in texts) if value is not None]
    delta = _mean(deltas)
    gaps = [metrics.length_matched_delta_gap(profile, text, reference) for text in texts if text]
    produced = [text for text in texts if text]
    spread = metrics.diversity(produced) if len(produced) >= 2 else {}
    return {
        "chrf": _mean(chrf_scores),
        "chrf_best": max(chrf_scores) if chrf_scores else None,
        "rouge_l": _mean([metrics.rouge_l(text, reference) for text in texts]),
        "delta": delta,
        "delta_reference": profile.delta(reference),
        "delta_gap": _mean([gap for gap in gaps if gap is not None]),
        "length_ratio": _mean(ratios),
        "distinct_1": spread.get("distinct_1"),
        "distinct_2": spread.get("distinct_2"),
        "self_bleu": spread.get("self_bleu"),
    }


def stopped_at_boundary(raw: str, volition: Volition, finish_reason: str | None) -> bool | None:
    """Tell whether one raw generation ended at the boundary of the requested horizon.

    Text past the boundary means the model reached it and went on, and the pipeline cut
    there. Otherwise the backend's finish reason separates a stop sequence or the end of
    text ("stop") from the token limit ("length").
    """
    text = normalize_newlines(raw)
    if len(cut_at_horizon(text, volition).rstrip()) < len(text.rstrip()):
        return True
    if finish_reason is None:
        return None
    return finish_reason != "length"


class FinishReasons:
    """Finish reasons of generated samples, kept beside the prediction cache.

    The prediction cache stores only the text, so without this a resumed run could not tell
    whether a cached sample stopped at its boundary or at the token limit.
    """

    def __init__(self, directory: Path | None):
        self._cache = None
        if directory is not None:
            import diskcache

            self._cache = diskcache.Cache(str(directory / "evaluation-finish-reasons"), size_limit=64 * 1024 * 1024)

    @staticmethod
    def _key(identity: dict[str, Any], raw: str, max_tokens: int) -> str:
        material = json.dumps([identity, max_tokens, raw], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def get(self, identity: dict[str, Any], raw: str, max_tokens: int) -> str | None:
        if self._cache is None:
            return None
        value = self._cache.get(self._key(identity, raw, max_tokens))
        return value if isinstance(value, str) else None

    def set(self, identity: dict[str, Any], raw: str, max_tokens: int, reason: str | None) -> None:
        if self._cache is not None and reason:
            self._cache.set(self._key(identity, raw, max_tokens), reason)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


class Runner:
    """Runs the variants over the held-out cuts, one predictor per configuration."""

    def __init__(
        self,
        settings: dict[str, Settings],
        workspace: Path,
        variants: Sequence[Variant],
        profile: metrics.StyleProfile,
        samples: int,
        seed: int,
        progress: Progress | None = None,
    ):
        self.settings = settings
        self.workspace = workspace
        self.variants = list(variants)
        self.profile = profile
        self.samples = samples
        self.seed = seed
        self.counts = RunCounts()
        self._progress = progress or (lambda message: None)
        self._predictors: dict[str, Predictor] = {}
        self._finish_reasons: FinishReasons | None = None

    def predictor(self, configuration: str) -> Predictor:
        predictor = self._predictors.get(configuration)
        if predictor is None:
            settings = self.settings[configuration]
            predictor = Predictor(settings, self.workspace, progress=self._corpus_progress)
            self._predictors[configuration] = predictor
            if settings.corpus.enabled:
                # Index every file before the first one is held out. A file that was never
                # indexed is left out of the BM25 statistics, not only of the results, so
                # without this the first run would retrieve differently from a resumed one.
                predictor.refresh_corpus()
            if self._finish_reasons is None:
                self._finish_reasons = FinishReasons(predictor.cache_dir)
        return predictor

    def _corpus_progress(self, message: str) -> None:
        self._progress(f"Corpus: {message}")

    async def run(self, held_out: Sequence[HeldOut]) -> list[CutResult]:
        """Predict and score every cut with every variant; raise BackendUnavailable if a backend cannot run."""
        started = time.perf_counter()
        total = sum(len(document.cuts) for document in held_out) * sum(1 for v in self.variants if not v.is_author)
        results: list[CutResult] = []
        done = 0
        for document in held_out:
            for variant in self.variants:
                for cut in document.cuts:
                    if variant.is_author:
                        results.append(self._author_result(cut))
                        continue
                    self._report(done, total, started, variant, cut)
                    results.append(await self._predict_cut(variant, cut))
                    done += 1
        self.counts.seconds = time.perf_counter() - started
        logger.info(
            "Evaluated %d predictions in %.1f s (%d from the cache, %d failed)",
            self.counts.predictions, self.counts.seconds, self.counts.cache_hits, self.counts.errors,
        )
        return results

    def _report(self, done: int, total: int, started: float, variant: Variant, cut: Cut) -> None:
        elapsed = time.perf_counter() - started
        generated = done - self.counts.cache_hits
        remaining = ""
        if generated > 0:
            seconds = elapsed / generated * (total - done)
            remaining = f", about {_duration(seconds)} left"
        self._progress(
            f"Predicting {done + 1}/{total} ({self.counts.cache_hits} from the cache{remaining}): "
            f"{variant.name}, {cut.id}"
        )

    def _author_result(self, cut: Cut) -> CutResult:
        result = CutResult(cut.id, "author", "ok", samples=[Sample(cut.reference, "ok", True)])
        result.metrics = score_samples(cut, [cut.reference], self.profile)
        return result

    async def _predict_cut(self, variant: Variant, cut: Cut) -> CutResult:
        predictor = self.predictor(variant.configuration)
        base = self.settings[variant.configuration]
        predictor.settings = dataclasses.replace(
            base, decoding=dataclasses.replace(base.decoding, seed=cut_seed(self.seed, cut))
        )
        document = Document.from_file(cut.file)
        request = PredictionRequest(
            document=truncated(document, cut.offset),
            offset=cut.offset,
            mode="next-section" if cut.kind == "section" else "continue",
            horizon="section" if cut.kind == "section" else "paragraph",
            samples=self.samples,
            use_corpus=variant.use_corpus,
            exclude_corpus_paths=frozenset([cut.path]),
        )
        self.counts.predictions += 1
        try:
            # The corpus does not change during a run, so the index is walked once per
            # predictor and then only when the held-out document changes.
            prediction = await predictor.predict(request, corpus_max_age_s=float("inf"))
        except BackendUnavailable:
            raise
        except BackendError as error:
            self.counts.errors += 1
            logger.warning("Prediction failed for %s with %s: %s", cut.id, variant.name, error)
            return CutResult(cut.id, variant.name, "error", reason=str(error))

        if prediction.cached:
            self.counts.cache_hits += 1
        samples = self._samples(predictor, prediction)
        result = CutResult(
            cut.id,
            variant.name,
            prediction.status,
            reason=prediction.reason,
            cached=prediction.cached,
            seconds=prediction.seconds,
            samples=samples,
            excerpts=sorted({excerpt.path for excerpt in prediction.prompt.excerpts}),
        )
        result.metrics = score_samples(cut, [sample.text for sample in samples], self.profile)
        stops = [sample.stopped for sample in samples if sample.stopped is not None]
        result.metrics["stopped"] = sum(stops) / len(stops) if stops else None
        result.metrics["ok"] = sum(sample.status == "ok" for sample in samples) / len(samples) if samples else 0.0
        return result

    def _samples(self, predictor: Predictor, prediction: Prediction) -> list[Sample]:
        """Post-process each raw sample on its own: `Prediction.texts` drops duplicates, which
        would hide samples that collapsed onto the same text."""
        volition = prediction.volition
        identity = predictor.backend.identity()
        max_tokens = predictor.max_tokens_for(volition)
        reasons = self._finish_reasons
        samples = []
        for index, raw in enumerate(prediction.raw):
            reason = prediction.infos[index].finish_reason if index < len(prediction.infos) else None
            if reasons is not None:
                if reason is None:
                    reason = reasons.get(identity, raw, max_tokens)
                else:
                    reasons.set(identity, raw, max_tokens, reason)
            finished = finish(raw, volition, "\n", predictor.settings.prompt.after_cursor_chars)
            text = finished.text.strip() if finished.status == "ok" else ""
            samples.append(Sample(text, finished.status, stopped_at_boundary(raw, volition, reason), reason))
        return samples

    async def aclose(self) -> None:
        for predictor in self._predictors.values():
            await predictor.aclose()
        self._predictors.clear()
        if self._finish_reasons is not None:
            self._finish_reasons.close()


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
