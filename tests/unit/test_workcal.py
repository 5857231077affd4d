"""Working time on the Chinese calendar: holidays, make-up workdays, office hours, the override file."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.scheduler import HOLIDAYS_FILE, warn_about_calendar
from handlers.tickets.workcal import CalendarDataError, WorkCalendar, parse_office_hours, parse_overrides
from tests.support.followup_world import local

CALENDAR = WorkCalendar()
WITH_2027 = WorkCalendar(overrides=parse_overrides(tomllib.loads(HOLIDAYS_FILE.read_text(encoding="utf-8"))))


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2026, 9, 20), True),  # Sunday, make-up workday for National Day
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, make-up workday
        (date(2026, 10, 11), False),
        (date(2026, 2, 14), True),  # Saturday, make-up workday before the Spring Festival
        (date(2026, 2, 16), False),
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, make-up workday after it
    ],
)
def test_the_package_knows_2026_holidays_and_make_up_days(day: date, workday: bool) -> None:
    assert CALENDAR.is_workday(day) is workday


@pytest.mark.parametrize(
    ("start", "hours", "end"),
    [
        (local(2026, 11, 27, 10), 4, local(2026, 11, 27, 16)),  # 10:00–12:00, then 14:00–16:00
        (local(2026, 11, 27, 16), 4, local(2026, 11, 30, 11)),  # Friday evening runs into Monday
        (local(2026, 11, 27, 20), 4, local(2026, 11, 30, 14, 30)),  # outside hours: the clock starts on Monday
        (local(2026, 9, 30, 16), 4, local(2026, 10, 8, 11)),  # the National Day week is skipped whole
        (local(2026, 10, 9, 16), 4, local(2026, 10, 10, 11)),  # … and the make-up Saturday counts
        (local(2026, 2, 13, 16), 4, local(2026, 2, 14, 11)),  # Spring Festival: make-up Saturday before it
        (local(2026, 2, 14, 16), 4, local(2026, 2, 24, 11)),  # then nine days off
        (local(2026, 11, 27, 11, 30), 0.5, local(2026, 11, 27, 12)),  # ends exactly at the lunch break
    ],
)
def test_add_working_hours(start, hours, end) -> None:  # type: ignore[no-untyped-def]
    assert CALENDAR.add_working_hours(start, hours) == end


def test_working_days_end_at_the_close_of_the_nth_working_day_after_the_day_of_receipt() -> None:
    assert CALENDAR.add_working_days(local(2026, 9, 30, 10), 1) == local(2026, 10, 8, 17, 30)
    assert CALENDAR.add_working_days(local(2026, 10, 9, 10), 1) == local(2026, 10, 10, 17, 30)
    assert CALENDAR.add_working_days(local(2026, 2, 13, 23), 2) == local(2026, 2, 24, 17, 30)


def test_calendar_days_follow_the_civil_code_and_end_on_a_working_day() -> None:
    # Art. 201: the day of receipt is not counted; Art. 203: a last day off moves to the next working day.
    assert CALENDAR.add_days(local(2026, 11, 27, 10), 7) == local(2026, 12, 4, 17, 30)
    assert CALENDAR.add_days(local(2026, 9, 28, 10), 7) == local(2026, 10, 8, 17, 30)  # Oct 5 is National Day
    assert CALENDAR.add_days(local(2026, 2, 12, 10), 7) == local(2026, 2, 24, 17, 30)  # Feb 19 is Spring Festival


def test_working_time_between_and_fractions_skip_days_off() -> None:
    start, end = local(2026, 9, 30, 16), local(2026, 10, 8, 11)
    assert CALENDAR.working_time_between(start, end) == timedelta(hours=4)
    assert CALENDAR.fraction_of(start, end, 0.5) == local(2026, 10, 8, 9)
    night = local(2026, 10, 2, 1)
    assert CALENDAR.fraction_of(night, night + timedelta(minutes=30), 0.5) == night + timedelta(minutes=15)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=local(2026, 1, 1).replace(tzinfo=None), max_value=local(2026, 12, 1).replace(tzinfo=None)
    ),
    minutes=st.integers(min_value=1, max_value=60 * 80),
)
def test_adding_working_time_and_measuring_it_agree(start, minutes) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC

    begin = start.replace(tzinfo=UTC)
    end = CALENDAR.add_working_time(begin, timedelta(minutes=minutes))
    assert end > begin
    assert CALENDAR.working_time_between(begin, end) == timedelta(minutes=minutes)
    assert CALENDAR.in_office_hours(end - timedelta(seconds=1))


def test_office_hours_are_configurable() -> None:
    custom = WorkCalendar(office_hours=parse_office_hours("09:00-17:00"))
    assert custom.add_working_hours(local(2026, 11, 27, 16), 2) == local(2026, 11, 30, 10)
    for bad in ("", "9-17", "12:00-08:00", "08:00-12:00,11:00-13:00"):
        with pytest.raises(CalendarDataError):
            parse_office_hours(bad)


def test_2027_comes_from_the_override_file_and_is_flagged_provisional(caplog: pytest.LogCaptureFixture) -> None:
    assert CALENDAR.coverage(2026) == "package"
    assert CALENDAR.coverage(2027) == "unknown"
    assert WITH_2027.coverage(2027) == "provisional"
    assert not WITH_2027.is_workday(date(2027, 2, 5))  # New Year's Eve, statutory since 2025
    assert not WITH_2027.is_workday(date(2027, 10, 1))
    assert WITH_2027.is_workday(date(2027, 2, 11))
    assert CALENDAR.is_workday(date(2027, 2, 5))  # unknown to both: Monday–Friday
    with caplog.at_level("WARNING"):
        assert len(warn_about_calendar(CALENDAR, 2026)) == 1
        assert "2027" in warn_about_calendar(WITH_2027, 2026)[0]
        assert len(warn_about_calendar(WITH_2027, 2025)) == 0
    assert any(r.levelname == "WARNING" and "2027" in r.getMessage() for r in caplog.records)


def test_the_override_file_refuses_contradictions() -> None:
    with pytest.raises(CalendarDataError):
        parse_overrides({"year": {"2027": {"holidays": [date(2027, 1, 1)], "workdays": [date(2027, 1, 1)]}}})
    with pytest.raises(CalendarDataError):
        parse_overrides({"year": {"2027": {"holidays": [date(2028, 1, 1)]}}})
