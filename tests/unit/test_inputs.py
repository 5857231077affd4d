"""What people type, read without a database: dates and times, amounts, phones, and what every channel's door
removes from text (NUL and other controls, bidi overrides, lone surrogates) while keeping newlines and tabs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.conversation.dates import parse_day, parse_moment
from handlers.conversation.inputs import normalise_mobile
from handlers.conversation.messages import Incoming, clean
from handlers.conversation.numbers import parse_amount

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("typed", "day"),
    [("2026-11-27", date(2026, 11, 27)), ("2026/3/5", date(2026, 3, 5)), ("2026年3月5日", date(2026, 3, 5)),
     ("20260305", date(2026, 3, 5)), ("昨天吧", None), ("2026-02-30", None)],
)  # fmt: skip
def test_a_day_written_out(typed: str, day: date | None) -> None:
    assert parse_day(typed) == day


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        ("2026-12-03 09:30", datetime(2026, 12, 3, 9, 30, tzinfo=ZONE)),
        ("12月3日 下午3点", datetime(2026, 12, 3, 15, 0, tzinfo=ZONE)),
        ("12-03", datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)),
        ("1月5日", datetime(2027, 1, 5, 9, 0, tzinfo=ZONE)),  # no year and already past: the next one
        ("明天上午", None),
        ("2月30日", None),
    ],
)
def test_a_moment_ahead(typed: str, moment: datetime | None) -> None:
    assert parse_moment(typed, NOW) == moment


def test_amounts_and_mobiles() -> None:
    assert str(parse_amount("¥1.5万")) == "15000.00" and str(parse_amount("5,000 元")) == "5000.00"
    assert parse_amount("几千") is None
    assert normalise_mobile("+86 138-0013-8000") == "13800138000" and normalise_mobile("0916-2345678") is None


def test_the_door_removes_controls_and_bidi_overrides_and_keeps_the_words() -> None:
    typed = "他\x00欠我\u202e3500\u202c元\r\n第二行\t完\x07\ufeff"
    assert clean(typed) == "他欠我3500元\r\n第二行\t完"
    assert clean("\ud800孤") == "\ufffd孤"
    incoming = Incoming("webchat", "c", "k", text="a\x00b", choice="nav:\x1bskip")
    assert (incoming.text, incoming.choice) == ("ab", "nav:skip")
    assert datetime.now(UTC) > NOW  # the fixed moment of these tests is in the past
