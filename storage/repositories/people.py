"""People and their chat identities (a Telegram chat, a web chat session, a WeChat OpenID)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import fixed
from storage.models import ChatIdentity, Officer, OutboxMessage, Person


@dataclass(frozen=True)
class StaffChat:
    external_id: str
    role: str
    locale: str


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def identity(self, channel: str, external_id: str) -> ChatIdentity | None:
        stmt = select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def who(
        self, channel: str, external_id: str, *, unsent_below: int | None = None
    ) -> tuple[ChatIdentity, Person, bool, bool] | None:
        """The chat's identity and its person in one query (every turn starts here); with `unsent_below`, whether
        a message to this chat more urgent than that priority is still waiting or on its way; and whether anything
        waits on the delivery ladder for this person's next message."""
        unsent = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == external_id,
                OutboxMessage.status.in_([fixed("pending"), fixed("sending")]),
                OutboxMessage.priority < unsent_below,
                OutboxMessage.rung == fixed("chat"),
            )
            .exists()
            if unsent_below is not None
            else literal(False)
        )
        waiting = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == fixed("waiting"),
                or_(
                    OutboxMessage.person_id == ChatIdentity.person_id,
                    and_(OutboxMessage.channel == channel, OutboxMessage.recipient == external_id),
                ),
            )
            .exists()
        )
        stmt = (
            select(ChatIdentity, Person, unsent.label("unsent"), waiting.label("waiting"))
            .join(Person, Person.id == ChatIdentity.person_id)
            .where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
        )
        found = (await self.session.execute(stmt)).one_or_none()
        return None if found is None else (found[0], found[1], bool(found[2]), bool(found[3]))

    async def create(self, channel: str, external_id: str, locale: str, now: datetime) -> ChatIdentity:
        person = Person(locale=locale, created_at=now, consent_declined=False)
        self.session.add(person)
        await self.session.flush()
        identity = ChatIdentity(
            person_id=person.id, channel=channel, external_id=external_id, created_at=now, last_seen_at=now
        )
        self.session.add(identity)
        await self.session.flush()
        return identity

    async def get(self, person_id: int) -> Person:
        return await self.session.get_one(Person, person_id)

    async def identities_of(self, person_id: int) -> Sequence[ChatIdentity]:
        stmt = (
            select(ChatIdentity).where(ChatIdentity.person_id == person_id).order_by(ChatIdentity.last_seen_at.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_unreachable(self, channel: str, external_id: str, now: datetime) -> None:
        await self.session.execute(
            update(ChatIdentity)
            .where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
            .values(unreachable_at=now)
        )

    async def staff_chats(self, channel: str, external_id: str | None = None) -> Sequence[StaffChat]:
        """Officers' chats on a channel with their role and language (one chat when `external_id` is given)."""
        stmt = (
            select(ChatIdentity.external_id, Officer.role, Person.locale)
            .join(Officer, Officer.person_id == ChatIdentity.person_id)
            .join(Person, Person.id == ChatIdentity.person_id)
            .where(ChatIdentity.channel == channel, Officer.active.is_(True))
            .order_by(ChatIdentity.id)
        )
        if external_id is not None:
            stmt = stmt.where(ChatIdentity.external_id == external_id)
        rows = (await self.session.execute(stmt)).all()
        return [StaffChat(external_id=r[0], role=r[1], locale=r[2]) for r in rows]
