"""Inline SVG charts for the HTML report: values with their interval whiskers against the policy's bound.

No script and no external asset: each chart is an ``<svg>`` element written here, so the page renders
the same in a browser, a PDF printer or an email client.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Point", "whiskers"]

WIDTH = 720
ROW = 22
LEFT = 230  # room for group labels
RIGHT = 24
TOP = 12
COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700", None: "#57606a"}


@dataclass(frozen=True, slots=True)
class Point:
    """One row: a label, a value with its interval, and the status that colours it."""

    label: str
    value: float | None
    low: float | None
    high: float | None
    status: str | None = None


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 6:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]


def whiskers(title: str, points: Sequence[Point], bound: tuple[float, float] | None = None,
             reference: float | None = None) -> str:
    """A dot-and-whisker chart: one row per point; the allowed region of ``bound`` shaded, ``reference``
    (parity) dashed. Rows without a value are listed with "undefined"."""
    values = [v for p in points for v in (p.value, p.low, p.high) if _finite(v)]
    lines = [v for v in (*(bound or ()), reference) if v is not None and math.isfinite(v)]
    every = values + lines
    if not every:
        every = [0.0, 1.0]
    low, high = min(every), max(every)
    pad = (high - low) * 0.08 or 0.5
    low, high = low - pad, high + pad
    plot = WIDTH - LEFT - RIGHT
    height = TOP + ROW * len(points) + 30

    def x(v: float) -> float:
        return float(LEFT + (min(max(v, low), high) - low) / (high - low) * plot)

    out = [f'<figure class="chart"><figcaption>{escape(title)}</figcaption>',
           f'<svg role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    if bound is not None:
        a = x(bound[0]) if math.isfinite(bound[0]) else LEFT
        b = x(bound[1]) if math.isfinite(bound[1]) else LEFT + plot
        out.append(f'<rect x="{a:.1f}" y="{TOP - 6}" width="{max(b - a, 0):.1f}" height="{ROW * len(points) + 6}" '
                   'class="allowed"><title>values the policy allows</title></rect>')
        for edge in bound:
            if math.isfinite(edge):
                out.append(f'<line x1="{x(edge):.1f}" x2="{x(edge):.1f}" y1="{TOP - 6}" '
                           f'y2="{TOP + ROW * len(points)}" class="bound"/>')
    if reference is not None and low <= reference <= high:
        out.append(f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{TOP - 6}" '
                   f'y2="{TOP + ROW * len(points)}" class="parity"/>')
    for i, p in enumerate(points):
        y = TOP + ROW * i + ROW / 2
        colour = COLOURS.get(p.status, COLOURS[None])
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" class="label">'
                   f'{escape(p.label[:40])}</text>')
        if not _finite(p.value):
            out.append(f'<text x="{LEFT + 4}" y="{y + 4:.1f}" class="undefined">undefined</text>')
            continue
        if _finite(p.low) and _finite(p.high):
            out.append(f'<line x1="{x(p.low):.1f}" x2="{x(p.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '  # type: ignore[arg-type]
                       f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<circle cx="{x(p.value):.1f}" cy="{y:.1f}" r="4" fill="{colour}">'  # type: ignore[arg-type]
                   f'<title>{escape(p.label)}: {p.value:.4g}</title></circle>')
    axis = TOP + ROW * len(points) + 4
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot}" y1="{axis}" y2="{axis}" class="axis"/>')
    for tick in _ticks(low, high):
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{axis}" y2="{axis + 4}" class="axis"/>'
                   f'<text x="{x(tick):.1f}" y="{axis + 16}" text-anchor="middle" class="tick">{tick:g}</text>')
    out.append("</svg></figure>")
    return "".join(out)
