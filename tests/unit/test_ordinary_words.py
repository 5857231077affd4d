"""Ordinary words are understood: dates as people say them, with the precision they had ("about March 2026"); sums
and counts in Chinese numerals, hedged, or as a range; a landline taken (officers will call), mobiles still
checked. Checked on the parsers and through a database-free turn."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.conversation.dates import DAY, MONTH, YEAR, parse_past
from handlers.conversation.inputs import Accepted, Day, Phone, Rejected, is_landline
from handlers.conversation.messages import Incoming
from handlers.conversation.numbers import Amount, Count, read_amount, read_count
from handlers.conversation.turn import Turn
from tests.support.turns import Chat


def turn_for(incoming: Incoming, locale: str = "zh_CN") -> Turn:
    return Chat(locale=locale).turn(text=incoming.text)


TODAY = date(2026, 11, 27)  # a Friday; the turns' clock says the same


@pytest.mark.parametrize(
    ("said", "day", "precision"),
    [
        ("2026-11-20", date(2026, 11, 20), DAY),
        ("11月20日", date(2026, 11, 20), DAY),
        ("11月28日", date(2025, 11, 28), DAY),  # not yet this year: last year's
        ("3月5号", date(2026, 3, 5), DAY),
        ("十一月二十日", date(2026, 11, 20), DAY),
        ("上周三", date(2026, 11, 18), DAY),
        ("周三", date(2026, 11, 25), DAY),
        ("上上周五", date(2026, 11, 13), DAY),
        ("前天", date(2026, 11, 25), DAY),
        ("大前天", date(2026, 11, 24), DAY),
        ("3天前", date(2026, 11, 24), DAY),
        ("三天前", date(2026, 11, 24), DAY),
        ("今年3月", date(2026, 3, 1), MONTH),
        ("大约今年3月", date(2026, 3, 1), MONTH),
        ("去年12月", date(2025, 12, 1), MONTH),
        ("2026-03", date(2026, 3, 1), MONTH),
        ("2026年3月", date(2026, 3, 1), MONTH),
        ("八月份", date(2026, 8, 1), MONTH),
        ("上个月", date(2026, 10, 1), MONTH),
        ("去年", date(2025, 1, 1), YEAR),
        ("yesterday", date(2026, 11, 26), DAY),
        ("last Wednesday", date(2026, 11, 25), DAY),
        ("2 days ago", date(2026, 11, 25), DAY),
        ("March 2026", date(2026, 3, 1), MONTH),
    ],
)
def test_past_dates_as_people_say_them(said: str, day: date, precision: str) -> None:
    assert parse_past(said, TODAY) == (day, precision)


@pytest.mark.parametrize("said", ["很久以前", "last week", "13月5日", "2026-13", "abc", "5e3"])
def test_what_is_not_a_date_is_refused(said: str) -> None:
    assert parse_past(said, TODAY) is None


def test_the_day_step_keeps_the_precision_and_says_it() -> None:
    zh = turn_for(Incoming("webchat", "c", "k", text="今年3月"), locale="zh_CN")
    step = Day(past_only=True)
    taken = step.parse(zh, zh.incoming)
    assert taken == Accepted("2026-03")
    assert step.show(zh, "2026-03") == zh.t("input.date_month", year="2026", month="3")
    en = turn_for(Incoming("webchat", "c", "k", text="March 2026"), locale="en")
    assert step.parse(en, en.incoming) == Accepted("2026-03")
    assert step.show(en, "2026-03") == "about March 2026"
    assert step.show(en, "2025") == en.t("input.date_year", year="2025")
    future = turn_for(Incoming("webchat", "c", "k", text="2026-12"), locale="zh_CN")
    assert step.parse(future, future.incoming) == Rejected("input.date_future")


@pytest.mark.parametrize(
    ("said", "value", "about"),
    [
        ("三千五", "3500.00", False),
        ("3500元", "3500.00", False),
        ("大约20万", "200000.00", True),
        ("20万左右", "200000.00", True),
        ("五千多", "5000.00", True),
        ("1万5", "15000.00", False),
        ("两千块钱", "2000.00", False),
        ("¥1.5万", "15000.00", False),
        ("5,000 元", "5000.00", False),
    ],
)
def test_sums_of_money_in_ordinary_words(said: str, value: str, about: bool) -> None:
    found = read_amount(said)
    assert found is not None and found.value == Decimal(value) and found.about is about


def test_a_hedged_sum_is_kept_and_shown_as_about() -> None:
    turn = turn_for(Incoming("webchat", "c", "k", text="大约20万"), locale="en")
    taken = Amount().parse(turn, turn.incoming)
    assert taken == Accepted("~200000.00")
    assert Amount().show(turn, "~200000.00") == "about 200,000 yuan"
    assert read_amount("1.234") is None and read_amount("很多") is None


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("30", 30),
        ("约30人", 30),
        ("三十", 30),
        ("十几个", (11, 19)),
        ("二十多人", (21, 29)),
        ("100多人", (101, 199)),
        ("七八个", (7, 8)),
        ("三四十人", (30, 40)),
        ("20到30人", (20, 30)),
        ("几十个", (20, 90)),
        ("很多人", None),
    ],
)
def test_counts_in_ordinary_words_and_ranges(said: str, value: object) -> None:
    assert read_count(said) == value


def test_a_range_is_kept_and_shown_as_one() -> None:
    turn = turn_for(Incoming("webchat", "c", "k", text="十几个"), locale="zh_CN")
    assert Count().parse(turn, turn.incoming) == Accepted("11-19")
    assert Count().show(turn, "11-19") == turn.t("input.count_between", low="11", high="19")


def test_a_landline_is_taken_with_a_note_and_mobiles_are_still_checked() -> None:
    for said in ("0916-2345678", "(0916)2345678", "+86 916 2345678"):
        turn = turn_for(Incoming("webchat", "c", "k", text=said))
        assert Phone().parse(turn, turn.incoming) == Accepted("09162345678", note="input.phone_landline"), said
    assert is_landline("09162345678") and not is_landline("13800138000")
    mobile = turn_for(Incoming("webchat", "c", "k", text="138 0013 8000"))
    assert Phone().parse(mobile, mobile.incoming) == Accepted("13800138000")
    for wrong in ("1380013800", "0916-234", "12345678901"):
        turn = turn_for(Incoming("webchat", "c", "k", text=wrong))
        assert Phone().parse(turn, turn.incoming) == Rejected("input.phone_invalid"), wrong
