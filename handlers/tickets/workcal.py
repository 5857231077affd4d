"""Working time on the Chinese calendar: public holidays, make-up workdays (调休), office hours, one time zone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import chinese_calendar

Period = tuple[time, time]
Coverage = Literal["package", "override", "provisional", "unknown"]

# Local policy: the usual hours of Shaanxi government offices; configurable (OFFICE_HOURS).
DEFAULT_OFFICE_HOURS: Final[tuple[Period, ...]] = ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))
SEARCH_DAYS: Final = 3660  # no real deadline is ten years of working time away; stops a bad calendar looping


class CalendarDataError(ValueError):
    pass


@dataclass(frozen=True)
class YearOverride:
    """One year's days off and make-up workdays from the override file, for years the package does not know."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    provisional: bool
    note: str = ""


def parse_clock(text: str) -> time:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit()):
        raise CalendarDataError(f"not a time of day: {text!r}")
    return time(int(hours), int(minutes))


def parse_office_hours(text: str) -> tuple[Period, ...]:
    """'08:30-12:00,14:00-17:30' → ((08:30, 12:00), (14:00, 17:30)); periods in order and not overlapping."""
    periods: list[Period] = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise CalendarDataError(f"office hours need start-end: {part!r}")
        period = (parse_clock(start), parse_clock(end))
        if period[0] >= period[1] or (periods and periods[-1][1] > period[0]):
            raise CalendarDataError(f"office hours out of order: {text!r}")
        periods.append(period)
    if not periods:
        raise CalendarDataError("no office hours")
    return tuple(periods)


def _dates(values: Sequence[Any], year: int, what: str) -> frozenset[date]:
    days = set()
    for value in values:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        if day.year != year:
            raise CalendarDataError(f"{what} {day} is not in {year}")
        days.add(day)
    return frozenset(days)


def parse_overrides(data: Mapping[str, Any]) -> dict[int, YearOverride]:
    """The override file's contents: `[year.2027]` with holidays, assumed_holidays, workdays, provisional, note."""
    overrides: dict[int, YearOverride] = {}
    for key, entry in dict(data.get("year", {})).items():
        year = int(key)
        holidays = _dates(entry.get("holidays", []), year, "holiday")
        holidays |= _dates(entry.get("assumed_holidays", []), year, "assumed holiday")
        workdays = _dates(entry.get("workdays", []), year, "workday")
        if holidays & workdays:
            raise CalendarDataError(f"{year}: a day cannot be both off and a workday")
        overrides[year] = YearOverride(holidays, workdays, bool(entry.get("provisional", True)), entry.get("note", ""))
    return overrides


class WorkCalendar:
    """Pure arithmetic on UTC instants: add working hours or days, count working time between two instants."""

    def __init__(
        self,
        timezone: str = "Asia/Shanghai",
        office_hours: Sequence[Period] = DEFAULT_OFFICE_HOURS,
        overrides: Mapping[int, YearOverride] | None = None,
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.office_hours = tuple(office_hours)
        self.overrides = dict(overrides or {})
        # chinese_calendar checks every date against the range of its tables (a min and max over all of them), ~10 µs
        # a call; a deadline asks about dozens of days, so each day is looked up once (a few hundred a year at most).
        self._workdays: dict[date, bool] = {}

    def coverage(self, year: int) -> Coverage:
        override = self.overrides.get(year)
        if override is not None:
            return "provisional" if override.provisional else "override"
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return "unknown"
        return "package"

    def is_workday(self, day: date) -> bool:
        """The override file wins; then the package; a year known to neither falls back to Monday–Friday."""
        known = self._workdays.get(day)
        if known is None:
            known = self._workdays[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        override = self.overrides.get(day.year)
        if override is not None:
            if day in override.holidays:
                return False
            if day in override.workdays:
                return True
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def _periods(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_workday(day):
            for start, end in self.office_hours:
                yield datetime.combine(day, start, self.zone), datetime.combine(day, end, self.zone)

    def _days_from(self, moment: datetime) -> Iterator[date]:
        day = self.local(moment).date()
        for offset in range(SEARCH_DAYS):
            yield day + timedelta(days=offset)
        raise CalendarDataError("no working time within ten years")

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of office time has passed since `start` (time outside office hours is free)."""
        if amount <= timedelta(0):
            return start
        remaining = amount
        for day in self._days_from(start):
            for period_start, period_end in self._periods(day):
                begin = max(period_start, start)
                if begin >= period_end:
                    continue
                available = period_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
        raise CalendarDataError("unreachable")  # pragma: no cover - _days_from raises first

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        return self.add_working_time(start, timedelta(hours=hours))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        if end <= start:
            return total
        for day in self._days_from(start):
            if datetime.combine(day, time(0), self.zone) >= end:
                return total
            for period_start, period_end in self._periods(day):
                overlap = min(period_end, end) - max(period_start, start)
                if overlap > timedelta(0):
                    total += overlap
        return total  # pragma: no cover

    def fraction_of(self, start: datetime, end: datetime, fraction: float) -> datetime:
        """The point `fraction` of the way from start to end in working time (in wall time when none lies between)."""
        working = self.working_time_between(start, end)
        if working <= timedelta(0):
            return start + (end - start) * fraction
        return self.add_working_time(start, working * fraction)

    def close_of(self, day: date) -> datetime:
        """When the office stops work on `day`: the end of its last period."""
        return datetime.combine(day, self.office_hours[-1][1], self.zone)

    def next_workday(self, day: date, *, include: bool) -> date:
        candidate = day if include else day + timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            if self.is_workday(candidate):
                return candidate
            candidate += timedelta(days=1)
        raise CalendarDataError("no workday within ten years")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The close of the `days`-th working day after the day of `start` (the day of receipt is not counted)."""
        day = self.local(start).date()
        for _ in range(days):
            day = self.next_workday(day, include=False)
        return self.close_of(day).astimezone(start.tzinfo)

    def add_days(self, start: datetime, days: int) -> datetime:
        """A term of calendar days as the Civil Code counts it: the first day is not counted (Art. 201); a last day
        that is a day off moves to the next working day, and the term ends when office work stops (Art. 203)."""
        last = self.local(start).date() + timedelta(days=days)
        return self.close_of(self.next_workday(last, include=True)).astimezone(start.tzinfo)

    def in_office_hours(self, moment: datetime) -> bool:
        return any(s <= moment < e for s, e in self._periods(self.local(moment).date()))
