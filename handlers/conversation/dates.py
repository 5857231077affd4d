"""Reading the dates and times people type: one place for every parser, so a step and an officer's form agree."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
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


# ---- a day in the past as people say it, with how precise it was ("about March 2026")

DAY, MONTH, YEAR = "day", "month", "year"
WEEKDAYS: Final = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2}
_CN_DIGITS: Final = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
RELATIVE_DAYS: Final = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}
RELATIVE_YEARS: Final = {"今年": 0, "去年": 1, "前年": 2}

_NUMBER = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"
_YEAR_PREFIX = r"(?:(\d{4})\s*年|(今年|去年|前年))?\s*"
_MONTH_DAY = re.compile(_YEAR_PREFIX + _NUMBER + r"\s*月\s*(?:份)?\s*(?:" + _NUMBER + r"\s*[日号])?(?:左右|前后)?")
_ISO_MONTH = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})")
_SHORT_DAY = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})")
_DAYS_AGO = re.compile(_NUMBER + r"\s*(?:天|日)\s*(?:以前|之前|前)")
_WEEKDAY = re.compile(r"(上上|上|这|本)?\s*(?:个)?\s*(?:周|星期|礼拜)\s*([一二三四五六日天])")
_MONTH_WORDS: Final = {"这个月": 0, "本月": 0, "上个月": 1, "上月": 1}
_YEAR_ONLY = re.compile(r"(\d{4})\s*年?|(今年|去年|前年)")
_HEDGES = re.compile(r"^(?:大约|大概|大概是|约|差不多|应该是|好像是|可能是)|(?:左右|前后|的时候|那天|时)$")


def cn_small_number(text: str) -> int | None:
    """1–99 in digits or Chinese numerals: "3", "十二", "二十八", "两"."""
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        high = _CN_DIGITS.get(tens, None) if tens else 1
        low = _CN_DIGITS.get(ones, None) if ones else 0
        return None if high is None or low is None else high * 10 + low
    return _CN_DIGITS.get(text) if len(text) == 1 else None


def _month_back(today: date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 - months
    return index // 12, index % 12 + 1


def _make(year: int, month: int, day: int | None) -> tuple[date, str] | None:
    try:
        return (date(year, month, day or 1), DAY if day else MONTH)
    except ValueError:
        return None


def _year_of(match_year: str | None, relative: str | None, today: date) -> int | None:
    if match_year:
        return int(match_year)
    if relative:
        return today.year - RELATIVE_YEARS[relative]
    return None


def parse_past(text: str, today: date) -> tuple[date, str] | None:
    """A day, month or year that has passed, as written: "2026-11-27", "11月28日", "上周三", "前天", "3天前",
    "今年3月", "2026-03", "去年", "last Wednesday", "March 2026". Returns the first day of what was said and its
    precision (DAY, MONTH or YEAR); without a year, the latest such day that is not after `today`."""
    raw = text.strip()
    cleaned = _HEDGES.sub("", raw.replace(" ", "")).strip() or raw
    full = parse_day(cleaned)
    if full is not None:
        return full, DAY
    if cleaned in RELATIVE_DAYS:
        return today - timedelta(days=RELATIVE_DAYS[cleaned]), DAY
    if cleaned in _MONTH_WORDS:
        back_year, back_month = _month_back(today, _MONTH_WORDS[cleaned])
        return date(back_year, back_month, 1), MONTH
    if match := _DAYS_AGO.fullmatch(cleaned):
        days = cn_small_number(match[1])
        return (today - timedelta(days=days), DAY) if days is not None else None
    if match := _WEEKDAY.fullmatch(cleaned):
        weekday = WEEKDAYS[match[2]]
        monday = today - timedelta(days=today.weekday())
        back = {"上上": 2, "上": 1}.get(match[1] or "", 0)
        day = monday - timedelta(weeks=back) + timedelta(days=weekday)
        if not match[1] and day > today:  # "周三" said on a Monday: last week's
            day -= timedelta(weeks=1)
        return day, DAY
    if match := _ISO_MONTH.fullmatch(cleaned):
        return _make(int(match[1]), int(match[2]), None)
    if match := _MONTH_DAY.fullmatch(cleaned):
        year = _year_of(match[1], match[2], today)
        month, of_month = cn_small_number(match[3]), cn_small_number(match[4]) if match[4] else None
        if month is None or (match[4] and of_month is None):
            return None
        found = _make(year or today.year, month, of_month)
        if found is not None and year is None and found[0] > today:
            found = _make(today.year - 1, month, of_month)
        return found
    if match := _SHORT_DAY.fullmatch(cleaned):
        found = _make(today.year, int(match[1]), int(match[2]))
        if found is not None and found[0] > today:
            found = _make(today.year - 1, int(match[1]), int(match[2]))
        return found
    if match := _YEAR_ONLY.fullmatch(cleaned):
        said = _year_of(match[1], match[2], today)
        return (date(said, 1, 1), YEAR) if said else None
    return _written_out(raw, today)


def _written_out(text: str, today: date) -> tuple[date, str] | None:
    """English as people write it ("yesterday", "last Wednesday", "March 2026", "3 days ago"), by dateparser — a
    kept library with the relative forms of many languages; our own rules above read the Chinese ones."""
    if not re.search(r"[A-Za-z]", text) or len(text) > 40:
        return None
    import dateparser  # imported when first needed: it loads its language data on first use

    base = datetime(today.year, today.month, today.day, 12, 0)
    parser = dateparser.date.DateDataParser(
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "RETURN_TIME_AS_PERIOD": True},
    )
    found = parser.get_date_data(text)
    if found is None or found.date_obj is None or found.period == "week":  # "last week" names no day
        return None
    day = found.date_obj.date()
    if found.period == "month":
        return date(day.year, day.month, 1), MONTH
    if found.period == "year":
        return date(day.year, 1, 1), YEAR
    return day, DAY


def past_value(day: date, precision: str) -> str:
    """How an answer keeps it: "2026-03-05", "2026-03" or "2026"."""
    if precision == YEAR:
        return f"{day.year:04d}"
    if precision == MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def precision_of(value: str) -> str:
    return {4: YEAR, 7: MONTH}.get(len(value), DAY)
