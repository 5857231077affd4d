"""The deadline policy: per ticket kind and category, each term with its source, turned into instants."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from handlers.tickets.workcal import DEFAULT_OFFICE_HOURS, Period, WorkCalendar, parse_overrides

UNITS: Final = ("minutes", "hours", "working_hours", "working_days", "days")
TERMS: Final = ("claim", "claim_urgent", "escalate_parent_after", "first_contact", "resolve")
NUMBERS: Final = ("claim_reminder_at", "due_reminder_at", "citizen_update_days", "satisfaction_days")
LOCAL_POLICY: Final = "local"


class DeadlineDataError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    """A length of time and where it comes from; `source` names a catalog entry `deadline.source.<source>`."""

    amount: float
    unit: str
    source: str = LOCAL_POLICY

    def after(self, calendar: WorkCalendar, start: datetime) -> datetime:
        if self.unit == "minutes":
            return start + timedelta(minutes=self.amount)
        if self.unit == "hours":
            return start + timedelta(hours=self.amount)
        if self.unit == "working_hours":
            return calendar.add_working_hours(start, self.amount)
        if self.unit == "working_days":
            return calendar.add_working_days(start, int(self.amount))
        return calendar.add_days(start, int(self.amount))

    @property
    def in_working_time(self) -> bool:
        return self.unit.startswith("working_") or self.unit == "days"


@dataclass(frozen=True)
class KindPolicy:
    claim: Term
    claim_urgent: Term
    escalate_parent_after: Term
    first_contact: Term
    resolve: Term
    claim_reminder_at: float = 0.5
    due_reminder_at: float = 0.8
    citizen_update_days: int = 5
    satisfaction_days: int = 7


@dataclass(frozen=True)
class Policy:
    default: KindPolicy
    kinds: Mapping[str, KindPolicy] = field(default_factory=dict)
    categories: Mapping[tuple[str, str], KindPolicy] = field(default_factory=dict)

    def for_ticket(self, kind: str, category: str | None) -> KindPolicy:
        if category is not None and (kind, category) in self.categories:
            return self.categories[(kind, category)]
        return self.kinds.get(kind, self.default)

    def sources(self) -> set[str]:
        policies = [self.default, *self.kinds.values(), *self.categories.values()]
        return {getattr(p, name).source for p in policies for name in TERMS}


def _term(name: str, raw: Any) -> Term:
    if not isinstance(raw, Mapping):
        raise DeadlineDataError(f"{name}: expected a table like {{ working_hours = 4, source = 'local' }}")
    units = [u for u in UNITS if u in raw]
    if len(units) != 1:
        raise DeadlineDataError(f"{name}: give exactly one of {', '.join(UNITS)}")
    amount = raw[units[0]]
    if not isinstance(amount, int | float) or amount <= 0:
        raise DeadlineDataError(f"{name}: {units[0]} must be a positive number")
    source = raw.get("source")
    if not isinstance(source, str) or not source:
        raise DeadlineDataError(f"{name}: every number names its source, or source = 'local' for local policy")
    return Term(float(amount), units[0], source)


def _merge(base: KindPolicy | None, raw: Mapping[str, Any], where: str) -> KindPolicy:
    values: dict[str, Any] = {}
    for name in TERMS:
        if name in raw:
            values[name] = _term(f"{where}.{name}", raw[name])
    for name in NUMBERS:
        if name in raw:
            number = raw[name]
            if not isinstance(number, int | float) or number <= 0:
                raise DeadlineDataError(f"{where}.{name} must be a positive number")
            values[name] = float(number) if name.endswith("_at") else int(number)
    for name in ("claim_reminder_at", "due_reminder_at"):
        if not 0 < values.get(name, 0.5) < 1:
            raise DeadlineDataError(f"{where}.{name} is a fraction between 0 and 1")
    if base is not None:
        return replace(base, **values)
    missing = [name for name in TERMS if name not in values]
    if missing:
        raise DeadlineDataError(f"{where} lacks {', '.join(missing)}")
    return KindPolicy(**values)


def parse_policy(data: Mapping[str, Any]) -> Policy:
    """The deadline file's contents: [default], [kind.<kind>], [kind.<kind>.category.<category>]."""
    default = _merge(None, data.get("default", {}), "default")
    kinds: dict[str, KindPolicy] = {}
    categories: dict[tuple[str, str], KindPolicy] = {}
    for kind, raw in dict(data.get("kind", {})).items():
        kinds[kind] = _merge(default, {k: v for k, v in raw.items() if k != "category"}, f"kind.{kind}")
        for category, raw_category in dict(raw.get("category", {})).items():
            categories[(kind, category)] = _merge(kinds[kind], raw_category, f"kind.{kind}.category.{category}")
    return Policy(default, kinds, categories)


@dataclass(frozen=True)
class ClaimPlan:
    """When an unclaimed ticket is chased: the unit reminded, its leaders told, then the parent unit."""

    remind_at: datetime
    due_at: datetime
    parent_at: datetime
    source: str


@dataclass(frozen=True)
class WorkPlan:
    due_at: datetime
    remind_at: datetime
    source: str


class Deadlines:
    """The calendar and the policy together: every instant a ticket's ladder needs."""

    def __init__(self, calendar: WorkCalendar, policy: Policy) -> None:
        self.calendar = calendar
        self.policy = policy

    def terms(self, kind: str, category: str | None) -> KindPolicy:
        return self.policy.for_ticket(kind, category)

    def claim(self, kind: str, category: str | None, urgent: bool, start: datetime) -> ClaimPlan:
        terms = self.terms(kind, category)
        term = terms.claim_urgent if urgent else terms.claim
        due = term.after(self.calendar, start)
        remind = self._fraction(term, start, due, terms.claim_reminder_at)
        parent_term = terms.claim_urgent if urgent else terms.escalate_parent_after
        return ClaimPlan(remind, due, parent_term.after(self.calendar, due), term.source)

    def first_contact(self, kind: str, category: str | None, start: datetime) -> datetime:
        return self.terms(kind, category).first_contact.after(self.calendar, start)

    def resolve_by(self, kind: str, category: str | None, start: datetime) -> tuple[datetime, str]:
        term = self.terms(kind, category).resolve
        return term.after(self.calendar, start), term.source

    def work(self, kind: str, category: str | None, start: datetime, due: datetime) -> WorkPlan:
        terms = self.terms(kind, category)
        remind = self._fraction(terms.resolve, start, due, terms.due_reminder_at)
        return WorkPlan(due, remind, terms.resolve.source)

    def _fraction(self, term: Term, start: datetime, end: datetime, fraction: float) -> datetime:
        if term.in_working_time:
            return self.calendar.fraction_of(start, end, fraction)
        return start + (end - start) * fraction


def build_deadlines(
    policy: Mapping[str, Any],
    holidays: Mapping[str, Any],
    *,
    timezone: str = "Asia/Shanghai",
    office_hours: tuple[Period, ...] = DEFAULT_OFFICE_HOURS,
) -> Deadlines:
    """From the parsed contents of the deadline file and the holiday override file."""
    calendar = WorkCalendar(timezone, office_hours, parse_overrides(holidays))
    return Deadlines(calendar, parse_policy(policy))


DEMO: Final = Path(__file__).resolve().parents[2] / "demo"


@cache
def default_deadlines() -> Deadlines:
    """The shipped demo policy on the default office hours: what Rules() carries when nothing else is configured."""
    policy = tomllib.loads((DEMO / "deadlines.toml").read_text(encoding="utf-8"))
    holidays = tomllib.loads((DEMO / "holidays.toml").read_text(encoding="utf-8"))
    return build_deadlines(policy, holidays)
