"""Charts for the dashboard as inline SVG, drawn on the server: no script, nothing from elsewhere (the page's CSP
allows neither). They scale with the page (viewBox, width 100%), so a phone and a desktop show the same picture."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

LIGHT = "#a8c9ee"
DARK = "#1b5ea8"
GREEN = "#198754"


def bars(rows: Sequence[tuple[str, int, int, str, str]], title: str) -> str:
    """One pair of bars per row: (label, whole, part, whole's word, part's word); each row on its own scale."""
    width, row_height, label_width = 640, 64, 190
    height = row_height * len(rows) + 10
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    span = width - label_width - 10
    for index, (name, whole, part, whole_word, part_word) in enumerate(rows):
        top = index * row_height + 6
        biggest = max(whole, part, 1)
        w, p = span * whole / biggest, span * part / biggest
        parts.append(
            f'<text x="0" y="{top + 30}" class="label" textLength="{label_width - 12}" '
            f'lengthAdjust="spacingAndGlyphs">{escape(name)}</text>'
            if len(name) > 16
            else f'<text x="0" y="{top + 30}" class="label">{escape(name)}</text>'
        )
        parts.append(f'<rect x="{label_width}" y="{top}" width="{max(w, 2):.1f}" height="24" rx="4" fill="{LIGHT}"/>')
        parts.append(
            f'<rect x="{label_width}" y="{top + 28}" width="{max(p, 2):.1f}" height="24" rx="4" fill="{DARK}"/>'
        )
        parts.append(f'<text x="{label_width + 6}" y="{top + 17}" class="value">{escape(whole_word)} {whole:,}</text>')
        inside = p > 150
        x = label_width + 6 if inside else label_width + max(p, 2) + 6
        colour = ' fill="#fff"' if inside else ""
        parts.append(f'<text x="{x:.1f}" y="{top + 45}" class="value"{colour}>{escape(part_word)} {part:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], title: str) -> str:
    """A line per series over the weeks, with a light grid, the weeks under it and a legend."""
    width, height, left, right, top, bottom = 640, 260, 44, 630, 30, 226
    biggest = max((v for _, values in series for v in values), default=0)
    step = max(1, -(-biggest // 4))
    ceiling = step * 4
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in range(5):
        y = bottom - (bottom - top) * tick / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{step * tick:,}</text>')
    weeks = max(len(labels), 1)

    def x_of(week: int) -> float:
        return left + (right - left) * (week + 0.5) / weeks

    every = max(1, -(-weeks // 8))
    for week, name in enumerate(labels):
        if week % every == 0:
            parts.append(
                f'<text x="{x_of(week):.1f}" y="{bottom + 20}" class="axis" text-anchor="middle">{escape(name)}</text>'
            )
    legend_x = left
    for (name, values), colour in zip(series, (LIGHT, DARK, GREEN), strict=False):
        points = " ".join(f"{x_of(w):.1f},{bottom - (bottom - top) * v / ceiling:.1f}" for w, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="3"/>')
        parts.append(f'<rect x="{legend_x}" y="4" width="14" height="14" rx="3" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 20}" y="16" class="axis">{escape(name)}</text>')
        legend_x += 30 + 14 * len(name) + 20
    parts.append("</svg>")
    return "".join(parts)
