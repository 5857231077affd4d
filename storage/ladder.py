"""Queries of the follow-up ladder: lock a ticket if no one holds it, what the citizen saw, digests, rates."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Officer, Ticket, TicketEvent

RateRow = tuple[str, datetime | None, datetime | None, datetime | None, int | None, str | None]


class LadderRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def lock_if_free(self, ticket_id: int) -> Ticket | None:
        """The ticket, locked till commit; None when another transaction holds it (PostgreSQL), so a tick never
        waits on a ticket while it holds follow-up rows — the order an officer's transaction takes is the reverse."""
        stmt = select(Ticket).where(Ticket.id == ticket_id)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_visible_at(self, ticket_id: int) -> datetime | None:
        stmt = select(func.max(TicketEvent.created_at)).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.citizen_visible.is_(True)
        )
        value: datetime | None = (await self.session.execute(stmt)).scalar_one_or_none()
        if value is not None and value.tzinfo is None:  # SQLite drops the zone of an aggregate
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value

    async def contacted(self, ticket: Ticket, since: datetime, statuses: Collection[str]) -> bool:
        """Has anyone but the citizen said something the citizen sees: a visible note or message, or a move to
        one of `statuses` (mediation scheduled, resolved, …)?"""
        stmt = (
            select(TicketEvent.id)
            .where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.citizen_visible.is_(True),
                TicketEvent.created_at >= since,
                TicketEvent.actor_person_id.is_not(None),
                TicketEvent.actor_person_id != ticket.citizen_id,
                or_(TicketEvent.from_status == TicketEvent.to_status, TicketEvent.to_status.in_(list(statuses))),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def active_officers(self) -> Sequence[Officer]:
        stmt = select(Officer).where(Officer.active.is_(True)).order_by(Officer.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def duty_of(self, officer: Officer, working: Collection[str], unclaimed: Collection[str]) -> Sequence[Ticket]:
        """The officer's tickets at work and the unit's unclaimed ones."""
        stmt = select(Ticket).where(
            or_(
                and_(Ticket.officer_id == officer.id, Ticket.status.in_(list(working))),
                and_(
                    Ticket.unit_id == officer.unit_id,
                    Ticket.officer_id.is_(None),
                    Ticket.status.in_(list(unclaimed)),
                ),
            )
        )
        return (await self.session.execute(stmt.order_by(Ticket.id))).scalars().all()

    async def for_rates(self, start: datetime, end: datetime) -> list[RateRow]:
        """(status, claim due, claimed, resolved, treatment rating, solved answer) of tickets opened in [start, end)."""
        stmt = select(
            Ticket.status,
            Ticket.claim_due_at,
            Ticket.claimed_at,
            Ticket.resolved_at,
            Ticket.rating_treatment,
            Ticket.rating_solved,
        ).where(Ticket.created_at >= start, Ticket.created_at < end)
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in (await self.session.execute(stmt)).all()]
