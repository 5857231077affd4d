"""The way out: claim due outbox rows for a channel and settle what happened when they were sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.conversation.outbox import PRIORITY_REPLY
from handlers.conversation.turn import Clock
from handlers.outreach.rules import forget_unreachable
from storage.models import OutboxMessage
from storage.repositories.broadcasts import BROADCAST_KIND
from storage.uow import Database, UnitOfWork

MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    kind: str
    essential: bool
    attempts: int
    parts_sent: int = 0  # of a message the channel splits: how many went out in an earlier attempt

    @property
    def at_most_once(self) -> bool:
        """A broadcast is never sent twice: its request is recorded as started before it goes (`mark_started`)."""
        return self.kind == BROADCAST_KIND


@dataclass(frozen=True)
class Sent:
    platform_id: str | None = None


@dataclass(frozen=True)
class RetryAfter:
    """The platform asked us to wait (Telegram 429): never try before `seconds` have passed."""

    seconds: float
    parts_sent: int = 0


@dataclass(frozen=True)
class Unreachable:
    """Blocked, deactivated or gone: stop trying, and stop the non-essential messages queued for them."""

    reason: str


@dataclass(frozen=True)
class Failed:
    reason: str
    retry: bool = True
    parts_sent: int = 0


Outcome = Sent | RetryAfter | Unreachable | Failed


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


async def claim(
    db: Database, channel: str, now: datetime, limit: int, *, exclude: Sequence[str] = ()
) -> list[Delivery]:
    async with db() as uow:
        await uow.broadcasts.give_up_uncertain(channel, now)  # before claim_due could take them again
        rows = await uow.outbox.claim_due(channel, now, limit, LEASE, exclude=exclude)
        batch = [delivery(uow, r) for r in rows]
        await uow.commit()
        return batch


def take_replies(rows: Sequence[OutboxMessage], channel: str, recipient: str, now: datetime) -> list[OutboxMessage]:
    """Before a turn's rows are written: the answers to the chat that just wrote, leased for sending at once by the
    channel that received the message, so a reply does not wait for the sender to claim it. Exactly the lease a
    claim gives (a crash before settling sends them again once it ends). The caller has made sure no earlier reply to
    this chat is still waiting or on its way, so nothing is overtaken (less urgent rows never held a reply back)."""
    taken: list[OutboxMessage] = []
    for row in rows:
        if row.channel != channel or row.recipient != recipient:
            continue
        if row.not_before > now or row.priority > PRIORITY_REPLY:
            break  # held (quiet hours) or not a reply: it and everything after it go the usual way, in order
        row.status, row.lease_until, row.attempts = "sending", now + LEASE, 1
        taken.append(row)
    return taken


def delivery(uow: UnitOfWork, row: OutboxMessage) -> Delivery:
    return Delivery(
        row.id,
        row.channel,
        row.recipient,
        uow.outbox.open(row.payload),
        row.kind,
        row.essential,
        row.attempts,
        row.parts_sent or 0,
    )


async def mark_started(
    db: Database, message_ids: Sequence[int], clock: Clock, settled: Sequence[tuple[int, Outcome]] = ()
) -> None:
    """Durably before the requests go: a crash from here on leaves these rows uncertain, and only these. The
    outcomes of the slice sent before are settled in the same transaction, so they are not counted uncertain."""
    if not message_ids and not settled:
        return
    async with db() as uow:
        now = clock()
        await _settle(uow, settled, now)
        if message_ids:
            await uow.outbox.mark_started(message_ids, now)
        await uow.commit()


async def settle(db: Database, results: Sequence[tuple[int, Outcome]], clock: Clock) -> None:
    if not results:
        return
    async with db() as uow:
        await _settle(uow, results, clock())
        await uow.commit()


async def _settle(uow: UnitOfWork, results: Sequence[tuple[int, Outcome]], now: datetime) -> None:
    """Record what happened to rows in flight; a row settled already (its status moved on) is left alone."""
    if not results:
        return
    rows = await uow.outbox.get_many([message_id for message_id, _ in results])
    for message_id, outcome in results:
        row = rows.get(message_id)
        if row is None or row.status != "sending":
            continue
        row.lease_until, row.started_at = None, None
        if isinstance(outcome, Sent):
            row.status, row.sent_at, row.platform_message_id = "sent", now, outcome.platform_id
        elif isinstance(outcome, RetryAfter):
            row.status, row.not_before = "pending", now + timedelta(seconds=outcome.seconds)
            row.parts_sent = max(row.parts_sent or 0, outcome.parts_sent)
            row.attempts = max(row.attempts - 1, 0)  # being told to wait is not a failed attempt
        elif isinstance(outcome, Unreachable):
            row.status, row.last_error = "unreachable", outcome.reason[:200]
            await uow.people.mark_unreachable(row.channel, row.recipient, now)
            await uow.outbox.drop_nonessential(row.channel, row.recipient)
            await forget_unreachable(uow, row.channel, row.recipient)  # blocked: no more broadcasts
        elif outcome.retry and row.attempts < MAX_ATTEMPTS:
            row.parts_sent = max(row.parts_sent or 0, outcome.parts_sent)
            row.status, row.not_before, row.last_error = "pending", now + backoff(row.attempts), outcome.reason[:200]
        else:
            row.status, row.last_error = "failed", outcome.reason[:200]
