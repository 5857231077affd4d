"""The ledger as one picture for a phone: the five batches as bars, the three rates, the week-by-week trend — drawn
with Pillow in the font the project ships (font/, a subset of Noto Sans CJK SC under the SIL OFL), so Chinese
renders the same on a machine with no fonts at all. Pure: strings in (already translated), PNG bytes out."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont

FONT: Final = Path(__file__).parent / "font" / "ShishiSans-Subset.woff2"
WIDTH: Final = 1080
HEIGHT: Final = 1350
MARGIN: Final = 56
INK: Final = (33, 37, 41)
MUTED: Final = (108, 117, 125)
GRID: Final = (222, 226, 230)
LIGHT: Final = (168, 201, 238)
DARK: Final = (27, 94, 168)
RED: Final = (200, 35, 51)
GREEN: Final = (25, 135, 84)
BACKGROUND: Final = (255, 255, 255)


@dataclass(frozen=True)
class Bar:
    label: str
    whole: int  # received, reached, asked
    part: int  # handled, delivered, granted
    whole_label: str
    part_label: str


@dataclass(frozen=True)
class Gauge:
    label: str
    rate: float | None
    detail: str  # "12 / 15"


@dataclass(frozen=True)
class ChartData:
    title: str
    subtitle: str
    bars_title: str
    bars: Sequence[Bar]
    gauges_title: str
    gauges: Sequence[Gauge]
    trend_title: str
    trend_labels: Sequence[str]
    trend_series: Sequence[tuple[str, Sequence[int]]]  # (legend, one value per week): opened, resolved
    empty: str  # said on a gauge with nothing to measure


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: object = INK,
          anchor: str = "la") -> None:  # fmt: skip
    draw.text(xy, text, font=font(size), fill=fill, anchor=anchor)  # type: ignore[arg-type]


def _fit(text: str, size: int, width: float) -> str:
    """The text, cut with an ellipsis so it fits `width` pixels."""
    if font(size).getlength(text) <= width:
        return text
    while text and font(size).getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _bars(draw: ImageDraw.ImageDraw, top: int, data: ChartData) -> int:
    _text(draw, (MARGIN, top), data.bars_title, 34)
    top += 58
    label_width, right = 250, WIDTH - MARGIN
    for bar in data.bars:
        _text(draw, (MARGIN, top + 6), _fit(bar.label, 28, label_width - 12), 28)
        left = MARGIN + label_width
        span = right - left - 10
        biggest = max(bar.whole, bar.part, 1)
        whole = span * bar.whole / biggest
        part = span * bar.part / biggest
        draw.rounded_rectangle((left, top, left + max(whole, 4), top + 30), radius=6, fill=LIGHT)
        draw.rounded_rectangle((left, top + 34, left + max(part, 4), top + 64), radius=6, fill=DARK)
        _text(draw, (left + 10, top + 15), f"{bar.whole_label} {bar.whole:,}", 22, INK, "lm")
        inside = part > 260
        _text(draw, (left + 10 if inside else left + max(part, 4) + 10, top + 49),
              f"{bar.part_label} {bar.part:,}", 22, (255, 255, 255) if inside else INK, "lm")  # fmt: skip
        top += 92
    return top


def _gauges(draw: ImageDraw.ImageDraw, top: int, data: ChartData) -> int:
    _text(draw, (MARGIN, top), data.gauges_title, 34)
    top += 62
    count = max(len(data.gauges), 1)
    cell = (WIDTH - 2 * MARGIN) / count
    for index, gauge in enumerate(data.gauges):
        left = MARGIN + index * cell
        rate = gauge.rate
        shown = data.empty if rate is None else f"{rate * 100:.1f}%"
        colour = MUTED if rate is None else (GREEN if rate >= 0.9 else DARK if rate >= 0.6 else RED)
        _text(draw, (left + cell / 2, top + 40), shown, 56, colour, "mm")
        _text(draw, (left + cell / 2, top + 100), _fit(gauge.label, 26, cell - 16), 26, INK, "mm")
        _text(draw, (left + cell / 2, top + 136), gauge.detail, 22, MUTED, "mm")
        bar_left, bar_right = left + 24, left + cell - 24
        draw.rounded_rectangle((bar_left, top + 160, bar_right, top + 172), radius=6, fill=GRID)
        if rate:
            draw.rounded_rectangle(
                (bar_left, top + 160, bar_left + (bar_right - bar_left) * min(rate, 1.0), top + 172),
                radius=6,
                fill=colour,
            )
    return top + 200


def _trend(draw: ImageDraw.ImageDraw, top: int, data: ChartData) -> None:
    _text(draw, (MARGIN, top), data.trend_title, 34)
    legend_x: float = WIDTH - MARGIN
    colours = (LIGHT, DARK, GREEN)
    for (name, _), colour in reversed(list(zip(data.trend_series, colours, strict=False))):
        width = font(22).getlength(name)
        _text(draw, (legend_x, top + 18), name, 22, INK, "rm")
        draw.rounded_rectangle((legend_x - width - 34, top + 8, legend_x - width - 10, top + 28), radius=4,
                               fill=colour)  # fmt: skip
        legend_x -= width + 56
    left, right, chart_top, bottom = MARGIN + 60, WIDTH - MARGIN, top + 60, HEIGHT - MARGIN - 40
    weeks = len(data.trend_labels)
    biggest = max((v for _, values in data.trend_series for v in values), default=0)
    step = max(1, -(-biggest // 4))
    ceiling = step * 4
    for tick in range(5):
        y = bottom - (bottom - chart_top) * tick / 4
        draw.line((left, y, right, y), fill=GRID, width=2)
        _text(draw, (left - 12, y), f"{step * tick:,}", 20, MUTED, "rm")
    if weeks == 0:
        return

    def x_of(week: int) -> float:
        return left + (right - left) * (week + 0.5) / weeks

    every = max(1, -(-weeks // 8))
    for week, label in enumerate(data.trend_labels):
        if week % every == 0:
            _text(draw, (x_of(week), bottom + 22), label, 20, MUTED, "mm")
    for (_, values), colour in zip(data.trend_series, colours, strict=False):
        points = [(x_of(w), bottom - (bottom - chart_top) * v / ceiling) for w, v in enumerate(values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=5, joint="curve")
        for x, y in points:
            draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=colour)


def render(data: ChartData) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    _text(draw, (MARGIN, MARGIN), _fit(data.title, 44, WIDTH - 2 * MARGIN), 44)
    _text(draw, (MARGIN, MARGIN + 64), _fit(data.subtitle, 26, WIDTH - 2 * MARGIN), 26, MUTED)
    top = _bars(draw, MARGIN + 130, data)
    top = _gauges(draw, top + 16, data)
    _trend(draw, top + 16, data)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
