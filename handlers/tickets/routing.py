"""Which unit gets a ticket: the most specific routing rule wins, then the county default, then the city."""

from __future__ import annotations

from storage.models import RoutingRule, Unit
from storage.uow import UnitOfWork


def _score(rule: RoutingRule, kind: str, category: str | None, county: str | None, township: str | None) -> int:
    """-1 when the rule does not match; otherwise higher is more specific."""
    score = 0
    for wanted, have, weight in (
        (rule.kind, kind, 1),
        (rule.category, category, 2),
        (rule.county, county, 4),
        (rule.township, township, 8),
    ):
        if wanted in (None, "", "*"):
            continue
        if wanted != have:
            return -1
        score += weight
    return score


async def route(
    uow: UnitOfWork, kind: str, category: str | None, county: str | None, township: str | None
) -> Unit | None:
    best: tuple[int, int] | None = None
    chosen: int | None = None
    for rule in await uow.units.rules(kind=kind, category=category, county=county, township=township):
        score = _score(rule, kind, category, county, township)
        if score < 0:
            continue
        rank = (score, -rule.id)
        if best is None or rank > best:
            best, chosen = rank, rule.unit_id
    return await uow.units.get(chosen) if chosen is not None else None
