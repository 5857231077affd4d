"""The one way to queue a message: every outgoing row is composed here — a reply to the chat that wrote, a message
to a person on their most recently used reachable chat, a broadcast row — and sealed when it carries personal data.
Nothing is written until `flush`, so a use case that fails part-way leaves no message behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from handlers.conversation.messages import Reply
from storage.models import OutboxMessage
from storage.uow import UnitOfWork

# Lower numbers leave first: replies and alerts overtake follow-ups, which overtake broadcasts.
PRIORITY_REPLY: Final = 0
PRIORITY_ALERT: Final = 5
PRIORITY_FOLLOW_UP: Final = 10
PRIORITY_BROADCAST: Final = 50

Render = Callable[[str], Reply]  # the message in a locale


class Outbox:
    """Messages queued by one use case inside its transaction, written together by `flush`."""

    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self.uow, self.now = uow, now
        self.pending: list[OutboxMessage] = []

    def values(
        self,
        channel: str,
        recipient: str,
        reply: Reply,
        *,
        kind: str,
        priority: int,
        essential: bool,
        not_before: datetime | None = None,
        broadcast_id: int | None = None,
        follow_up: int | None = None,
        person_id: int | None = None,
        urgent: bool = False,
    ) -> dict[str, Any]:
        """The columns of one outbox row (bulk inserts use these as they are). A row with `person_id` is a message
        to that person, which the delivery ladder may carry on by other ways (handlers/delivery.py)."""
        payload = reply.to_payload()
        if follow_up is not None:
            payload["follow_up"] = follow_up
        return {
            "channel": channel,
            "recipient": recipient,
            "payload": self.uow.outbox.seal(payload) if reply.sensitive else payload,
            "priority": priority,
            "essential": essential,
            "kind": kind,
            "status": "pending",
            "attempts": 0,
            "not_before": max(not_before or self.now, self.now),
            "created_at": self.now,
            "broadcast_id": broadcast_id,
            "person_id": person_id,
            "notice": reply.notice,
            "urgent": urgent,
            "rung": "chat",
        }

    def to_chat(self, channel: str, recipient: str, reply: Reply, **how: Any) -> OutboxMessage:
        row = OutboxMessage(**self.values(channel, recipient, reply, **how))
        self.pending.append(row)
        return row

    async def to_person(
        self,
        person_id: int,
        render: Render,
        *,
        kind: str = "alert",
        priority: int = PRIORITY_ALERT,
        essential: bool = True,
        not_before: datetime | None = None,
        follow_up: int | None = None,
        urgent: bool = False,
    ) -> bool:
        """Queue for the person's most recently used reachable chat, in their language; False when none is left.
        Where that chat cannot deliver it now, the delivery ladder takes it on (handlers/delivery.py)."""
        person = await self.uow.people.get(person_id)
        for identity in await self.uow.people.identities_of(person_id):
            if identity.unreachable_at is None:
                self.to_chat(
                    identity.channel,
                    identity.external_id,
                    render(person.locale),
                    kind=kind,
                    priority=priority,
                    essential=essential,
                    not_before=not_before,
                    follow_up=follow_up,
                    person_id=person_id,
                    urgent=urgent,
                )
                return True
        return False

    def forget_since(self, mark: int) -> None:
        """Drop what was queued after `len(self.pending)` was `mark` (a part of the use case that failed)."""
        del self.pending[mark:]

    async def flush(self, before_write: Callable[[list[OutboxMessage]], object] | None = None) -> list[OutboxMessage]:
        """Write every queued message, in one flush; `before_write` may still change the rows."""
        rows, self.pending = self.pending, []
        if before_write is not None:
            before_write(rows)
        if rows:
            await self.uow.outbox.add_all(rows)
        return rows
