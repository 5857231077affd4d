"""Hanzhong's county-level divisions and the townships with a judicial office, as codes.

Names are in the catalogs (`county.<code>`, `township.<county>.<code>`); the codes are the ones the units and
routing rules in demo/hanzhong.toml use, so a township answer sends a dispute to its judicial office (司法所).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.conversation.inputs import Accepted, Choice, Option, Parsed, Rejected, options_from
from handlers.conversation.messages import Button, Incoming, Request
from handlers.conversation.turn import Turn

COUNTIES: tuple[str, ...] = (
    "hantai",
    "nanzheng",
    "chenggu",
    "yangxian",
    "xixiang",
    "mianxian",
    "ningqiang",
    "lueyang",
    "zhenba",
    "liuba",
    "foping",
)

COUNTY_CHOICE: Choice = options_from(COUNTIES, "county", columns=3)

TOWNSHIPS: Mapping[str, tuple[str, ...]] = {
    "hantai": ("beiguan", "puzhen"),
    "nanzheng": ("dahekan", "xieshui"),
    "chenggu": ("bowang", "liulin"),
    "yangxian": ("yangzhou", "xiecun"),
    "xixiang": ("chengbei", "sidu"),
    "mianxian": ("mianyang", "zhoujiashan"),
    "ningqiang": ("hanyuan", "yangpingguan"),
    "lueyang": ("xingzhou",),
    "zhenba": ("jingyang",),
    "liuba": ("zibai",),
    "foping": ("yuanjiazhuang",),
}

# Courts a citizen may name for an enforcement case: the intermediate court and each basic-level court.
COURTS: tuple[str, ...] = ("city", *COUNTIES)
COURT_CHOICE: Choice = options_from(COURTS, "court", columns=2)


def township_label(county: str, township: str) -> str:
    return f"township.{county}.{township}"


def township_of(county: str | None, township: Any) -> str | None:
    """The township only when it belongs to the county (an edited county leaves no stray township behind)."""
    if county is None or not isinstance(township, str):
        return None
    return township if township in TOWNSHIPS.get(county, ()) else None


@dataclass(frozen=True)
class TownshipChoice:
    """A choice whose options depend on the county answered before."""

    county_key: str = "county"
    columns: int = 2
    request: Request | None = None

    def _choice(self, turn: Turn) -> Choice:
        county = str(turn.state.answers.get(self.county_key) or "")
        return Choice(
            tuple(Option(code, township_label(county, code)) for code in TOWNSHIPS.get(county, ())),
            columns=self.columns,
        )

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        parsed = self._choice(turn).parse(turn, incoming)
        return parsed if isinstance(parsed, Accepted | Rejected) else Rejected("input.stale_button")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return self._choice(turn).buttons(turn)

    def show(self, turn: Turn, value: Any) -> str:
        county = str(turn.state.answers.get(self.county_key) or "")
        return turn.t(township_label(county, value)) if township_of(county, value) else str(value)


def has_townships(answers: Mapping[str, Any]) -> bool:
    """The county has townships with a judicial office."""
    return bool(TOWNSHIPS.get(str(answers.get("county"))))
