"""Who saw or did what that must be on record: reveals of personal data, invites, failed joins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, actor_person_id: int | None, action: str, ticket_id: int | None, now: datetime, origin: str | None = None
    ) -> None:
        self.session.add(
            AuditEntry(
                actor_person_id=actor_person_id, action=action, ticket_id=ticket_id, origin=origin, created_at=now
            )
        )
        await self.session.flush()

    async def count_where(self, action: str, since: datetime, *, origin: str | None = None) -> int:
        """How many `action` rows since `since`, from one origin or (None) from anywhere."""
        stmt = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.created_at >= since)
        )
        if origin is not None:
            stmt = stmt.where(AuditEntry.origin == origin)
        return int((await self.session.execute(stmt)).scalar_one())

    async def count(self, actor_person_id: int, action: str, since: datetime) -> int:
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
