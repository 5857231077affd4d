"""The ledger's convenience measures counted by county and by unit: how many measures, how often asked for."""

from __future__ import annotations

from datetime import date

from handlers.ledger.report import MeasureLine, measures_by
from storage.models import Unit


def line(code: str, county: str | None, unit: Unit | None, views: int, searches: int) -> MeasureLine:
    return MeasureLine(code=code, title={"zh_CN": code}, county=county, unit=unit, unit_text={}, since=date(2026, 1, 1),
                       views=views, searches=searches)  # fmt: skip


def test_measures_are_counted_by_county_and_by_unit_most_asked_first() -> None:
    court, bureau = Unit(id=1, code="court"), Unit(id=2, code="bureau")
    lines = [
        line("a", "hantai", court, 3, 1),
        line("b", "hantai", bureau, 0, 0),
        line("c", "nanzheng", court, 10, 2),
        line("d", None, None, 1, 0),
    ]
    assert measures_by(lines, lambda m: m.county) == [("nanzheng", 1, 12), ("hantai", 2, 4), (None, 1, 1)]
    assert measures_by(lines, lambda m: m.unit) == [(court, 2, 16), (None, 1, 1), (bureau, 1, 0)]
    assert measures_by([], lambda m: m.county) == []
