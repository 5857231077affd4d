"""The live side of the web chat: which pages are open on this process and waking them, the sender's transport
(a reply is delivered once stored; a person's message only when a page of theirs is open), and the cursor a page
reads its transcript from."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import Delivery, NotNow, Outcome, Sent
from storage.uow import Database

CHANNEL = "webchat"
MAX_CURSOR = 2**62  # cursors are outbox ids; anything beyond is a forged request, not a reason to fail
MAX_MILLIS = 10**13  # a look time in a cursor later than the year 2286 is forged


class Hub:
    """Wakes the sockets and long polls of a chat when it has new messages."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, recipient: str) -> None:
        for event in self._waiters.get(recipient, ()):
            event.set()

    def notify_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def listening(self, recipient: str) -> bool:
        """A page of this chat is open on this process (a socket or a long poll)."""
        return bool(self._waiters.get(recipient))

    @contextlib.contextmanager
    def listen(self, recipient: str) -> Any:
        event = asyncio.Event()
        self._waiters[recipient].add(event)
        try:
            yield event
        finally:
            self._waiters[recipient].discard(event)
            if not self._waiters[recipient]:
                del self._waiters[recipient]


class WebChatTransport:
    """The sender's side: a reply is delivered once it is stored, waking the page is enough. A message to a person
    (the delivery ladder's) is delivered now only when a page of theirs is open, here or on another process;
    otherwise it stays in their transcript and the ladder tries the next way (a push, an SMS)."""

    channel = CHANNEL
    batch_size = 200

    def __init__(self, hub: Hub, db: Database | None = None, clock: Clock = system_clock) -> None:
        self.hub, self.db, self.clock = hub, db, clock

    async def deliver(self, batch: Sequence[Delivery], started: object = None) -> list[tuple[int, Outcome]]:
        for recipient in {d.recipient for d in batch}:
            self.hub.notify(recipient)
        asked = sorted({d.recipient for d in batch if d.person_id is not None and not self.hub.listening(d.recipient)})
        elsewhere: set[str] = set()
        if asked and self.db is not None:
            async with self.db.reading() as uow:
                elsewhere = await uow.reach.present(asked, self.clock())
        closed = set(asked) - elsewhere
        return [(d.id, NotNow("page_closed") if d.person_id is not None and d.recipient in closed else Sent())
                for d in batch]  # fmt: skip

    def busy_recipients(self) -> Sequence[str]:
        return ()


def chat_id_for(token: str) -> str:
    """The cookie is a bearer secret; the database only ever sees its hash."""
    return "w" + hashlib.sha256(token.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Cursor:
    """Where a page is in its transcript: every message up to `after` it was shown, except those still held (not
    yet due) at `held_since`, the time of its last look. Sent to the page as "<after>.<held_since in ms>"."""

    after: int = 0
    held_since: datetime | None = None

    def encode(self) -> str:
        if self.held_since is None:
            return str(self.after)
        return f"{self.after}.{int(self.held_since.timestamp() * 1000)}"

    @classmethod
    def read(cls, value: object) -> Cursor | None:
        """A cursor from the page (an int from an older page too); None when it is not one at all."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return cls(min(max(value, 0), MAX_CURSOR))
        if not isinstance(value, str) or len(value) > 40:
            return None
        after, dot, millis = value.partition(".")
        if not after.isdigit() or (dot and not millis.isdigit()):
            return None
        held_since = None
        if dot:
            stamp = min(int(millis), MAX_MILLIS) / 1000
            held_since = datetime.fromtimestamp(stamp, UTC)
        return cls(min(int(after), MAX_CURSOR), held_since)
