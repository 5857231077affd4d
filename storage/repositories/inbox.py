"""Every platform update key seen, so that a repeat changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import InboxEntry


class InboxRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def record(self, channel: str, update_key: str, now: datetime) -> bool:
        """True when the key is new; False for a repeat (which must then change nothing)."""
        stmt = (
            insert_for(self.dialect, InboxEntry)
            .values(channel=channel, update_key=update_key, received_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
            .returning(InboxEntry.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None
