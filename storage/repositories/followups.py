"""Follow-ups: timed actions on tickets, claimed due under row locks so each fires once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import FollowUp


class FollowUpRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def add(self, follow_up: FollowUp) -> FollowUp:
        """Inserted with the next flush: a new ticket's five rungs go in as one statement."""
        self.session.add(follow_up)
        return follow_up

    async def add_once(self, follow_up: FollowUp) -> bool:
        """Insert a keyed follow-up unless one with its key exists (another process may be adding it right now)."""
        values = {c.key: getattr(follow_up, c.key) for c in FollowUp.__table__.columns if c.key != "id"}
        values["status"] = values["status"] or "pending"
        values["attempts"] = values["attempts"] or 0
        values["params"] = values["params"] or {}
        stmt = (
            insert_for(self.dialect, FollowUp)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(FollowUp.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def claim_due(self, now: datetime, limit: int, *, exclude: Sequence[int] = ()) -> Sequence[FollowUp]:
        """Due pending rows, oldest first; on PostgreSQL locked till commit and skipped by every other claimer."""
        stmt = select(FollowUp).where(FollowUp.status == "pending", FollowUp.due_at <= now)
        if exclude:
            stmt = stmt.where(FollowUp.id.not_in(list(exclude)))
        stmt = stmt.order_by(FollowUp.due_at, FollowUp.id).limit(limit)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalars().all()

    async def of_ticket(self, ticket_id: int, status: str | None = None) -> Sequence[FollowUp]:
        stmt = select(FollowUp).where(FollowUp.ticket_id == ticket_id)
        if status is not None:
            stmt = stmt.where(FollowUp.status == status)
        return (await self.session.execute(stmt.order_by(FollowUp.due_at, FollowUp.id))).scalars().all()

    async def cancel_for_ticket(self, ticket_id: int, kinds: Sequence[str] = ()) -> None:
        stmt = update(FollowUp).where(FollowUp.ticket_id == ticket_id, FollowUp.status == "pending")
        if kinds:
            stmt = stmt.where(FollowUp.kind.in_(list(kinds)))
        await self.session.execute(stmt.values(status="cancelled"))
