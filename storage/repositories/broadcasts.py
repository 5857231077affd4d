"""Broadcasts (普法宣传) and their fan-out: recipients recorded once, rows held, progress, the uncertain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import Broadcast, BroadcastDelivery, Officer, OutboxMessage

BROADCAST_KIND = "broadcast"
PROGRESS_KIND = "progress"
UNCERTAIN = "uncertain: in flight when its sender stopped; not sent again (at most once)"


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
            insert_for(self.dialect, BroadcastDelivery)
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
