"""Queries of the officer desk: duty lists, unit overviews, officers, failed joins and open relays."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Officer, Ticket, TicketEvent, Unit

DUTY_LIMIT = 30


class DutyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def assigned(self, officer_id: int, statuses: Collection[str], limit: int = DUTY_LIMIT) -> Sequence[Ticket]:
        """An officer's tickets in `statuses`, the nearest deadline first (tickets without one last)."""
        stmt = (
            select(Ticket)
            .where(Ticket.officer_id == officer_id, Ticket.status.in_(list(statuses)))
            .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def unclaimed(self, unit_id: int, statuses: Collection[str], limit: int = DUTY_LIMIT) -> Sequence[Ticket]:
        stmt = (
            select(Ticket)
            .where(Ticket.unit_id == unit_id, Ticket.officer_id.is_(None), Ticket.status.in_(list(statuses)))
            .order_by(Ticket.urgent.desc(), Ticket.claim_due_at.is_(None), Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def of_unit(self, unit_id: int, statuses: Collection[str], limit: int = DUTY_LIMIT) -> Sequence[Ticket]:
        stmt = (
            select(Ticket)
            .where(Ticket.unit_id == unit_id, Ticket.status.in_(list(statuses)))
            .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def status_counts(self, unit_id: int | None = None) -> Sequence[tuple[int | None, str, int]]:
        """(unit id, status, count) for one unit, or for every unit when `unit_id` is None."""
        stmt = select(Ticket.unit_id, Ticket.status, func.count()).group_by(Ticket.unit_id, Ticket.status)
        if unit_id is not None:
            stmt = stmt.where(Ticket.unit_id == unit_id)
        return [(u, s, int(n)) for u, s, n in (await self.session.execute(stmt)).all()]

    async def overdue_counts(self, now: datetime, statuses: Collection[str]) -> dict[int | None, int]:
        stmt = (
            select(Ticket.unit_id, func.count())
            .where(Ticket.status.in_(list(statuses)), Ticket.due_at.is_not(None), Ticket.due_at < now)
            .group_by(Ticket.unit_id)
        )
        return {u: int(n) for u, n in (await self.session.execute(stmt)).all()}

    async def units_by_id(self, ids: Collection[int]) -> dict[int, Unit]:
        if not ids:
            return {}
        rows = (await self.session.execute(select(Unit).where(Unit.id.in_(list(ids))))).scalars().all()
        return {u.id: u for u in rows}

    async def units_in(self, county: str | None) -> Sequence[Unit]:
        stmt = select(Unit).where(Unit.active.is_(True))
        stmt = stmt.where(Unit.county.is_(None) if county is None else Unit.county == county)
        return (await self.session.execute(stmt.order_by(Unit.id))).scalars().all()

    async def officer_of_person(self, person_id: int) -> Officer | None:
        """Active or not: a person has at most one officer row."""
        stmt = select(Officer).where(Officer.person_id == person_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def audit_count(self, actor_person_id: int, action: str, since: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.actor_person_id == actor_person_id,
                AuditEntry.action == action,
                AuditEntry.created_at >= since,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def open_of_citizen(self, person_id: int, statuses: Collection[str]) -> Sequence[Ticket]:
        stmt = select(Ticket).where(Ticket.citizen_id == person_id, Ticket.status.in_(list(statuses)))
        return (await self.session.execute(stmt.order_by(Ticket.id))).scalars().all()

    async def last_event(self, ticket_id: int, actions: Collection[str]) -> TicketEvent | None:
        stmt = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action.in_(list(actions)))
            .order_by(TicketEvent.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
