"""Reading the dates and times people type: one place for every parser, so a step and an officer's form agree."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

DAY_FORMATS: Final = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")

MOMENT: Final = re.compile(
    r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:\s*(上午|下午)?\s*(\d{1,2})\s*[:：点时]\s*(\d{1,2})?\s*分?)?"
)


def parse_day(text: str) -> date | None:
    """A calendar date written out in full: '2026-11-27', '2026/11/27', '2026年11月27日', '20261127'."""
    for fmt in DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_moment(text: str, local_now: datetime) -> datetime | None:
    """A date and time in the local zone of `local_now`; without a year, the next such day (this year or the next);
    without a time, 09:00. '2026-12-03 09:30', '12月3日 下午3点', '12-03'."""
    match = MOMENT.fullmatch(text.strip())
    if not match:
        return None
    year = int(match[1]) if match[1] else local_now.year
    hour, minute = int(match[5] or 9), int(match[6] or 0)
    if match[4] == "下午" and hour < 12:
        hour += 12
    try:
        moment = datetime(year, int(match[2]), int(match[3]), hour, minute, tzinfo=local_now.tzinfo)
    except ValueError:
        return None
    if not match[1] and moment < local_now:
        moment = moment.replace(year=year + 1)
    return moment
