"""Numbers people type: sums of money in yuan and counts of people or things."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.conversation.inputs import Accepted, Parsed, Rejected, typed_text
from handlers.conversation.messages import Button, Incoming, Request
from handlers.conversation.turn import Turn

_AMOUNT_UNITS = {"万": Decimal(10_000), "千": Decimal(1_000), "k": Decimal(1_000)}
_AMOUNT_NOISE = re.compile(r"[\s,，_]|元|¥|￥|rmb|cny|yuan", re.IGNORECASE)


def parse_amount(raw: str) -> Decimal | None:
    """'5000', '5,000 元', '¥1.5万', '3k' → yuan as a Decimal; None when it is not one number."""
    cleaned = _AMOUNT_NOISE.sub("", raw).lower()
    factor = Decimal(1)
    if cleaned and cleaned[-1] in _AMOUNT_UNITS:
        factor, cleaned = _AMOUNT_UNITS[cleaned[-1]], cleaned[:-1]
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", cleaned):
        return None
    try:
        return (Decimal(cleaned) * factor).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Amount:
    """A sum of money in yuan, kept as a string with two decimals ("5000.00") so JSON holds it exactly."""

    max_value: int = 100_000_000
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return text
        amount = parse_amount(text)
        if amount is None:
            return Rejected("input.amount_invalid")
        if amount <= 0 or amount > self.max_value:
            return Rejected("input.amount_range", {"max": f"{self.max_value:,}"})
        return Accepted(str(amount))

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        amount = Decimal(str(value))
        shown = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
        return turn.t("input.amount_show", amount=shown)


@dataclass(frozen=True)
class Count:
    """A whole number of things or people ('30', '约30人', 'about 30')."""

    min_value: int = 1
    max_value: int = 100_000
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return text
        numbers = re.findall(r"\d+", text.replace(",", ""))
        if len(numbers) != 1 or len(text) > 20:
            return Rejected("input.count_invalid")
        value = int(numbers[0])
        if not self.min_value <= value <= self.max_value:
            return Rejected("input.count_range", {"min": self.min_value, "max": self.max_value})
        return Accepted(value)

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return str(value)
