"""The font the ledger's charts and dashboard ship with draws every character the desk may write: the catalogs' and
the demo data files' (units, places, the guide), so no name ever comes out as an empty box on a machine with no
fonts; and it goes with its licence."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFont

from handlers.ledger import chart

ROOT = Path(__file__).resolve().parents[2]


def test_every_character_of_the_catalogs_and_data_files_has_a_glyph() -> None:
    font = ImageFont.truetype(str(chart.FONT), 32)

    def shape(ch: str) -> bytes:
        return Image.Image()._new(font.getmask(ch)).tobytes()

    missing_glyph = shape("\U0010fffd")  # a private-use code point: surely .notdef
    text: set[str] = set()
    for path in [*ROOT.glob("locales/*/LC_MESSAGES/messages.po"), *ROOT.glob("demo/*.toml")]:
        text |= {
            ch for ch in path.read_text(encoding="utf-8") if "\u4e00" <= ch <= "\u9fff" or "\u3001" <= ch <= "\u303f"
        }
    assert len(text) > 800
    boxes = [ch for ch in sorted(text) if shape(ch) == missing_glyph]
    assert boxes == [], f"run tools/subset_font.py: no glyph for {''.join(boxes)}"


def test_the_font_goes_with_its_licence_and_stays_small() -> None:
    licence = (chart.FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Reserved Font Name 'Source'" in licence
    assert chart.FONT.stat().st_size < 2_500_000


def test_a_chart_is_a_png_of_the_size_phones_show() -> None:
    data = chart.ChartData(
        title="台账 · 2026-11", subtitle="汉台区司法局及下属单位", bars_title="五个一批",
        bars=[chart.Bar("矛盾纠纷", 10, 7, "受理", "调解成功")], gauges_title="三率",
        gauges=[chart.Gauge("响应率", 0.9, "9 / 10"), chart.Gauge("满意率", None, "0 / 0")], trend_title="逐周趋势",
        trend_labels=["11-02", "11-09"], trend_series=[("受理", [4, 6]), ("办结", [3, 4])], empty="—",
    )  # fmt: skip
    png = chart.render(data)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (chart.WIDTH, chart.HEIGHT)
        dark = image.convert("L").point(lambda p: 255 if p < 128 else 0).histogram()[255]
    assert dark > 5_000  # text and bars were drawn, not a blank page
