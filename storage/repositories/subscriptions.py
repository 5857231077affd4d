"""Citizens' subscriptions to legal-awareness topics, their county, and where to reach them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import ChatIdentity, Person, SubscriberPrefs, Subscription


def _reachable(person_id: Any) -> Any:
    return exists().where(ChatIdentity.person_id == person_id, ChatIdentity.unreachable_at.is_(None))


@dataclass(frozen=True)
class Address:
    """Where a person is reached: their most recently used reachable chat, and their language."""

    person_id: int
    channel: str
    recipient: str
    locale: str


class SubscriptionRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def topics_of(self, person_id: int) -> set[str]:
        stmt = select(Subscription.topic).where(Subscription.person_id == person_id)
        return set((await self.session.execute(stmt)).scalars().all())

    async def add(self, person_id: int, topic: str, now: datetime) -> None:
        await self.session.execute(
            insert_for(self.dialect, Subscription)
            .values(person_id=person_id, topic=topic, created_at=now)
            .on_conflict_do_nothing(index_elements=["person_id", "topic"])
        )

    async def remove(self, person_id: int, topic: str | None = None) -> int:
        """Removes one topic, or every topic when none is named; returns how many there were."""
        stmt = delete(Subscription).where(Subscription.person_id == person_id)
        if topic is not None:
            stmt = stmt.where(Subscription.topic == topic)
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def county_of(self, person_id: int) -> str | None:
        prefs = await self.session.get(SubscriberPrefs, person_id)
        return prefs.county if prefs else None

    async def set_county(self, person_id: int, county: str | None, now: datetime) -> None:
        await self.session.execute(
            insert_for(self.dialect, SubscriberPrefs)
            .values(person_id=person_id, county=county, updated_at=now)
            .on_conflict_do_update(index_elements=["person_id"], set_={"county": county, "updated_at": now})
        )

    def _audience(self, topic: str, county: str | None) -> Any:
        stmt = select(Subscription.person_id).where(Subscription.topic == topic, _reachable(Subscription.person_id))
        if county is not None:
            stmt = stmt.join(SubscriberPrefs, SubscriberPrefs.person_id == Subscription.person_id).where(
                SubscriberPrefs.county == county
            )
        return stmt

    async def count_audience(self, topic: str, county: str | None) -> int:
        inner = self._audience(topic, county).subquery()
        return int((await self.session.execute(select(func.count()).select_from(inner))).scalar_one())

    async def audience_after(self, topic: str, county: str | None, after: int, limit: int) -> list[int]:
        """The next subscribers in person-id order: the fan-out walks them with a cursor, so it can resume."""
        stmt = (
            self._audience(topic, county)
            .where(Subscription.person_id > after)
            .order_by(Subscription.person_id)
            .limit(limit)
        )
        return [int(p) for p in (await self.session.execute(stmt)).scalars().all()]

    async def addresses(self, person_ids: Sequence[int]) -> dict[int, Address]:
        if not person_ids:
            return {}
        stmt = (
            select(ChatIdentity.person_id, ChatIdentity.channel, ChatIdentity.external_id, Person.locale)
            .join(Person, Person.id == ChatIdentity.person_id)
            .where(ChatIdentity.person_id.in_(list(person_ids)), ChatIdentity.unreachable_at.is_(None))
            .order_by(ChatIdentity.person_id, ChatIdentity.last_seen_at.desc(), ChatIdentity.id.desc())
        )
        found: dict[int, Address] = {}
        for person_id, channel, external_id, locale in (await self.session.execute(stmt)).all():
            found.setdefault(int(person_id), Address(int(person_id), channel, external_id, locale))
        return found

    async def person_of_chat(self, channel: str, external_id: str) -> int | None:
        stmt = select(ChatIdentity.person_id).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == external_id
        )
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(found) if found is not None else None

    async def reachable(self, person_id: int) -> bool:
        return bool((await self.session.execute(select(_reachable(person_id)))).scalar())
