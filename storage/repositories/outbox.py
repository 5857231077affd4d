"""The way out: outbox rows claimed for sending under a lease, read as a chat's transcript, settled."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.crypto import FieldCipher
from storage.db import fixed
from storage.models import OutboxMessage

UNCERTAIN = "uncertain: in flight when its sender stopped; not sent again (at most once)"


def open_payload(cipher: FieldCipher, payload: dict[str, Any]) -> dict[str, Any]:
    """A row's payload as written, whether it was sealed at rest or not."""
    sealed = payload.get("sealed")
    if not isinstance(sealed, str):
        return payload
    opened: dict[str, Any] = json.loads(cipher.decrypt(sealed))
    return opened


class OutboxRepository:
    def __init__(self, session: AsyncSession, dialect: str, cipher: FieldCipher) -> None:
        self.session, self.dialect, self.cipher = session, dialect, cipher

    def seal(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A message that carries personal data in full (a revealed phone, an invite code) is stored encrypted."""
        return {"sealed": self.cipher.encrypt(json.dumps(payload, ensure_ascii=False))}

    def open(self, payload: dict[str, Any]) -> dict[str, Any]:
        return open_payload(self.cipher, payload)

    async def add_all(self, messages: Sequence[OutboxMessage]) -> None:
        """A turn's messages in one flush (one statement on PostgreSQL)."""
        self.session.add_all(messages)
        await self.session.flush()

    async def enqueue(self, message: OutboxMessage) -> OutboxMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def claim_due(
        self,
        channel: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        *,
        exclude: Sequence[str] = (),
        rung: str = "chat",
    ) -> Sequence[OutboxMessage]:
        """Take up to `limit` due rows for sending, most urgent first; a lease keeps other senders off them. On the
        "chat" rung the rows of one channel; on a later rung of the delivery ladder (a web push, an SMS) the rows on
        that rung, whatever chat they were for."""
        due = and_(
            OutboxMessage.rung == fixed(rung),
            OutboxMessage.not_before <= now,
            or_(
                OutboxMessage.status == fixed("pending"),
                and_(OutboxMessage.status == fixed("sending"), OutboxMessage.lease_until < now),
            ),
        )
        if rung == "chat":
            due = and_(due, OutboxMessage.channel == channel)
        if exclude:
            due = and_(due, OutboxMessage.recipient.not_in(exclude))
        if rung != "chat":  # a push or an SMS stands alone
            rows = await self._lock(select(OutboxMessage).where(due), limit)
        else:
            rows = await self._chat_rows(due, channel, limit)
        for row in rows:
            row.status = "sending"
            row.lease_until = now + lease
            row.started_at = None
            row.attempts += 1
        await self.session.flush()
        return rows

    async def _lock(self, stmt: Any, limit: int) -> list[OutboxMessage]:
        stmt = stmt.order_by(OutboxMessage.priority, OutboxMessage.id).limit(limit)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self.session.execute(stmt)).scalars().all())

    async def _chat_rows(self, due: Any, channel: str, limit: int) -> list[OutboxMessage]:
        """A chat reads its messages in order: no row overtakes an earlier unsent one of the same or higher urgency.
        First each chat's head (no such earlier row at all), locked so that another process skips it; then the rows
        behind the heads this claim holds, each only if every earlier unsent row it must not overtake is in this
        claim too. (A row behind a head another process holds is never taken: that head is locked, not yet visibly
        'sending', and the other process may be sending it this very moment.)"""
        earlier = aliased(OutboxMessage)
        unsent_before = (
            select(earlier.id)
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.recipient == OutboxMessage.recipient,
                earlier.id < OutboxMessage.id,
                earlier.priority <= OutboxMessage.priority,
                earlier.rung == fixed("chat"),
                earlier.status.in_([fixed("pending"), fixed("sending")]),
            )
            .exists()
        )
        heads = await self._lock(select(OutboxMessage).where(due, ~unsent_before), limit)
        if not heads or len(heads) >= limit:
            return heads
        held = {h.id for h in heads}
        behind = and_(
            OutboxMessage.rung == fixed("chat"),
            OutboxMessage.channel == channel,
            OutboxMessage.recipient.in_({h.recipient for h in heads}),
            OutboxMessage.id.not_in(held),
            OutboxMessage.status.in_([fixed("pending"), fixed("sending")]),
        )
        mine = await self._lock(select(OutboxMessage).where(due, behind), limit - len(heads))
        if not mine:
            return heads
        # Each chat's unsent rows this claim does not hold (yet): held elsewhere, deferred, in flight, or among `mine`.
        unheld: dict[str, list[tuple[int, int]]] = defaultdict(list)
        rows = select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.priority)
        for i, recipient, priority in (await self.session.execute(
                rows.where(behind, OutboxMessage.id < max(r.id for r in mine)))).all():  # fmt: skip
            unheld[recipient].append((i, priority))
        taken = list(heads)
        for row in mine:  # most urgent first, then oldest: whatever a row must not overtake comes before it
            if all(i in held for i, p in unheld[row.recipient] if i < row.id and p <= row.priority):
                taken.append(row)
                held.add(row.id)
        return sorted(taken, key=lambda r: (r.priority, r.id))

    async def mark_started(self, message_ids: Sequence[int], now: datetime) -> None:
        """These leased rows' requests are about to go out (see OutboxMessage.started_at)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == "sending")
            .values(started_at=now)
        )

    async def transcript(self, channel: str, recipient: str, after_id: int, limit: int) -> Sequence[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == recipient,
                OutboxMessage.id > after_id,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def last_id(self, channel: str, recipient: str) -> int:
        stmt = select(func.max(OutboxMessage.id)).where(
            OutboxMessage.channel == channel, OutboxMessage.recipient == recipient
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() or 0

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def get_many(self, message_ids: Sequence[int]) -> dict[int, OutboxMessage]:
        """Many rows in one query each 500: settling a broadcast's hundreds row by row costs seconds on SQLite."""
        found: dict[int, OutboxMessage] = {}
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start : start + 500])
            rows = (await self.session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(chunk)))).scalars()
            found.update((row.id, row) for row in rows)
        return found

    async def give_up_uncertain(self, rung: str, now: datetime) -> int:
        """A push or an SMS whose sender died while its request was on its way: it may have arrived, so it is not
        sent again, nor anything else in its place (see BroadcastRepository.give_up_uncertain)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.rung == rung,
                OutboxMessage.status == "sending",
                OutboxMessage.lease_until < now,
                OutboxMessage.started_at.is_not(None),
            )
            .values(status="failed", lease_until=None, last_error=UNCERTAIN)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def drop_nonessential(self, channel: str, recipient: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == recipient,
                OutboxMessage.status.in_(["pending", "waiting"]),
                OutboxMessage.essential.is_(False),
            )
            .values(status="dropped")
        )
        return int(getattr(result, "rowcount", 0) or 0)
