"""Aggregate per-cut scores into means with bootstrap confidence intervals.

Confidence intervals are percentile intervals of the mean over cuts, from resampling the
cuts with replacement (seeded, so a report is reproducible). Differences between two
variants are paired: both are scored on the same cuts, and the cuts are resampled together.

Besides per-cut means there are two pooled measures:

- pooled Delta: Burrows' Delta of all of a variant's samples taken as one text, against the
  author's profile. One paragraph has too few words for stable word frequencies; the pool
  has enough. The author's row pools the real continuations. It has no interval.
- diversity across cuts: cuts are put in groups of the same kind (one group per `samples`
  cuts), and the diversity of the first sample of each cut is measured within each group.
  The author's row measures their real continuations of the same groups, so a variant that
  writes much the same text whatever the context (mode collapse) shows a higher self-BLEU
  than the author.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from . import metrics
from .configs import AUTHOR, BASE, NO_CORPUS_SUFFIX, Variant
from .cuts import Cut
from .runner import CutResult

Better = Literal["higher", "lower", "one", "author"]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    better: Better
    """The better direction: higher, lower, closer to one, or closer to the author's value."""
    description: str
    digits: int = 1


METRICS: tuple[Metric, ...] = (
    Metric("chrf", "chrF", "higher", "character n-gram F-score against the real continuation (0–100)"),
    Metric("chrf_best", "chrF best", "higher", "chrF of the best sample of each cut"),
    Metric("rouge_l", "ROUGE-L", "higher", "longest common word subsequence F1 against the real continuation (0–100)"),
    Metric("delta", "Delta", "lower", "Burrows' Delta of the prediction to the author's profile", 3),
    Metric("delta_gap", "Delta gap", "lower",
           "Delta of the prediction minus Delta of the real continuation, both cut to the shorter one's length", 3),
    Metric("length_ratio", "length", "one", "words of the prediction over words of the real continuation", 2),
    Metric("stopped", "stopped", "higher", "share of samples that ended at the boundary asked for", 2),
    Metric("ok", "usable", "higher", "share of samples that were neither empty nor degenerate", 2),
    Metric("distinct_1", "distinct-1", "author", "unique words over all words of a cut's samples", 2),
    Metric("distinct_2", "distinct-2", "author", "unique word pairs over all word pairs of a cut's samples", 2),
    Metric("self_bleu", "self-BLEU", "author", "BLEU of each sample against the others (100: identical)"),
)
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}
PAIRED_METRICS = ("chrf", "rouge_l", "delta", "delta_gap", "length_ratio")


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True)
class Comparison:
    first: str
    second: str
    metric: str
    difference: Estimate
    """Mean of first minus second over the cuts both scored."""


@dataclass
class Summary:
    metrics: dict[str, dict[str, Estimate | None]] = field(default_factory=dict)
    """Variant name to metric key to the estimate (None: no cut had a value)."""
    pooled_delta: dict[str, Estimate | None] = field(default_factory=dict)
    across_cuts: dict[str, dict[str, Estimate | None]] = field(default_factory=dict)
    """Variant name to diversity measure (distinct_1, distinct_2, self_bleu) across cut groups."""
    comparisons: list[Comparison] = field(default_factory=list)
    groups: list[list[str]] = field(default_factory=list)
    """The cut groups of the across-cuts diversity, as cut ids."""


def bootstrap(values: Sequence[float], rng: random.Random, resamples: int, confidence: float = 0.95) -> Estimate | None:
    """Return the mean of `values` with a percentile bootstrap interval; None for no values."""
    count = len(values)
    if count == 0:
        return None
    mean = sum(values) / count
    if count == 1 or resamples <= 0:
        return Estimate(mean, mean, mean, count)
    means = sorted(sum(values[rng.randrange(count)] for _ in range(count)) / count for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    low = means[min(resamples - 1, int(tail * resamples))]
    high = means[min(resamples - 1, int((1.0 - tail) * resamples))]
    return Estimate(mean, low, high, count)


def summarise(
    results: Sequence[CutResult],
    cuts: Sequence[Cut],
    variants: Sequence[Variant],
    profile: metrics.StyleProfile,
    group_size: int,
    seed: int,
    resamples: int = 1000,
) -> Summary:
    """Aggregate per-cut results: means with intervals per variant, the pooled Delta, the
    diversity across cut groups, and the paired differences between variants."""

    def rng(*labels: str) -> random.Random:
        """A generator per estimate, so adding a variant leaves the other intervals unchanged."""
        return random.Random(":".join([str(seed), *labels]))

    by_key = {(result.variant, result.cut): result for result in results}
    cut_ids = [cut.id for cut in cuts]
    summary = Summary()

    for variant in variants:
        rows = [by_key.get((variant.name, cut_id)) for cut_id in cut_ids]
        scored = [row for row in rows if row is not None and row.status != "error"]
        summary.metrics[variant.name] = {
            metric.key: bootstrap(_values(scored, metric.key), rng(variant.name, metric.key), resamples)
            for metric in METRICS
        }
        summary.pooled_delta[variant.name] = _pooled_delta(scored, profile)

    summary.groups = _groups(cuts, max(2, group_size), seed)
    for variant in variants:
        summary.across_cuts[variant.name] = _across_cuts(
            summary.groups, variant.name, by_key, rng(variant.name, "across-cuts"), resamples
        )

    for first, second in comparison_pairs(variants):
        for key in PAIRED_METRICS:
            differences = []
            for cut_id in cut_ids:
                a, b = by_key.get((first, cut_id)), by_key.get((second, cut_id))
                if a is None or b is None:
                    continue
                value_a, value_b = a.metrics.get(key), b.metrics.get(key)
                if value_a is not None and value_b is not None:
                    differences.append(value_a - value_b)
            estimate = bootstrap(differences, rng(first, second, key), resamples)
            if estimate is not None:
                summary.comparisons.append(Comparison(first, second, key, estimate))
    return summary


def comparison_pairs(variants: Sequence[Variant]) -> list[tuple[str, str]]:
    """Pairs compared cut by cut: each configuration against its no-corpus ablation, then each
    other configuration against the base configuration."""
    names = {variant.name for variant in variants}
    pairs = []
    for variant in variants:
        if variant.use_corpus and variant.name + NO_CORPUS_SUFFIX in names:
            pairs.append((variant.name, variant.name + NO_CORPUS_SUFFIX))
    for variant in variants:
        if variant.configuration not in (BASE, AUTHOR) and variant.use_corpus == _base_uses_corpus(variants):
            pairs.append((variant.name, BASE))
    return pairs


def _base_uses_corpus(variants: Sequence[Variant]) -> bool:
    return any(variant.name == BASE and variant.use_corpus for variant in variants)


def _values(rows: Sequence[CutResult], key: str) -> list[float]:
    return [row.metrics[key] for row in rows if row.metrics.get(key) is not None]


def _pooled_delta(rows: Sequence[CutResult], profile: metrics.StyleProfile) -> Estimate | None:
    """Return the Delta of all samples pooled, without an interval.

    NOTE: a bootstrap of the pooled Delta is biased because a resample repeats texts, which
    distorts word frequencies. Per-cut Delta and the paired differences have intervals.
    """
    total: Counter[str] = Counter()
    pooled = 0
    for row in rows:
        counts = Counter(metrics.style_words("\n\n".join(sample.text for sample in row.samples)))
        if counts:
            total.update(counts)
            pooled += 1
    value = profile.delta_of_counts(total)
    return Estimate(value, value, value, pooled) if value is not None else None


def _groups(cuts: Sequence[Cut], size: int, seed: int) -> list[list[str]]:
    """Split the cuts into groups of `size` cuts of one kind, drawn in a seeded order."""
    rng = random.Random(f"groups:{seed}")
    groups: list[list[str]] = []
    for kind in sorted({cut.kind for cut in cuts}):
        ids = sorted(cut.id for cut in cuts if cut.kind == kind)
        rng.shuffle(ids)
        groups.extend(ids[start : start + size] for start in range(0, len(ids) - size + 1, size))
    return groups


def _across_cuts(
    groups: Sequence[Sequence[str]], variant: str, by_key: dict[tuple[str, str], CutResult],
    rng: random.Random, resamples: int,
) -> dict[str, Estimate | None]:
    values: dict[str, list[float]] = {"distinct_1": [], "distinct_2": [], "self_bleu": []}
    for group in groups:
        texts = []
        for cut_id in group:
            row = by_key.get((variant, cut_id))
            first = next((sample.text for sample in row.samples if sample.text), "") if row else ""
            if first:
                texts.append(first)
        if len(texts) < 2:
            continue
        for key, value in metrics.diversity(texts).items():
            if value is not None:
                values[key].append(value)
    return {key: bootstrap(series, rng, resamples) for key, series in values.items()}
