"""Repositories of outreach: the service guide and its search index, subscriptions, broadcasts and their fan-out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Broadcast,
    BroadcastDelivery,
    ChatIdentity,
    GuideEntry,
    GuideTerm,
    GuideWord,
    Officer,
    OutboxMessage,
    Person,
    SubscriberPrefs,
    Subscription,
)

BROADCAST_KIND = "broadcast"
PROGRESS_KIND = "progress"
UNCERTAIN = "uncertain: in flight when its sender stopped; not sent again (at most once)"


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class GuideRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def replace_all(
        self,
        entries: Sequence[GuideEntry],
        terms: Mapping[str, Mapping[str, int]],
        words: Sequence[GuideWord],
    ) -> None:
        """The whole guide at once: entries, their index terms (by entry code) and the search vocabulary."""
        await self.session.execute(delete(GuideTerm))
        await self.session.execute(delete(GuideEntry))
        await self.session.execute(delete(GuideWord))
        self.session.add_all(list(entries))
        self.session.add_all(list(words))
        await self.session.flush()
        rows = [
            {"entry_id": entry.id, "term": term, "weight": weight}
            for entry in entries
            for term, weight in terms.get(entry.code, {}).items()
        ]
        for start in range(0, len(rows), 2000):
            await self.session.execute(insert(GuideTerm), rows[start : start + 2000])

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(GuideEntry))).scalar_one())

    async def words(self) -> Sequence[GuideWord]:
        return (await self.session.execute(select(GuideWord).order_by(GuideWord.id))).scalars().all()

    async def postings(self, terms: Iterable[str]) -> Sequence[tuple[int, str, int]]:
        wanted = sorted(set(terms))
        if not wanted:
            return []
        stmt = select(GuideTerm.entry_id, GuideTerm.term, GuideTerm.weight).where(GuideTerm.term.in_(wanted))
        return [(int(e), str(t), int(w)) for e, t, w in (await self.session.execute(stmt)).all()]

    async def entries(self, ids: Iterable[int]) -> dict[int, GuideEntry]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = (await self.session.execute(select(GuideEntry).where(GuideEntry.id.in_(wanted)))).scalars().all()
        return {row.id: row for row in rows}

    async def in_category(self, category: str) -> Sequence[GuideEntry]:
        stmt = select(GuideEntry).where(GuideEntry.category == category).order_by(GuideEntry.position)
        return (await self.session.execute(stmt)).scalars().all()

    async def by_code(self, code: str) -> GuideEntry | None:
        return (await self.session.execute(select(GuideEntry).where(GuideEntry.code == code))).scalar_one_or_none()


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
            _insert(self.dialect, Subscription)
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
            _insert(self.dialect, SubscriberPrefs)
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


class BroadcastRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def add(self, broadcast: Broadcast) -> Broadcast:
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def get_for_update(self, broadcast_id: int) -> Broadcast | None:
        """Locked until commit (PostgreSQL): approving, cancelling and a fan-out batch never interleave."""
        stmt = select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def with_status(self, statuses: Sequence[str], *, due_by: datetime | None = None) -> Sequence[Broadcast]:
        stmt = select(Broadcast).where(Broadcast.status.in_(list(statuses)))
        if due_by is not None:
            stmt = stmt.where(Broadcast.send_at <= due_by)
        return (await self.session.execute(stmt.order_by(Broadcast.id))).scalars().all()

    async def admins(self) -> list[int]:
        """The people who are active admins (role "admin" in officers): broadcasts need one to approve."""
        stmt = select(Officer.person_id).where(Officer.role == "admin", Officer.active.is_(True)).order_by(Officer.id)
        return [int(p) for p in (await self.session.execute(stmt)).scalars().all()]

    async def recent(self, limit: int = 10) -> Sequence[Broadcast]:
        stmt = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def claim_recipients(self, broadcast_id: int, days: Mapping[int, str], now: datetime) -> set[int]:
        """Records the recipients; returns only those not recorded before (a resumed batch skips the rest)."""
        if not days:
            return set()
        rows = [{"broadcast_id": broadcast_id, "person_id": p, "day": d, "created_at": now} for p, d in days.items()]
        stmt = (
            _insert(self.dialect, BroadcastDelivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["broadcast_id", "person_id"])
            .returning(BroadcastDelivery.person_id)
        )
        return {int(p) for p in (await self.session.execute(stmt)).scalars().all()}

    async def day_counts(self, person_ids: Sequence[int], from_day: str) -> dict[tuple[int, str], int]:
        """How many broadcasts each person has on each day from `from_day`: the daily cap reads this."""
        if not person_ids:
            return {}
        stmt = (
            select(BroadcastDelivery.person_id, BroadcastDelivery.day, func.count())
            .where(BroadcastDelivery.person_id.in_(list(person_ids)), BroadcastDelivery.day >= from_day)
            .group_by(BroadcastDelivery.person_id, BroadcastDelivery.day)
        )
        return {(int(p), str(d)): int(n) for p, d, n in (await self.session.execute(stmt)).all()}

    async def enqueue_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(OutboxMessage), list(rows))

    async def outbox_counts(self, broadcast_id: int, now: datetime) -> dict[str, int]:
        """Counts of the broadcast's outbox rows by status; pending rows not yet due count as 'later'."""
        later = and_(OutboxMessage.status == "pending", OutboxMessage.not_before > now)
        stmt = (
            select(OutboxMessage.status, later, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.kind == BROADCAST_KIND)
            .group_by(OutboxMessage.status, later)
        )
        counts: dict[str, int] = {}
        for status, is_later, n in (await self.session.execute(stmt)).all():
            key = "later" if is_later else str(status)
            counts[key] = counts.get(key, 0) + int(n)
        return counts

    async def unsettled(self, broadcast_id: int) -> bool:
        """Whether any of the broadcast's messages is still queued or on its way (cheap: stops at the first)."""
        stmt = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.kind == BROADCAST_KIND,
                OutboxMessage.status.in_(["pending", "sending"]),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def withdraw_pending(self, broadcast_id: int) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.kind == BROADCAST_KIND,
                OutboxMessage.status == "pending",
            )
            .values(status="cancelled")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def defer_pending(self, before: datetime, until: datetime) -> int:
        """Quiet hours: every broadcast row due before `before` waits until `until`."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == BROADCAST_KIND,
                OutboxMessage.status == "pending",
                OutboxMessage.not_before < before,
            )
            .values(not_before=until)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def give_up_uncertain(self, channel: str, now: datetime) -> int:
        """Broadcast rows whose sender died while their request was on its way (started, lease expired): the
        platform may or may not have them, and it has no idempotency key to ask. A broadcast is sent at most once,
        so they are given up, not sent again. Rows claimed but never started are simply claimed again."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.kind == BROADCAST_KIND,
                OutboxMessage.status == "sending",
                OutboxMessage.lease_until < now,
                OutboxMessage.started_at.is_not(None),
            )
            .values(status="failed", lease_until=None, last_error=UNCERTAIN)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def unsent_edit(self, broadcast_id: int, edit_of: int) -> OutboxMessage | None:
        """A progress edit still waiting to go out, which the next update may overwrite instead of queueing more."""
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.kind == PROGRESS_KIND,
                OutboxMessage.status == "pending",
                OutboxMessage.id != edit_of,
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def sent_rate(self, broadcast_id: int, since: datetime) -> int:
        stmt = select(func.count()).where(
            OutboxMessage.broadcast_id == broadcast_id,
            OutboxMessage.kind == BROADCAST_KIND,
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at >= since,
        )
        return int((await self.session.execute(stmt)).scalar_one())
