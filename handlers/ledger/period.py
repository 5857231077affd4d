"""The period a ledger covers: local calendar days, first to last, from what a leader types after /ledger or picks
on the dashboard — a month, a quarter, a year, a week, the last N days, or two dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

MAX_DAYS: Final = 3 * 366 + 1  # three years at most: the ledger is read, not mined

_NAMED: Final = {
    "week": "week",
    "本周": "week",
    "month": "month",
    "本月": "month",
    "quarter": "quarter",
    "本季度": "quarter",
    "本季": "quarter",
    "year": "year",
    "本年": "year",
    "今年": "year",
    "last-month": "last_month",
    "上月": "last_month",
    "上个月": "last_month",
}


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """Local days `first` to `last`, both included; `start`/`end` are their bounds as moments."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.zone)

    @property
    def week0(self) -> datetime:
        """The Monday midnight the period's first week starts on."""
        return datetime.combine(self.first - timedelta(days=self.first.weekday()), time(0), tzinfo=self.zone)

    def label(self) -> str:
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            if self.first.month == 1 and self.last.month == 12 and self.first.year == self.last.year:
                return str(self.first.year)
            if (self.first.year, self.first.month) == (self.last.year, self.last.month):
                return f"{self.first:%Y-%m}"
        return f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"

    def week_label(self, week: int) -> str:
        return f"{self.week0.date() + timedelta(weeks=week):%m-%d}"

    def weeks(self) -> int:
        return (self.last - self.week0.date()).days // 7 + 1


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def between(first: date, last: date, zone: ZoneInfo) -> Period:
    if last < first:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        raise PeriodError("too_long")
    return Period(first, last, zone)


def parse(text: str, now: datetime, zone: ZoneInfo) -> Period:
    """'' or 'month' this month; 'week', 'quarter', 'year', 'last-month' (and 本月, 本周, 本季度, 今年, 上月); '2026',
    '2026-11', '2026-Q4'; '30d' the last 30 days; '2026-11-01..2026-11-30' (or '~', 'to'). Raises PeriodError."""
    today = now.astimezone(zone).date()
    word = text.strip().lower()
    named = _NAMED.get(word or "month")
    if named == "week":
        return between(today - timedelta(days=today.weekday()), today, zone)
    if named == "month":
        return between(today.replace(day=1), today, zone)
    if named == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return between(last.replace(day=1), last, zone)
    if named == "quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        return between(date(today.year, first_month, 1), today, zone)
    if named == "year":
        return between(date(today.year, 1, 1), today, zone)
    try:
        if match := re.fullmatch(r"(\d{1,4})d", word):
            days = int(match[1])
            if not 1 <= days <= MAX_DAYS:
                raise PeriodError("too_long")
            return between(today - timedelta(days=days - 1), today, zone)
        if match := re.fullmatch(r"(\d{4})", word):
            year = int(match[1])
            return between(date(year, 1, 1), date(year, 12, 31), zone)
        if match := re.fullmatch(r"(\d{4})-?q([1-4])", word):
            year, quarter = int(match[1]), int(match[2])
            return between(date(year, quarter * 3 - 2, 1), _month_end(year, quarter * 3), zone)
        if match := re.fullmatch(r"(\d{4})-(\d{1,2})", word):
            year, month = int(match[1]), int(match[2])
            return between(date(year, month, 1), _month_end(year, month), zone)
        if match := re.fullmatch(r"(\d{4}-\d{1,2}-\d{1,2})\s*(?:\.\.|~|to|至|－|—)\s*(\d{4}-\d{1,2}-\d{1,2})", word):
            return between(_day(match[1]), _day(match[2]), zone)
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", word):
            day = _day(word)
            return between(day, day, zone)
    except ValueError as error:
        if isinstance(error, PeriodError):
            raise
        raise PeriodError("invalid") from None
    raise PeriodError("invalid")


def _day(text: str) -> date:
    year, month, day = (int(part) for part in text.split("-"))
    return date(year, month, day)
