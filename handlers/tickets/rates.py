"""The ledger's three rates for tickets opened in a period — response, resolution, satisfaction — with their
definitions and the counts behind them. The counting is SQL (storage/repositories/ledger.py); which statuses and
scores count as what is said here, once.

- response (响应率): tickets claimed within their claim term (no claim term: claimed at all), of all tickets opened
  in the period but those the citizen withdrew;
- resolution (按期办结率): tickets resolved within their term (resolved now, not reopened since; no term: resolved at
  all), of the tickets due — resolved already, or past their term now;
- satisfaction (满意率): tickets whose citizen rated the treatment 4 or 5 ("satisfied", "very satisfied"), of the
  tickets rated. Beside it the solved share (解决率): "yes" of the answers to "is the problem solved?", where
  "partly" counts as answered but not solved (in the denominator, not the numerator)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from handlers.tickets import lifecycle
from storage.repositories.ledger import FactRow, Terms, Where
from storage.uow import UnitOfWork

SATISFIED_FROM: Final = 4  # "satisfied" and "very satisfied" count as satisfied
RESOLVED: Final = frozenset({lifecycle.RESOLVED, lifecycle.CLOSED})
LEFT_OUT: Final = frozenset({lifecycle.CANCELLED})  # withdrawn by the citizen: nobody's to answer for
PARTLY_SOLVED_COUNTS: Final = 0.0  # "partly" adds this much to the solved share's numerator (and 1 to its whole)

# The catalog entries that write each definition out beside the number.
DEFINITIONS: Final = {
    "response": "ledger.rate.response.def",
    "resolution": "ledger.rate.resolution.def",
    "satisfaction": "ledger.rate.satisfaction.def",
    "solved": "ledger.rate.solved.def",
}


def terms(now: datetime) -> Terms:
    return Terms(resolved=RESOLVED, open=lifecycle.OPEN, left_out=LEFT_OUT, satisfied_from=SATISFIED_FROM, now=now)


@dataclass(frozen=True)
class Rates:
    """The counts behind the three rates (and the solved share) of a set of tickets."""

    tickets: int = 0
    responded: int = 0
    resolved: int = 0  # within the term
    due: int = 0
    rated: int = 0
    satisfied: int = 0
    solved_yes: int = 0
    solved_partly: int = 0
    solved_rated: int = 0

    @staticmethod
    def _share(part: float, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self._share(self.responded, self.tickets)

    @property
    def resolution_rate(self) -> float | None:
        return self._share(self.resolved, self.due)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._share(self.satisfied, self.rated)

    @property
    def solved_rate(self) -> float | None:
        return self._share(self.solved_yes + PARTLY_SOLVED_COUNTS * self.solved_partly, self.solved_rated)

    @classmethod
    def of(cls, rows: Iterable[FactRow]) -> Rates:
        """Summed over groups of the ledger; withdrawn tickets are left out."""
        tickets = responded = resolved = due = rated = satisfied = yes = partly = solved = 0
        for row in rows:
            if row.status in LEFT_OUT:
                continue
            tickets += row.tickets
            responded += row.responded
            resolved += row.resolved_in_time
            due += row.due
            rated += row.rated
            satisfied += row.satisfied
            yes += row.solved_yes
            partly += row.solved_partly
            solved += row.solved_rated
        return cls(tickets, responded, resolved, due, rated, satisfied, yes, partly, solved)


async def three_rates(uow: UnitOfWork, start: datetime, end: datetime, now: datetime | None = None) -> Rates:
    """The rates of every ticket opened in [start, end), as of `now` (default: the end of the period)."""
    return Rates.of(await uow.ledger.facts(Where(start=start, end=end), terms(now or end)))
