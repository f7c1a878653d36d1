"""Plots of an evaluation as inline SVG, written by hand so the report needs no plotting library.

Every function returns one `<svg>` element carrying `data-metric` (and `data-plot` for its
kind), with text escaped, fixed sizes and no external references.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

PALETTE = ("#3b6fb6", "#d9822b", "#4f9a55", "#b84a62", "#7a5cb0", "#2f9c9c", "#8c6d31", "#666666")
AUTHOR_COLOUR = "#222222"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values covering [low, high], about `count` of them."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw_step = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _format(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{html.escape(content)}</text>'


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def colour(index: int, name: str) -> str:
    return AUTHOR_COLOUR if name == "author" else PALETTE[index % len(PALETTE)]


def distribution_svg(
    metric: str,
    label: str,
    series: Sequence[tuple[str, Sequence[float]]],
    intervals: dict[str, tuple[float, float, float]],
) -> str:
    """Draw one row per variant: each cut's value as a dot, the quartiles as a box, and the
    mean with its confidence interval as a bar with a diamond."""
    left, right, top, row_height = 170, 24, 28, 34
    width = 680
    height = top + row_height * max(1, len(series)) + 34
    values = [value for _, points in series for value in points]
    for mean, low, high in intervals.values():
        values.extend((mean, low, high))
    low_value, high_value = (min(values), max(values)) if values else (0.0, 1.0)
    ticks = nice_ticks(low_value, high_value)
    axis_low, axis_high = min(ticks[0], low_value), max(ticks[-1], high_value)
    span = (axis_high - axis_low) or 1.0

    def x_of(value: float) -> float:
        return left + (value - axis_low) / span * (width - left - right)

    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-plot="distribution" '
        f'data-metric="{html.escape(metric)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT}>'),
        f"<title>{html.escape(label)}: per-cut values by variant</title>",
        _text(8, 16, f"{label} per cut (dots), quartiles (box), mean with 95% interval (diamond)", extra='font-weight="600"'),
    ]
    bottom = top + row_height * max(1, len(series))
    for tick in ticks:
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#e4e4e4"/>')
        parts.append(_text(x, bottom + 14, _format(tick), "middle", 'fill="#555"'))
    for row, (name, points) in enumerate(series):
        middle = top + row_height * row + row_height / 2
        fill = colour(row, name)
        parts.append(_text(left - 8, middle + 4, name, "end"))
        if len(points) >= 2:
            q1, q2, q3 = (_quantile(points, q) for q in (0.25, 0.5, 0.75))
            parts.append(
                f'<rect x="{x_of(q1):.1f}" y="{middle - 9:.1f}" width="{max(1.0, x_of(q3) - x_of(q1)):.1f}" '
                f'height="18" fill="{fill}" fill-opacity="0.12" stroke="{fill}" stroke-opacity="0.5"/>'
            )
            parts.append(
                f'<line x1="{x_of(q2):.1f}" y1="{middle - 9:.1f}" x2="{x_of(q2):.1f}" y2="{middle + 9:.1f}" '
                f'stroke="{fill}" stroke-opacity="0.6"/>'
            )
        for index, value in enumerate(points):
            jitter = ((index * 7919) % 13 - 6) * 1.1
            parts.append(
                f'<circle cx="{x_of(value):.1f}" cy="{middle + jitter:.1f}" r="2.4" fill="{fill}" fill-opacity="0.55"/>'
            )
        if name in intervals:
            mean, low, high = intervals[name]
            parts.append(
                f'<line x1="{x_of(low):.1f}" y1="{middle}" x2="{x_of(high):.1f}" y2="{middle}" '
                f'stroke="{AUTHOR_COLOUR}" stroke-width="2"/>'
            )
            x = x_of(mean)
            parts.append(
                f'<path d="M{x:.1f},{middle - 5} L{x + 5:.1f},{middle} L{x:.1f},{middle + 5} L{x - 5:.1f},{middle} Z" '
                f'fill="{fill}" stroke="{AUTHOR_COLOUR}"><title>{html.escape(name)}: mean {_format(mean)} '
                f"({_format(low)} to {_format(high)})</title></path>"
            )
    parts.append("</svg>")
    return "".join(parts)


def scatter_svg(metric: str, label: str, x_name: str, y_name: str, points: Sequence[tuple[float, float]]) -> str:
    """Draw each cut as a point, the x variant's value against the y variant's, with the
    diagonal where both score the same."""
    size, margin = 300, 46
    width, height = size + margin + 16, size + margin + 30
    values = [value for point in points for value in point] or [0.0, 1.0]
    ticks = nice_ticks(min(values), max(values), 4)
    axis_low, axis_high = min(ticks[0], min(values)), max(ticks[-1], max(values))
    span = (axis_high - axis_low) or 1.0

    def x_of(value: float) -> float:
        return margin + (value - axis_low) / span * size

    def y_of(value: float) -> float:
        return 24 + size - (value - axis_low) / span * size

    above = sum(1 for x, y in points if y > x)
    below = sum(1 for x, y in points if y < x)
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-plot="scatter" data-metric="{html.escape(metric)}" '
        f'data-x="{html.escape(x_name)}" data-y="{html.escape(y_name)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {FONT}>'),
        f"<title>{html.escape(label)}: {html.escape(y_name)} against {html.escape(x_name)}, per cut</title>",
        _text(8, 14, f"{label}: {y_name} higher on {above}, lower on {below} cuts", extra='font-weight="600"'),
    ]
    for tick in ticks:
        parts.append(f'<line x1="{x_of(tick):.1f}" y1="24" x2="{x_of(tick):.1f}" y2="{24 + size}" stroke="#eee"/>')
        parts.append(f'<line x1="{margin}" y1="{y_of(tick):.1f}" x2="{margin + size}" y2="{y_of(tick):.1f}" stroke="#eee"/>')
        parts.append(_text(x_of(tick), 24 + size + 13, _format(tick), "middle", 'fill="#555"'))
        parts.append(_text(margin - 4, y_of(tick) + 4, _format(tick), "end", 'fill="#555"'))
    parts.append(
        f'<line x1="{x_of(axis_low):.1f}" y1="{y_of(axis_low):.1f}" x2="{x_of(axis_high):.1f}" '
        f'y2="{y_of(axis_high):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
    )
    for x, y in points:
        parts.append(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3" fill="{PALETTE[0]}" fill-opacity="0.6"/>')
    parts.append(_text(margin + size / 2, height - 4, x_name, "middle"))
    parts.append(_text(12, 24 + size / 2, y_name, "middle", f'transform="rotate(-90 12 {24 + size / 2:.1f})"'))
    parts.append("</svg>")
    return "".join(parts)


def differences_svg(metric: str, label: str, rows: Sequence[tuple[str, float, float, float]]) -> str:
    """Draw the paired differences (first minus second) with their 95% intervals, one row per
    pair, and the zero line where the two variants score the same."""
    left, right, top, row_height = 300, 24, 26, 26
    width = 680
    height = top + row_height * max(1, len(rows)) + 30
    values = [value for _, mean, low, high in rows for value in (mean, low, high)] + [0.0]
    ticks = nice_ticks(min(values), max(values))
    axis_low, axis_high = min(ticks[0], min(values)), max(ticks[-1], max(values))
    span = (axis_high - axis_low) or 1.0

    def x_of(value: float) -> float:
        return left + (value - axis_low) / span * (width - left - right)

    bottom = top + row_height * max(1, len(rows))
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-plot="differences" data-metric="{html.escape(metric)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT}>'),
        f"<title>{html.escape(label)}: paired differences</title>",
        _text(8, 16, f"{label}: mean difference per cut, first minus second, with 95% interval", extra='font-weight="600"'),
    ]
    for tick in ticks:
        x = x_of(tick)
        stroke = "#888" if tick == 0 else "#e4e4e4"
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{stroke}"/>')
        parts.append(_text(x, bottom + 14, _format(tick), "middle", 'fill="#555"'))
    for row, (name, mean, low, high) in enumerate(rows):
        middle = top + row_height * row + row_height / 2
        parts.append(_text(left - 8, middle + 4, name, "end"))
        parts.append(
            f'<line x1="{x_of(low):.1f}" y1="{middle}" x2="{x_of(high):.1f}" y2="{middle}" stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
        parts.append(
            f'<circle cx="{x_of(mean):.1f}" cy="{middle}" r="4" fill="{PALETTE[0]}"><title>{html.escape(name)}: '
            f"{_format(mean)} ({_format(low)} to {_format(high)})</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
