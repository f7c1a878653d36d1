"""Write an evaluation out: a table for the terminal, JSON, and a self-contained HTML page."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import plots
from .configs import AUTHOR, Variant
from .cuts import Cut
from .runner import CutResult, RunCounts
from .summary import METRIC_BY_KEY, METRICS, PAIRED_METRICS, Estimate, Summary

JSON_VERSION = 1


@dataclass
class Report:
    command: list[str]
    workspace: str
    options: dict[str, Any]
    corpus_files: int
    profile_words: int
    profile_documents: int
    cuts: list[Cut]
    variants: list[Variant]
    configurations: dict[str, dict[str, Any]]
    """Configuration name to its overrides, backend and model."""
    results: list[CutResult]
    summary: Summary
    counts: RunCounts
    held_out: list[str] = field(default_factory=list)


def _cell(estimate: Estimate | None, digits: int, signed: bool = False) -> str:
    if estimate is None or not math.isfinite(estimate.mean):
        return "–"
    form = f"{'+' if signed else ''}.{digits}f"
    mean, low, high = (format(value, form) for value in (estimate.mean, estimate.low, estimate.high))
    if low == high:
        return mean
    return f"{mean} [{low}, {high}]"


def table_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the summary table: one row per measure, one column per variant."""
    names = [variant.name for variant in report.variants]
    rows: list[list[str]] = []
    summary = report.summary
    for metric in METRICS:
        rows.append([metric.label] + [_cell(summary.metrics[name].get(metric.key), metric.digits) for name in names])
        if metric.key == "delta_gap":
            rows.append(["pooled Delta"] + [_cell(summary.pooled_delta.get(name), 3) for name in names])
    for key, label, digits in (("distinct_2", "distinct-2 across cuts", 2), ("self_bleu", "self-BLEU across cuts", 1)):
        rows.append([label] + [_cell(summary.across_cuts.get(name, {}).get(key), digits) for name in names])
    return ["measure", *names], rows


def comparison_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    pairs: dict[tuple[str, str], dict[str, Estimate]] = {}
    for comparison in report.summary.comparisons:
        pairs.setdefault((comparison.first, comparison.second), {})[comparison.metric] = comparison.difference
    header = ["first − second", *(METRIC_BY_KEY[key].label for key in PAIRED_METRICS)]
    rows = []
    for (first, second), estimates in pairs.items():
        cells = [_signed(estimates.get(key), METRIC_BY_KEY[key].digits) for key in PAIRED_METRICS]
        rows.append([f"{first} − {second}", *cells])
    return header, rows


def _signed(estimate: Estimate | None, digits: int) -> str:
    if estimate is None:
        return "–"
    marker = " *" if estimate.low > 0 or estimate.high < 0 else ""
    return _cell(estimate, digits, signed=True) + marker


def _format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


def describe_run(report: Report) -> str:
    kinds = {kind: sum(1 for cut in report.cuts if cut.kind == kind) for kind in ("paragraph", "section")}
    options = report.options
    counts = report.counts
    return (
        f"{len(report.cuts)} cuts ({kinds['paragraph']} paragraph, {kinds['section']} section) in "
        f"{len(report.held_out)} held-out documents of {report.corpus_files}; "
        f"{options['samples']} samples per cut; seed {options['seed']}.\n"
        f"Predictions: {counts.predictions} ({counts.cache_hits} from the cache, {counts.errors} failed) "
        f"in {counts.seconds:.0f} s. Style profile: {report.profile_words} most frequent words over "
        f"{report.profile_documents} corpus documents (held-out documents left out)."
    )


def terminal_text(report: Report) -> str:
    header, rows = table_rows(report)
    parts = [
        describe_run(report),
        "",
        ("Means over cuts with 95% bootstrap intervals. Higher is better for chrF, ROUGE-L, stopped and usable; "
        "lower for Delta; length is best near 1; diversity is best near the author's."),
        "",
        _format_table(header, rows),
    ]
    comparison_header, comparisons = comparison_rows(report)
    if comparisons:
        parts += [
            "",
            "Paired differences over the same cuts (* : the 95% interval excludes 0):",
            "",
            _format_table(comparison_header, comparisons),
        ]
    return "\n".join(parts) + "\n"


def _estimate_dict(estimate: Estimate | None) -> dict[str, Any] | None:
    return estimate.as_dict() if estimate is not None else None


def json_payload(report: Report) -> dict[str, Any]:
    summary = report.summary
    return {
        "version": JSON_VERSION,
        "command": report.command,
        "workspace": report.workspace,
        "options": report.options,
        "corpus": {
            "files": report.corpus_files,
            "held_out": report.held_out,
            "profile": {"words": report.profile_words, "documents": report.profile_documents},
        },
        "configurations": report.configurations,
        "variants": [asdict(variant) for variant in report.variants],
        "metrics": {metric.key: {"label": metric.label, "better": metric.better, "description": metric.description}
                    for metric in METRICS},
        "cuts": [
            {"id": cut.id, "path": cut.path, "kind": cut.kind, "offset": cut.offset,
             "before_chars": cut.before_chars, "reference": cut.reference}
            for cut in report.cuts
        ],
        "results": [asdict(result) for result in report.results],
        "summary": {
            name: {key: _estimate_dict(estimate) for key, estimate in values.items()}
            for name, values in summary.metrics.items()
        },
        "pooled_delta": {name: _estimate_dict(estimate) for name, estimate in summary.pooled_delta.items()},
        "diversity_across_cuts": {
            "groups": summary.groups,
            "variants": {name: {key: _estimate_dict(estimate) for key, estimate in values.items()}
                         for name, values in summary.across_cuts.items()},
        },
        "comparisons": [
            {"first": c.first, "second": c.second, "metric": c.metric, "difference": c.difference.as_dict()}
            for c in summary.comparisons
        ],
        "counts": asdict(report.counts),
    }


def write_json(report: Report, path: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(json_payload(report), handle, ensure_ascii=False, indent=2)
        handle.write("\n")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0.5rem 0; }
figcaption { font-size: 0.8rem; color: #555; max-width: 680px; }
pre { white-space: pre-wrap; background: #f8f8f8; padding: 0.4rem; margin: 0.2rem 0; font-size: 0.8rem; }
details { margin: 0.3rem 0; } code { font-size: 0.85rem; }
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="{"num" if index else ""}">{html.escape(cell)}</td>' for index, cell in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _distribution_plots(report: Report) -> list[str]:
    by_variant: dict[str, list[CutResult]] = {}
    for result in report.results:
        if result.status != "error":
            by_variant.setdefault(result.variant, []).append(result)
    figures = []
    for metric in METRICS:
        series = []
        intervals = {}
        for variant in report.variants:
            values = [row.metrics[metric.key] for row in by_variant.get(variant.name, [])
                      if row.metrics.get(metric.key) is not None]
            if not values:
                continue
            series.append((variant.name, values))
            estimate = report.summary.metrics[variant.name].get(metric.key)
            if estimate is not None:
                intervals[variant.name] = (estimate.mean, estimate.low, estimate.high)
        if not series:
            continue
        svg = plots.distribution_svg(metric.key, metric.label, series, intervals)
        figures.append(f"<figure>{svg}<figcaption>{html.escape(metric.label)}: {html.escape(metric.description)}."
                       "</figcaption></figure>")
    return figures


def _pair_plots(report: Report) -> list[str]:
    by_key = {(result.variant, result.cut): result for result in report.results if result.status != "error"}
    pairs = list(dict.fromkeys((c.first, c.second) for c in report.summary.comparisons))
    figures = []
    for first, second in pairs:
        for key in ("chrf", "delta"):
            points = []
            for cut in report.cuts:
                a, b = by_key.get((first, cut.id)), by_key.get((second, cut.id))
                if a and b and a.metrics.get(key) is not None and b.metrics.get(key) is not None:
                    points.append((b.metrics[key], a.metrics[key]))
            if points:
                figures.append(f"<figure>{plots.scatter_svg(key, METRIC_BY_KEY[key].label, second, first, points)}</figure>")
    return figures


def _difference_plots(report: Report) -> list[str]:
    figures = []
    for key in PAIRED_METRICS:
        rows = [
            (f"{c.first} − {c.second}", c.difference.mean, c.difference.low, c.difference.high)
            for c in report.summary.comparisons if c.metric == key
        ]
        if rows:
            figures.append(f"<figure>{plots.differences_svg(key, METRIC_BY_KEY[key].label, rows)}</figure>")
    return figures


def _cut_details(report: Report) -> str:
    by_cut: dict[str, list[CutResult]] = {}
    for result in report.results:
        by_cut.setdefault(result.cut, []).append(result)
    parts = []
    for cut in report.cuts:
        rows = []
        for result in by_cut.get(cut.id, []):
            if result.variant == AUTHOR:
                continue
            scores = ", ".join(
                f"{METRIC_BY_KEY[key].label} {result.metrics[key]:.{METRIC_BY_KEY[key].digits}f}"
                for key in ("chrf", "rouge_l", "delta") if result.metrics.get(key) is not None
            )
            samples = "".join(f"<pre>{html.escape(sample.text or '(' + sample.status + ')')}</pre>" for sample in result.samples)
            status = "" if result.status == "ok" else f" <em>{html.escape(result.status)}: {html.escape(result.reason)}</em>"
            rows.append(f"<tr><td>{html.escape(result.variant)}{status}<br><small>{html.escape(scores)}</small></td>"
                        f"<td>{samples}</td></tr>")
        parts.append(
            f"<details><summary><code>{html.escape(cut.id)}</code></summary>"
            f"<table><tr><td>author (real continuation)</td><td><pre>{html.escape(cut.reference)}</pre></td></tr>"
            f"{''.join(rows)}</table></details>"
        )
    return "".join(parts)


def html_page(report: Report) -> str:
    header, rows = table_rows(report)
    comparison_header, comparisons = comparison_rows(report)
    configurations = "".join(
        f"<li><strong>{html.escape(name)}</strong>: <code>{html.escape(json.dumps(values, ensure_ascii=False))}</code></li>"
        for name, values in report.configurations.items()
    )
    sections = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>amplifier-ls evaluation</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>How close the predictions come to what the author wrote</h1>",
        f"<p>{html.escape(describe_run(report))}</p>",
        f"<p><code>{html.escape(' '.join(report.command))}</code></p>",
        f"<ul>{configurations}</ul>",
        "<h2>Summary</h2>",
        ("<p>Means over cuts with 95% bootstrap intervals. <em>author</em> is the real continuation scored as a "
        "prediction: the best overlap and the author's own style distance.</p>"),
        _html_table(header, rows),
    ]
    if comparisons:
        sections += [
            "<h2>Paired differences</h2>",
            "<p>First minus second over the same cuts; * marks a 95% interval that excludes 0.</p>",
            _html_table(comparison_header, comparisons),
            '<div class="plots">', *_difference_plots(report), "</div>",
            "<h2>Configuration against configuration</h2>",
            "<p>Each dot is one cut. Above the dashed diagonal the variant on the vertical axis scores higher.</p>",
            '<div class="plots">', *_pair_plots(report), "</div>",
        ]
    sections += [
        "<h2>Distributions</h2>",
        '<div class="plots">', *_distribution_plots(report), "</div>",
        "<h2>Cuts</h2>",
        _cut_details(report),
        "</body></html>",
    ]
    return "\n".join(sections)


def write_html(report: Report, path: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(html_page(report))
