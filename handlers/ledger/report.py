"""The ledger (台账) for a period and a scope: the five batches with their counts and outcomes, the tickets by status,
category, county and unit, the three rates per unit, what is overdue now, the week-by-week trend, the convenience
measures and the clusters. Every count comes from SQL (uow.ledger); every count that stands for tickets carries the
Facet that lists them, so the dashboard's click-through shows exactly the tickets behind a number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, TypeVar

from handlers.interviews.service import HELP
from handlers.ledger.period import Period
from handlers.tickets import lifecycle
from handlers.tickets.policy import Actor, LedgerScope, ledger_scope
from handlers.tickets.rates import RESOLVED, Rates, terms
from storage.models import Cluster, Ticket, Unit
from storage.repositories.ledger import BroadcastFacts, Facet, FactRow, MeasureRow, Where
from storage.uow import UnitOfWork

OVERDUE_SHOWN: Final = 20
CLUSTER_SINCE_DAYS: Final = 90  # clusters grown in the last 90 days are listed, whatever the period
RESOLVED_STATUSES: Final = tuple(sorted(RESOLVED))
BATCHES: Final = ("concern", "dispute", "aid", "campaign", "measure")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Figure:
    """One number of a batch: its catalog id (`ledger.fig.<key>`), its value, the tickets behind it (None for a
    number that is not a count of tickets), and how it is written (count, money, rate)."""

    key: str
    value: int | Decimal | float | None
    facet: Facet | None = None
    form: str = "count"


@dataclass(frozen=True)
class Batch:
    name: str
    figures: tuple[Figure, ...]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


@dataclass(frozen=True)
class UnitRow:
    unit: Unit | None
    rates: Rates
    overdue: int


@dataclass(frozen=True)
class MeasureLine:
    code: str
    title: dict[str, str]  # locale → title
    county: str | None
    unit: Unit | None
    unit_text: dict[str, str]  # locale → the unit as the guide writes it
    since: date | None
    views: int
    searches: int

    @property
    def asks(self) -> int:
        return self.views + self.searches


@dataclass
class Report:
    period: Period
    scope: LedgerScope
    where: Where
    now: datetime
    county: str | None = None
    unit: Unit | None = None  # the unit filter, if any (its subtree)
    batches: list[Batch] = field(default_factory=list)
    totals: Rates = field(default_factory=Rates)
    by_status: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, str, int]] = field(default_factory=list)
    by_county: list[tuple[str | None, int]] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    trend: list[tuple[str, int, int]] = field(default_factory=list)  # (the week's Monday, opened, resolved now)
    overdue: int = 0
    overdue_tickets: Sequence[Ticket] = ()
    measures: list[MeasureLine] = field(default_factory=list)
    clusters: list[tuple[Cluster, int]] = field(default_factory=list)
    broadcasts: BroadcastFacts = field(default_factory=BroadcastFacts)
    unit_names: dict[int, Unit] = field(default_factory=dict)

    def batch(self, name: str) -> Batch:
        return next(b for b in self.batches if b.name == name)


def measures_by(lines: Iterable[MeasureLine], key: Callable[[MeasureLine], K]) -> list[tuple[K, int, int]]:
    """Convenience measures counted by county or by unit: (key, measures, times asked for), most asked first."""
    counted: dict[K, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        counted[key(line)][0] += 1
        counted[key(line)][1] += line.asks
    return sorted(((k, n, asks) for k, (n, asks) in counted.items()), key=lambda item: (-item[2], -item[1]))


def subtree(units: Iterable[Unit], root: int) -> frozenset[int]:
    """`root` and every unit below it."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit.id)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


class OutOfScope(Exception):
    """A unit filter outside what the actor may read."""


async def visible_units(uow: UnitOfWork, scope: LedgerScope) -> tuple[list[Unit], frozenset[int] | None]:
    """Every unit, and the ids this scope reads (None: all of them, and the unrouted tickets too)."""
    units = list(await uow.units.all())
    return units, (None if scope.root is None else subtree(units, scope.root))


def _count(rows: Iterable[FactRow]) -> int:
    return sum(r.tickets for r in rows)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def build(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    now: datetime,
    *,
    county: str | None = None,
    unit_id: int | None = None,
) -> Report | None:
    """The ledger this actor may read (None: they may read none); `unit_id` narrows it to that unit's subtree, and
    raises OutOfScope when that unit is not theirs to read."""
    scope = ledger_scope(actor)
    if scope is None:
        return None
    units, readable = await visible_units(uow, scope)
    by_id = {u.id: u for u in units}
    chosen: Unit | None = None
    reads = readable
    if unit_id is not None:
        if unit_id not in by_id or (readable is not None and unit_id not in readable):
            raise OutOfScope(unit_id)
        chosen = by_id[unit_id]
        reads = subtree(units, unit_id)
    where = Where(start=period.start, end=period.end, units=reads, county=county)
    t = terms(now)
    report = Report(period, scope, where, now, county=county, unit=chosen, unit_names=by_id)
    rows = await uow.ledger.facts(where, t)
    counted = [r for r in rows if r.status not in {lifecycle.CANCELLED}]
    report.totals = Rates.of(rows)
    overdue = await uow.ledger.overdue_now(where, t)
    report.overdue = sum(overdue.values())
    report.overdue_tickets = await uow.ledger.tickets(where, Facet(test="overdue"), t, limit=OVERDUE_SHOWN)
    report.broadcasts = await uow.ledger.broadcasts(period.start, period.end, county)
    report.measures = _measures(
        await uow.ledger.measures(f"{period.first:%Y-%m-%d}", f"{period.last:%Y-%m-%d}"), by_id, reads, county
    )
    report.batches = _batches(counted, report)
    report.by_status = _by(rows, lambda r: r.status, order=lifecycle.STATUSES)
    report.by_category = sorted(
        ((k, c, n) for (k, c), n in _group(counted, lambda r: (r.kind, r.category)).items()),
        key=lambda item: (item[0], -item[2], item[1]),
    )
    counties: dict[str | None, int] = _group(counted, lambda r: r.county)
    report.by_county = sorted(counties.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    per_unit: dict[int | None, list[FactRow]] = defaultdict(list)
    for row in rows:
        per_unit[row.unit_id].append(row)
    for unit in set(overdue) - set(per_unit):
        per_unit[unit] = []
    report.units = sorted(
        (UnitRow(by_id.get(u) if u is not None else None, Rates.of(r), overdue.get(u, 0)) for u, r in per_unit.items()),
        key=lambda row: (row.unit is None, row.unit.id if row.unit else 0),
    )
    weeks = {w.week: w for w in await uow.ledger.trend(where, t, period.week0)}
    for week in range(period.weeks()):
        w = weeks.get(week)
        report.trend.append((period.week_label(week), w.opened if w else 0, w.resolved if w else 0))
    report.clusters = await uow.ledger.clusters.visible(reads, now - timedelta(days=CLUSTER_SINCE_DAYS))
    return report


def _group(rows: Iterable[FactRow], key: Callable[[FactRow], K]) -> dict[K, int]:
    grouped: dict[K, int] = defaultdict(int)
    for row in rows:
        grouped[key(row)] += row.tickets
    return dict(grouped)


def _by(rows: Iterable[FactRow], key: Callable[[FactRow], str], order: Sequence[str]) -> list[tuple[str, int]]:
    grouped = _group(rows, key)
    return sorted(
        ((str(k), n) for k, n in grouped.items()),
        key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order),
    )


def _batches(rows: list[FactRow], report: Report) -> list[Batch]:
    def of(kind: str) -> list[FactRow]:
        return [r for r in rows if r.kind == kind]

    def done(kind_rows: list[FactRow]) -> list[FactRow]:
        return [r for r in kind_rows if r.status in RESOLVED]

    def count(key: str, kind_rows: list[FactRow], facet: Facet) -> Figure:
        return Figure(key, _count(kind_rows), facet)

    concern = of("concern")
    concern_figures = [
        count("concern_received", concern, Facet(kinds=("concern",), test="counted")),
        count("concern_handled", done(concern), Facet(kinds=("concern",), statuses=RESOLVED_STATUSES)),
    ]
    for category, n in sorted(_group(concern, lambda r: r.category).items(), key=lambda kv: -kv[1]):
        concern_figures.append(
            Figure(f"concern_cat:{category}", n, Facet(kinds=("concern",), categories=(str(category),), test="counted"))
        )

    dispute = of("dispute")
    mediated = done(dispute)
    agreed = [r for r in mediated if r.outcome == "mediation_agreement"]
    dispute_figures = (
        count("dispute_received", dispute, Facet(kinds=("dispute",), test="counted")),
        count("dispute_mediated", mediated, Facet(kinds=("dispute",), statuses=RESOLVED_STATUSES)),
        count(
            "dispute_agreed",
            agreed,
            Facet(kinds=("dispute",), statuses=RESOLVED_STATUSES, outcomes=("mediation_agreement",)),
        ),
        Figure("dispute_success_rate", _share(_count(agreed), _count(mediated)), form="rate"),
    )

    legal_aid, relief = of("legal_aid"), of("relief")
    granted = [r for r in done(legal_aid) if r.outcome == "legal_aid_granted"]
    refused = [r for r in legal_aid if r.status == lifecycle.REJECTED]
    relieved = [r for r in done(relief) if r.outcome == "relief_granted"]
    aid_figures = (
        count("aid_legal_aid", legal_aid, Facet(kinds=("legal_aid",), test="counted")),
        count(
            "aid_granted",
            granted,
            Facet(kinds=("legal_aid",), statuses=RESOLVED_STATUSES, outcomes=("legal_aid_granted",)),
        ),
        count("aid_refused", refused, Facet(kinds=("legal_aid",), statuses=(lifecycle.REJECTED,))),
        count("aid_relief", relief, Facet(kinds=("relief",), test="counted")),
        count(
            "aid_relief_granted",
            relieved,
            Facet(kinds=("relief",), statuses=RESOLVED_STATUSES, outcomes=("relief_granted",)),
        ),
        Figure("aid_relief_amount", sum((r.relief for r in relieved), Decimal(0)), form="money"),
    )

    b = report.broadcasts
    campaign_figures = (
        Figure("campaign_broadcasts", b.broadcasts),
        Figure("campaign_recipients", b.recipients),
        Figure("campaign_delivered", b.delivered),
    )

    service = of("service")
    in_service = [m for m in report.measures if m.since is None or m.since <= report.period.last]
    measure_figures = [
        Figure("measure_in_service", len(in_service)),
        Figure("measure_asks", sum(m.asks for m in report.measures)),
        count("measure_requests", service, Facet(kinds=("service",), test="counted")),
        count("measure_handled", done(service), Facet(kinds=("service",), statuses=RESOLVED_STATUSES)),
    ]
    by_help = _group(service, lambda r: r.category)
    for help_kind in HELP:
        measure_figures.append(
            Figure(
                f"measure_help:{help_kind}",
                int(by_help.get(help_kind, 0)),
                Facet(kinds=("service",), categories=(help_kind,), test="counted"),
            )
        )
    return [
        Batch("concern", tuple(concern_figures)),
        Batch("dispute", dispute_figures),
        Batch("aid", aid_figures),
        Batch("campaign", campaign_figures),
        Batch("measure", tuple(measure_figures)),
    ]


def _measures(
    rows: Sequence[MeasureRow], units: dict[int, Unit], reads: frozenset[int] | None, county: str | None
) -> list[MeasureLine]:
    by_code = {u.code: u for u in units.values()}
    lines = []
    for row in rows:
        content = row.entry.content or {}
        unit = by_code.get(str(content.get("unit_code") or ""))
        if reads is not None and (unit is None or unit.id not in reads):
            continue
        if county is not None and row.entry.county != county:
            continue
        since_text = content.get("since")
        lines.append(
            MeasureLine(
                code=row.entry.code,
                title={loc: str(content.get(loc, {}).get("title", row.entry.code)) for loc in ("zh_CN", "en")},
                county=row.entry.county,
                unit=unit,
                unit_text={loc: str(content.get(loc, {}).get("unit", "")) for loc in ("zh_CN", "en")},
                since=date.fromisoformat(since_text) if isinstance(since_text, str) else None,
                views=row.views,
                searches=row.searches,
            )
        )
    return lines
