"""The ledger (台账) in SQL: tickets counted by unit, kind, category, county, status and outcome with the conditions of
the three rates summed beside them, the week-by-week trend, what is overdue now, broadcasts and convenience measures —
never by loading tickets. What the ledger keeps of its own is beside it: clusters.py, dashboard.py. Which statuses
count as what is the caller's (handlers/tickets) to say."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Integer, Numeric, and_, case, cast, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.db import insert_for
from storage.models import (
    Broadcast,
    BroadcastDelivery,
    GuideEntry,
    MeasureAsk,
    OutboxMessage,
    Ticket,
)
from storage.repositories.clusters import ClusterRepository
from storage.repositories.dashboard import AccessRepository, ChartRepository

WEEK_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Terms:
    """What the rates need to know that only the ticket domain knows: which statuses are resolved, which are open,
    which are left out (withdrawn), from which treatment score a citizen counts as satisfied — and when `now` is."""

    resolved: frozenset[str]
    open: frozenset[str]
    left_out: frozenset[str]
    satisfied_from: int
    now: datetime


@dataclass(frozen=True)
class Where:
    """Which tickets: opened in [start, end) (None: any time), in these units (None: every unit, the unrouted too),
    in this county."""

    start: datetime | None = None
    end: datetime | None = None
    units: frozenset[int] | None = None
    county: str | None = None


@dataclass(frozen=True)
class Facet:
    """A subset of the tickets of a Where, as a number on the ledger names it; the dashboard lists the tickets
    behind a number with the same Facet, so the two always agree."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    unit: int | None = None  # one unit exactly (a row of the per-unit table)
    county: str | None = None  # "" for the tickets of no county
    test: str | None = None  # counted | responded | resolved_in_time | due | rated | satisfied | overdue
    ids: tuple[int, ...] = ()  # a cluster's tickets


@dataclass
class FactRow:
    """One group of the ledger's grouping: its key and what its tickets add up to."""

    unit_id: int | None
    kind: str
    category: str
    county: str | None
    status: str
    outcome: str | None
    tickets: int
    responded: int
    resolved_in_time: int
    due: int
    overdue: int
    rated: int
    satisfied: int
    solved_yes: int
    solved_partly: int
    solved_rated: int
    relief: Decimal


@dataclass
class WeekRow:
    week: int  # 0 for the week the period starts in
    opened: int
    resolved: int


@dataclass
class BroadcastFacts:
    broadcasts: int = 0
    recipients: int = 0
    delivered: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureRow:
    entry: GuideEntry
    views: int
    searches: int


class LedgerRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect
        self.clusters = ClusterRepository(session, dialect)
        self.access = AccessRepository(session)
        self.charts = ChartRepository(session)

    # ---- the conditions behind the rates, one place

    @staticmethod
    def counted(terms: Terms) -> ColumnElement[bool]:
        return Ticket.status.not_in(sorted(terms.left_out))

    @staticmethod
    def responded(terms: Terms) -> ColumnElement[bool]:
        """Claimed within the claim term (no claim term: claimed at all)."""
        return and_(
            Ticket.claimed_at.is_not(None), or_(Ticket.claim_due_at.is_(None), Ticket.claimed_at <= Ticket.claim_due_at)
        )

    @staticmethod
    def resolved_in_time(terms: Terms) -> ColumnElement[bool]:
        """Resolved now (not reopened since) and within the term (no term: resolved at all)."""
        return and_(
            Ticket.status.in_(sorted(terms.resolved)),
            Ticket.resolved_at.is_not(None),
            or_(Ticket.due_at.is_(None), Ticket.resolved_at <= Ticket.due_at),
        )

    @staticmethod
    def due(terms: Terms) -> ColumnElement[bool]:
        """Ought to be resolved by now: resolved already, or its term has passed."""
        return or_(
            Ticket.status.in_(sorted(terms.resolved)), and_(Ticket.due_at.is_not(None), Ticket.due_at < terms.now)
        )

    @staticmethod
    def overdue(terms: Terms) -> ColumnElement[bool]:
        return and_(Ticket.status.in_(sorted(terms.open)), Ticket.due_at.is_not(None), Ticket.due_at < terms.now)

    @staticmethod
    def satisfied(terms: Terms) -> ColumnElement[bool]:
        return Ticket.rating_treatment >= terms.satisfied_from

    def _test(self, name: str, terms: Terms) -> ColumnElement[bool]:
        tests = {
            "counted": self.counted(terms),
            "responded": and_(self.counted(terms), self.responded(terms)),
            "resolved_in_time": and_(self.counted(terms), self.resolved_in_time(terms)),
            "due": and_(self.counted(terms), self.due(terms)),
            "rated": and_(self.counted(terms), Ticket.rating_treatment.is_not(None)),
            "satisfied": and_(self.counted(terms), self.satisfied(terms)),
            "overdue": self.overdue(terms),
        }
        return tests[name]

    @staticmethod
    def _where(where: Where) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if where.start is not None:
            conditions.append(Ticket.created_at >= where.start)
        if where.end is not None:
            conditions.append(Ticket.created_at < where.end)
        if where.units is not None:
            conditions.append(Ticket.unit_id.in_(sorted(where.units)))
        if where.county is not None:
            conditions.append(Ticket.county == where.county)
        return conditions

    def _relief_amount(self) -> Any:
        amount = Ticket.details["relief_amount"].as_string()
        return cast(amount, Numeric(16, 2))

    # ---- the ledger

    async def _tune(self) -> None:
        """For this transaction only (PostgreSQL): room to group a year of a city's tickets in memory rather than
        in sorted runs on disk, and no JIT compilation, which costs more than it saves on a few aggregates."""
        if self.dialect == "postgresql":
            await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
            await self.session.execute(text("SET LOCAL jit = off"))
            # The planner cannot know how few groups a grouping by unit, kind, … or by week makes; it would sort a
            # year of tickets to group them. Hashing them is several times faster.
            await self.session.execute(text("SET LOCAL enable_sort = off"))
            # And the grouping is CPU work on rows already in memory: worth sharing with parallel workers.
            await self.session.execute(text("SET LOCAL parallel_setup_cost = 10"))
            await self.session.execute(text("SET LOCAL parallel_tuple_cost = 0.001"))

    async def facts(self, where: Where, terms: Terms) -> list[FactRow]:
        """Every group of (unit, kind, category, county, status, outcome) of the tickets opened in the period, with
        the conditions of the rates summed per group: one pass over the tickets, which on PostgreSQL reads only the
        ledger's covering index (ix_tickets_ledger); then the relief amounts, from the relief tickets alone."""

        def total(condition: ColumnElement[bool]) -> Any:
            return func.count().filter(condition)

        await self._tune()
        key = (Ticket.unit_id, Ticket.kind, Ticket.category, Ticket.county, Ticket.status, Ticket.outcome)
        stmt = (
            select(
                *key,
                func.count(),
                total(self.responded(terms)),
                total(self.resolved_in_time(terms)),
                total(self.due(terms)),
                total(self.overdue(terms)),
                func.count(Ticket.rating_treatment),
                total(self.satisfied(terms)),
                total(Ticket.rating_solved == "yes"),
                total(Ticket.rating_solved == "partly"),
                func.count(Ticket.rating_solved),
            )
            .where(*self._where(where))
            .group_by(*key)
        )
        facts: dict[tuple[Any, ...], FactRow] = {}
        for r in (await self.session.execute(stmt)).all():
            tickets, responded, in_time, due, overdue, rated, satisfied, yes, partly, solved = (
                int(v or 0) for v in r[6:16]
            )
            facts[tuple(r[:6])] = FactRow(
                r[0], r[1], r[2], r[3], r[4], r[5], tickets, responded, in_time, due, overdue, rated, satisfied,
                yes, partly, solved, Decimal(0),
            )  # fmt: skip
        relief = (
            select(*key, func.sum(self._relief_amount()))
            .where(*self._where(where), Ticket.kind == "relief", Ticket.outcome == "relief_granted")
            .group_by(*key)
        )
        for r in (await self.session.execute(relief)).all():
            if tuple(r[:6]) in facts:
                facts[tuple(r[:6])].relief = Decimal(r[6] or 0)
        return list(facts.values())

    def _week(self, week0: datetime) -> Any:
        if self.dialect == "postgresql":
            # date_part is double precision (EXTRACT is numeric since PostgreSQL 14: several times slower per row)
            seconds = func.date_part("epoch", Ticket.created_at) - literal(week0.timestamp(), Float)
            return cast(func.floor(seconds / literal(float(WEEK_SECONDS), Float)), Integer)
        origin = week0.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        days = func.julianday(Ticket.created_at) - func.julianday(literal(origin))
        return cast(days / 7, Integer)

    async def trend(self, where: Where, terms: Terms, week0: datetime) -> list[WeekRow]:
        """Week by week (weeks starting at `week0`, a local Monday midnight): the tickets opened in each week, and how
        many of them are resolved now (the withdrawn left out, as in the rates)."""
        week = self._week(week0).label("week")
        stmt = (
            select(week, func.count(), func.count().filter(Ticket.status.in_(sorted(terms.resolved))))
            .where(self.counted(terms), *self._where(where))
            .group_by(week)
        )
        rows = [WeekRow(int(w), int(n), int(r or 0)) for w, n, r in (await self.session.execute(stmt)).all()]
        return sorted(rows, key=lambda row: row.week)  # here, not in SQL: a sort there would stop it hashing

    async def overdue_now(self, where: Where, terms: Terms) -> dict[int | None, int]:
        """Open tickets past their term at this moment, per unit, whenever they were opened."""
        scope = Where(units=where.units, county=where.county)
        stmt = (
            select(Ticket.unit_id, func.count())
            .where(self.overdue(terms), *self._where(scope))
            .group_by(Ticket.unit_id)
        )
        return {u: int(n) for u, n in (await self.session.execute(stmt)).all()}

    def _facet(self, where: Where, facet: Facet, terms: Terms) -> list[ColumnElement[bool]]:
        if facet.test == "overdue":  # overdue is "now", whatever the period
            where = Where(units=where.units, county=where.county)
        conditions = self._where(where)
        if facet.kinds:
            conditions.append(Ticket.kind.in_(facet.kinds))
        if facet.statuses:
            conditions.append(Ticket.status.in_(facet.statuses))
        if facet.categories:
            conditions.append(Ticket.category.in_(facet.categories))
        if facet.outcomes:
            conditions.append(Ticket.outcome.in_(facet.outcomes))
        if facet.unit is not None:
            conditions.append(Ticket.unit_id == facet.unit)
        if facet.county is not None:  # "" is the tickets of no county (city-wide)
            conditions.append(Ticket.county.is_(None) if facet.county == "" else Ticket.county == facet.county)
        if facet.ids:
            conditions.append(Ticket.id.in_(facet.ids))
        if facet.test is not None:
            conditions.append(self._test(facet.test, terms))
        return conditions

    async def count(self, where: Where, facet: Facet, terms: Terms) -> int:
        stmt = select(func.count()).select_from(Ticket).where(*self._facet(where, facet, terms))
        return int((await self.session.execute(stmt)).scalar_one())

    async def tickets(
        self, where: Where, facet: Facet, terms: Terms, *, limit: int, offset: int = 0, by_opening: bool = False
    ) -> Sequence[Ticket]:
        """The tickets behind a number, the most urgent (earliest term) first, or in the order they were opened."""
        order = (Ticket.id,) if by_opening else (Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
        stmt = select(Ticket).where(*self._facet(where, facet, terms)).order_by(*order).limit(limit).offset(offset)
        return (await self.session.execute(stmt)).scalars().all()

    async def broadcasts(self, start: datetime, end: datetime, county: str | None) -> BroadcastFacts:
        """Broadcasts whose sending started in [start, end): how many, to how many people, how many delivered."""
        conditions = [Broadcast.started_at >= start, Broadcast.started_at < end]
        if county is not None:
            conditions.append(Broadcast.county == county)
        facts = BroadcastFacts()
        stmt = select(Broadcast.topic, func.count(), func.sum(Broadcast.fanned_out)).where(*conditions)
        for topic, n, fanned in (await self.session.execute(stmt.group_by(Broadcast.topic))).all():
            facts.by_topic[str(topic)] = int(n)
            facts.broadcasts += int(n)
            facts.recipients += int(fanned or 0)
        ids = select(Broadcast.id).where(*conditions)
        delivered = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.broadcast_id.in_(ids), OutboxMessage.status == "sent")
        )
        facts.delivered = int((await self.session.execute(delivered)).scalar_one())
        if not facts.recipients:  # fanned_out is counted as it goes; the delivery rows are the record
            counted = select(func.count()).select_from(BroadcastDelivery).where(BroadcastDelivery.broadcast_id.in_(ids))
            facts.recipients = int((await self.session.execute(counted)).scalar_one())
        return facts

    # ---- convenience measures

    async def record_ask(self, entry_code: str, day: str, way: str) -> None:
        stmt = (
            insert_for(self.dialect, MeasureAsk)
            .values(entry_code=entry_code, day=day, way=way, count=1)
            .on_conflict_do_update(index_elements=["entry_code", "day", "way"], set_={"count": MeasureAsk.count + 1})
        )
        await self.session.execute(stmt)

    async def measures(self, first_day: str, last_day: str) -> list[MeasureRow]:
        """Every guide entry with how often it was opened and found by a search between two local days."""
        asks = (
            select(
                MeasureAsk.entry_code.label("code"),
                func.sum(case((MeasureAsk.way == "view", MeasureAsk.count), else_=0)).label("views"),
                func.sum(case((MeasureAsk.way == "search", MeasureAsk.count), else_=0)).label("searches"),
            )
            .where(MeasureAsk.day >= first_day, MeasureAsk.day <= last_day)
            .group_by(MeasureAsk.entry_code)
            .subquery()
        )
        stmt = (
            select(GuideEntry, asks.c.views, asks.c.searches)
            .outerjoin(asks, asks.c.code == GuideEntry.code)
            .order_by(GuideEntry.position)
        )
        return [MeasureRow(e, int(v or 0), int(s or 0)) for e, v, s in (await self.session.execute(stmt)).all()]
