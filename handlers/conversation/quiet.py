"""Officers' peace: a non-urgent message that would land in someone's quiet hours waits for the morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from handlers.tickets.workcal import CalendarDataError, parse_clock
from storage.models import Officer

# Local policy: the default quiet hours of an officer (their row may say otherwise). Citizens' window is one setting,
# Rules.citizen_quiet, shared by follow-ups and broadcasts.
DEFAULT_QUIET: Final = ("22:00", "07:30")


def quiet_until(start: str, end: str, moment: datetime, zone: ZoneInfo) -> datetime | None:
    """The end of the quiet window `moment` falls in, or None when it falls in none. Windows may span midnight."""
    try:
        begin, finish = parse_clock(start), parse_clock(end)
    except CalendarDataError:
        begin, finish = parse_clock(DEFAULT_QUIET[0]), parse_clock(DEFAULT_QUIET[1])
    if begin == finish:
        return None
    local = moment.astimezone(zone)
    now = local.time()
    if begin < finish:
        inside, day = begin <= now < finish, local.date()
    else:
        inside = now >= begin or now < finish
        day = local.date() + timedelta(days=1) if now >= begin else local.date()
    if not inside:
        return None
    return datetime.combine(day, finish, zone).astimezone(UTC)


def officer_not_before(officer: Officer, moment: datetime, zone: ZoneInfo, *, urgent: bool) -> datetime | None:
    """When a message to `officer` may leave: now for urgent tickets (a vulnerable person, ongoing fraud,
    danger), else after their quiet hours."""
    if urgent:
        return None
    return quiet_until(officer.quiet_start or DEFAULT_QUIET[0], officer.quiet_end or DEFAULT_QUIET[1], moment, zone)


def citizen_not_before(window: str, moment: datetime, zone: ZoneInfo, *, urgent: bool = False) -> datetime | None:
    """When a message to a citizen may leave: now if urgent, else after the citizens' quiet hours ("21:00-08:00")."""
    if urgent:
        return None
    start, _, end = window.partition("-")
    return quiet_until(start.strip(), end.strip(), moment, zone)
