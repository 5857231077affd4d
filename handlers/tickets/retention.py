"""The retention policy (PIPL Art. 19) from its data file (demo/retention.toml): a term per ticket kind, each naming
its basis, the records a law requires kept after erasure, and the housekeeping terms of rows that are not tickets."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.models import Ticket


class RetentionDataError(ValueError):
    pass


@dataclass(frozen=True)
class Keep:
    """Which tickets of a kind hold a record a law requires kept (by outcome or final status), and that law."""

    outcomes: frozenset[str]
    statuses: frozenset[str]
    basis: Mapping[str, str]

    def applies(self, ticket: Ticket) -> bool:
        return (ticket.outcome or "") in self.outcomes or ticket.status in self.statuses


@dataclass(frozen=True)
class Term:
    years: int
    basis: Mapping[str, str]  # locale → text
    keep: Keep | None = None


@dataclass(frozen=True)
class Housekeeping:
    inbox: timedelta
    outbox: timedelta
    uploads: timedelta
    copies: timedelta


def _words(raw: Any, where: str) -> dict[str, str]:
    if isinstance(raw, str):
        return {"": raw}
    if not isinstance(raw, Mapping) or not raw or not all(isinstance(v, str) and v for v in raw.values()):
        raise RetentionDataError(f"{where}: basis is a text or a table of texts by language")
    return {str(k): str(v) for k, v in raw.items()}


def _term(raw: Any, where: str) -> Term:
    if not isinstance(raw, Mapping):
        raise RetentionDataError(f"[{where}] is a table")
    years = raw.get("years")
    if not isinstance(years, int) or isinstance(years, bool) or not 0 <= years <= 100:
        raise RetentionDataError(f"[{where}]: years is a whole number from 0 to 100")
    keep = None
    if "keep" in raw:
        found = raw["keep"]
        if not isinstance(found, Mapping):
            raise RetentionDataError(f"[{where}].keep is a table")
        keep = Keep(
            frozenset(str(o) for o in found.get("outcomes", ())),
            frozenset(str(s) for s in found.get("statuses", ())),
            _words(found.get("basis"), f"[{where}].keep"),
        )
    return Term(years, _words(raw.get("basis"), f"[{where}]"), keep)


@dataclass(frozen=True)
class RetentionPolicy:
    default: Term
    kinds: Mapping[str, Term]
    housekeeping: Housekeeping

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RetentionPolicy:
        """From the data file's contents; an empty mapping is the notice's promise: 3 years, nothing kept."""
        unknown = set(raw) - {"default", "kinds", "housekeeping"}
        if unknown:
            raise RetentionDataError(f"unknown tables {sorted(unknown)}")
        default = _term(raw.get("default", {"years": 3, "basis": "PIPL Art. 19"}), "default")
        kinds = {str(k): _term(v, f"kinds.{k}") for k, v in dict(raw.get("kinds", {})).items()}
        days = dict(raw.get("housekeeping", {}))

        def span(name: str, fallback: int) -> timedelta:
            value = days.get(name, fallback)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3660:
                raise RetentionDataError(f"[housekeeping]: {name} is a whole number of days from 1 to 3660")
            return timedelta(days=value)

        housekeeping = Housekeeping(
            span("inbox_days", 30), span("outbox_days", 180), span("uploads_days", 1), span("copies_days", 1)
        )
        return cls(default, kinds, housekeeping)

    @classmethod
    def promised(cls) -> RetentionPolicy:
        """Without a data file: the notice's promise, 3 years after closing, nothing kept."""
        return cls.parse({})

    def term(self, kind: str) -> Term:
        return self.kinds.get(kind, self.default)

    def keep(self, ticket: Ticket) -> Keep | None:
        """The record this ticket must keep after erasure, if a law requires one."""
        keep = self.term(ticket.kind).keep
        return keep if keep is not None and keep.applies(ticket) else None

    def closed_before(self, years: int, now: datetime) -> datetime:
        """Tickets closed before this moment have outlived a term of `years`."""
        try:
            return now.replace(year=now.year - years)
        except ValueError:  # 29 February
            return now.replace(year=now.year - years, day=28)

    def groups(self) -> list[tuple[int, Collection[str] | None, Collection[str]]]:
        """(years, kinds or None for "every other kind", kinds to leave out): the questions the daily job asks."""
        found: dict[int, list[str]] = {}
        for kind, term in self.kinds.items():
            found.setdefault(term.years, []).append(kind)
        questions: list[tuple[int, Collection[str] | None, Collection[str]]] = [
            (years, kinds, ()) for years, kinds in sorted(found.items())
        ]
        questions.append((self.default.years, None, tuple(self.kinds)))
        return questions


def basis_text(words: Mapping[str, str], locale: str) -> str:
    return words.get(locale) or words.get("") or next(iter(words.values()))
