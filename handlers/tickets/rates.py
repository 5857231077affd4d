"""The ledger's three rates for tickets opened in a period — response, resolution, satisfaction — with their
definitions and the counts behind them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from handlers.tickets import lifecycle
from storage.uow import UnitOfWork

SATISFIED_FROM: Final = 4  # "satisfied" and "very satisfied" count as satisfied


@dataclass(frozen=True)
class Rates:
    """The ledger's three rates for tickets opened in a period, with the counts behind them.

    response: claimed within the claim deadline, of all tickets (withdrawn ones left out);
    resolution: resolved (and not reopened since), of all tickets;
    satisfaction: treatment rated 4 or 5, of the tickets whose citizen rated the treatment."""

    tickets: int
    responded: int
    resolved: int
    rated: int
    satisfied: int
    solved_yes: int
    solved_rated: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self._share(self.responded, self.tickets)

    @property
    def resolution_rate(self) -> float | None:
        return self._share(self.resolved, self.tickets)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._share(self.satisfied, self.rated)


async def three_rates(uow: UnitOfWork, start: datetime, end: datetime) -> Rates:
    tickets = responded = resolved = rated = satisfied = solved_yes = solved_rated = 0
    for status, claim_due, claimed, resolved_at, treatment, solved in await uow.tickets.for_rates(start, end):
        if status == lifecycle.CANCELLED:
            continue
        tickets += 1
        if claimed is not None and (claim_due is None or claimed <= claim_due):
            responded += 1
        if resolved_at is not None and status in (lifecycle.RESOLVED, lifecycle.CLOSED):
            resolved += 1
        if treatment is not None:
            rated += 1
            satisfied += treatment >= SATISFIED_FROM
        if solved is not None:
            solved_rated += 1
            solved_yes += solved == "yes"
    return Rates(tickets, responded, resolved, rated, satisfied, solved_yes, solved_rated)
