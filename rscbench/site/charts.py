"""Inline SVG line charts for the history page: no script, no library, readable from disk."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rscbench.site.html import escape

__all__ = ["line_chart"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
WIDTH, HEIGHT = 620, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 44, 70


def _y_range(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 if high > low else (abs(low) * 0.1 or 1.0)
    return low - pad, high + pad


def line_chart(
    title: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]], *, subtitle: str = ""
) -> str:
    """An SVG chart of one line per series over the x labels (commits); None or non-finite is a gap.

    ``subtitle`` (e.g. the verdict's claim) is shown under the title, cut at 100 characters.
    Returns "" when no series has a finite value. Each point carries a tooltip with its value.
    """
    finite = [v for values in series.values() for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    low, high = _y_range(finite)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(x_labels)

    def x_at(index: int) -> float:
        return LEFT + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_at(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="17" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<text x="8" y="32" font-size="10" fill="#4a5565">{escape(subtitle[:100])}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#c5ccd6"/>',
    ]
    for tick in range(5):
        value = low + (high - low) * tick / 4
        y = y_at(value)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef1f5"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{value:.3g}</text>'
        )
    for index, label in enumerate(x_labels):
        x = x_at(index)
        parts.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" font-size="11" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {TOP + plot_h + 14})">{escape(label)}</text>'
        )
    for number, (name, values) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        segment: list[str] = []
        for index, value in enumerate([*values, None]):
            if value is not None and math.isfinite(value):
                segment.append(f"{x_at(index):.1f},{y_at(value):.1f}")
                parts.append(
                    f'<circle cx="{x_at(index):.1f}" cy="{y_at(value):.1f}" r="3.5" fill="{colour}">'
                    f"<title>{escape(name)} at {escape(x_labels[index])}: {value:.4g}</title></circle>"
                )
                continue
            if len(segment) > 1:
                points = " ".join(segment)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
                )
            segment = []
        y = TOP + 14 * number + 6
        parts.append(f'<rect x="{LEFT + plot_w + 12}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{LEFT + plot_w + 26}" y="{y + 1}" font-size="11">{escape(name[:20])}</text>')
    middle = LEFT + plot_w / 2
    parts.append(f'<text x="{middle:.1f}" y="{HEIGHT - 4}" font-size="11" text-anchor="middle">commit</text>')
    parts.append("</svg>")
    return "".join(parts)
