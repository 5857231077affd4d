"""Numbers people type: sums of money in yuan and counts of people or things — in digits or Chinese numerals
("三千五", "1万5", read by cn2an), hedged ("大约20万", "五千多": kept as about), and counts as a range where that is
what was said ("十几个": 11–19)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from handlers.conversation.inputs import Accepted, Parsed, Rejected, typed_text
from handlers.conversation.messages import Button, Incoming, Request
from handlers.conversation.turn import Turn

_AMOUNT_UNITS = {"万": Decimal(10_000), "千": Decimal(1_000), "k": Decimal(1_000)}
_AMOUNT_NOISE = re.compile(r"[\s,，_]|人民币|块钱|元|块|¥|￥|rmb|cny|yuan", re.IGNORECASE)
_HEDGE_BEFORE = re.compile(r"^(?:大约|大概|约莫|约|差不多|将近|接近|近|估计|about|around|approx\.?|~)")
_HEDGE_AFTER = re.compile(r"(?:左右|上下|出头|多|余|来)$")
ABOUT: Final = "~"  # an amount kept as "~200000.00" was said with a hedge


@dataclass(frozen=True)
class Amounted:
    value: Decimal
    about: bool = False


def _chinese(text: str) -> Decimal | None:
    """Chinese numerals, alone or mixed with digits: "三千五", "1万5", "二十万", "2.5万"."""
    chinese = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"
    if not re.fullmatch(rf"[\d.{chinese}]+", text) or not re.search(f"[{chinese}]", text):
        return None
    import cn2an  # on first use: importing it costs a few hundred milliseconds at start-up

    with warnings.catch_warnings():  # cn2an warns on what it cannot read; we refuse it instead
        warnings.simplefilter("ignore")
        try:
            return Decimal(str(cn2an.cn2an(text, "smart")))
        except (ValueError, KeyError, IndexError, InvalidOperation):
            return None


def read_amount(raw: str) -> Amounted | None:
    """'5000', '5,000 元', '¥1.5万', '3k', '三千五', '大约20万', '五千多' → yuan, and whether it was hedged."""
    cleaned = _AMOUNT_NOISE.sub("", raw).lower()
    about = False
    while (hedge := _HEDGE_BEFORE.search(cleaned) or _HEDGE_AFTER.search(cleaned)) is not None and cleaned:
        cleaned, about = (cleaned[: hedge.start()] + cleaned[hedge.end() :]).strip(), True
    factor, digits = Decimal(1), cleaned
    if digits and digits[-1] in _AMOUNT_UNITS:
        factor, digits = _AMOUNT_UNITS[digits[-1]], digits[:-1]
    value: Decimal | None = None
    if re.fullmatch(r"\d{1,12}(\.\d{1,2})?", digits):
        value = Decimal(digits) * factor
    elif cleaned:
        value = _chinese(cleaned)
    if value is None:
        return None
    try:
        return Amounted(value.quantize(Decimal("0.01")), about)
    except InvalidOperation:
        return None


def parse_amount(raw: str) -> Decimal | None:
    """The sum alone (see read_amount)."""
    found = read_amount(raw)
    return found.value if found else None


@dataclass(frozen=True)
class Amount:
    """A sum of money in yuan, kept as a string with two decimals ("5000.00") so JSON holds it exactly; a hedged one
    as "~200000.00"."""

    max_value: int = 100_000_000
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return text
        found = read_amount(text)
        if found is None:
            return Rejected("input.amount_invalid")
        if found.value <= 0 or found.value > self.max_value:
            return Rejected("input.amount_range", {"max": f"{self.max_value:,}"})
        return Accepted(f"{ABOUT if found.about else ''}{found.value}")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        text = str(value)
        about = text.startswith(ABOUT)
        amount = Decimal(text.removeprefix(ABOUT))
        shown = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
        return turn.t("input.amount_about" if about else "input.amount_show", amount=shown)


_COUNT_NOISE = re.compile(r"[\s,，]|个人|个|人|名|位|户|家|口")
_NUMERAL = r"(?:\d+|[零一二两三四五六七八九十百千万]+)"
_RANGE = re.compile(rf"({_NUMERAL})\s*(?:到|至|-|~|～|—)\s*({_NUMERAL})")
_SOME_TENS = re.compile(r"([一二三四五六七八九]?)十几")  # 十几 11–19, 二十几 21–29
_TENS_OF = re.compile(r"几(十|百|千)")  # 几十: 20–90
_AND_MORE = re.compile(rf"({_NUMERAL})(?:多|余|来)")  # 三十多: 31–39, 100多: 101–199
_NEIGHBOURS = re.compile(r"([一二三四五六七八九])([一二三四五六七八九])(十|百|千)?")  # 七八个, 三四十


def _int(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    found = _chinese(text)
    return int(found) if found is not None and found == found.to_integral_value() else None


def read_count(raw: str) -> int | tuple[int, int] | None:
    """'30', '约30人', '三十', '十几个' → 11–19, '二十多人' → 21–29, '七八个' → 7–8, '20到30人' → 20–30."""
    cleaned = _COUNT_NOISE.sub("", raw)
    cleaned = _HEDGE_BEFORE.sub("", cleaned)
    cleaned = re.sub(r"(?:左右|上下)$", "", cleaned)
    if match := _NEIGHBOURS.fullmatch(cleaned):  # before the numerals: cn2an would read 七八 as 78
        unit = {"十": 10, "百": 100, "千": 1000}.get(match[3] or "", 1)
        low, high = _int(match[1]), _int(match[2])
        if low is not None and high is not None and high == low + 1:
            return (low * unit, high * unit)
    if (exact := _int(cleaned)) is not None:
        return exact
    if match := _RANGE.fullmatch(cleaned):
        low, high = _int(match[1]), _int(match[2])
        return (low, high) if low is not None and high is not None and low <= high else None
    if match := _SOME_TENS.fullmatch(cleaned):
        tens = _int(match[1]) if match[1] else 1
        return (tens * 10 + 1, tens * 10 + 9) if tens else None
    if match := _TENS_OF.fullmatch(cleaned):
        unit = {"十": 10, "百": 100, "千": 1000}[match[1]]
        return (2 * unit, 9 * unit)
    if match := _AND_MORE.fullmatch(cleaned):
        base = _int(match[1])
        if base is None or base < 10:
            return None
        step = 10 ** (len(str(base)) - 1) if base % 10 ** (len(str(base)) - 1) == 0 else 1
        return (base + 1, base + step - 1) if step > 1 else (base + 1, base + 9)
    return None


@dataclass(frozen=True)
class Count:
    """A whole number of things or people ('30', '约30人', '三十'), or the range that was said ('十几个': "11-19")."""

    min_value: int = 1
    max_value: int = 100_000
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return text
        found = read_count(text) if len(text) <= 20 else None
        if found is None:
            return Rejected("input.count_invalid")
        low, high = found if isinstance(found, tuple) else (found, found)
        if not (self.min_value <= low and high <= self.max_value):
            return Rejected("input.count_range", {"min": self.min_value, "max": self.max_value})
        return Accepted(found if isinstance(found, int) else f"{low}-{high}")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        if isinstance(value, str) and "-" in value:
            low, _, high = value.partition("-")
            return turn.t("input.count_between", low=low, high=high)
        return str(value)
