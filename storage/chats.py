"""Which chats on a channel belong to staff (officers, leaders, admins), for channels that show them extra commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatIdentity, Officer, Person


@dataclass(frozen=True)
class StaffChat:
    external_id: str
    role: str
    locale: str


async def staff_chats(session: AsyncSession, channel: str, external_id: str | None = None) -> Sequence[StaffChat]:
    stmt = (
        select(ChatIdentity.external_id, Officer.role, Person.locale)
        .join(Officer, Officer.person_id == ChatIdentity.person_id)
        .join(Person, Person.id == ChatIdentity.person_id)
        .where(ChatIdentity.channel == channel, Officer.active.is_(True))
        .order_by(ChatIdentity.id)
    )
    if external_id is not None:
        stmt = stmt.where(ChatIdentity.external_id == external_id)
    rows = (await session.execute(stmt)).all()
    return [StaffChat(external_id=r[0], role=r[1], locale=r[2]) for r in rows]
