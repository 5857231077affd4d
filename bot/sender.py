"""The outbox sender: one loop per channel claims due rows, hands them to the channel, settles the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import CHAT, Delivery, Failed, Ladder, Outcome, claim, mark_started, settle
from storage.uow import Database

log = logging.getLogger(__name__)


# started(ids about to go, outcomes so far): records the first and settles the second in one transaction
Started = Callable[[Sequence[int], Sequence[tuple[int, Outcome]]], Awaitable[None]]


class Transport(Protocol):
    channel: str
    batch_size: int

    async def deliver(self, batch: Sequence[Delivery], started: Started | None = None) -> list[tuple[int, Outcome]]:
        """Send in order per recipient; await `started(ids, outcomes so far)` before the requests of at-most-once rows
        go out. Returns every row's outcome (settling one twice is harmless)."""
        ...

    def busy_recipients(self) -> Sequence[str]: ...


# A transport may also have `rung`: the delivery ladder's rung it serves ("notice", "push", "sms"), whatever chat a
# row was for; without it, it serves the "chat" rung of its own channel.


# A transport may also have `hurry()`: called when the process stops, after which it starts no new request and
# answers the rows not yet on their way with RetryAfter(0), so the requests already in flight finish and settle.
STOP_GRACE = 3.0  # seconds a stop waits for requests in flight, then for their outcomes to be settled


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transports: Sequence[Transport],
        *,
        clock: Clock = system_clock,
        interval: float = 0.5,
        ladder: Ladder | None = None,
    ) -> None:
        self.db = db
        self.ladder = ladder or Ladder()
        self.transports = list(transports)
        self.clock = clock
        self.interval = interval
        self._wake = {t.channel: asyncio.Event() for t in self.transports}
        self._by_channel = {t.channel: t for t in self.transports}
        self._tasks: list[asyncio.Task[None]] = []
        self._direct: set[asyncio.Task[None]] = set()  # replies a channel took to send at once
        self._outcomes: list[tuple[int, Outcome]] = []  # sent, not yet settled
        self._settling: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self, channel: str | None = None) -> None:
        for name, event in self._wake.items():
            if channel is None or channel == name:
                event.set()

    def send_now(self, channel: str, batch: Sequence[Delivery]) -> None:
        """Send rows a channel took inside its turn's transaction (`Desk.handle(send_now=True)`) without waiting for
        a claim; outcomes are settled together in the background, like the loop's."""
        if not batch:
            return
        task = asyncio.create_task(self._send(self._by_channel[channel], batch), name=f"send-now-{channel}")
        self._direct.add(task)
        task.add_done_callback(self._direct.discard)

    async def _send(self, transport: Transport, batch: Sequence[Delivery]) -> None:
        outcomes = await self._deliver(transport, batch)
        # Only now look up the list: `_settle_all` swaps it while the sends are on their way, and outcomes put in
        # the swapped-out list would never be settled (the rows would be sent again when their lease ends).
        self._outcomes.extend(outcomes)
        if self._settling is None or self._settling.done():
            self._settling = asyncio.create_task(self._settle_all(), name="settle")

    async def _settle_all(self) -> None:
        """One transaction for whatever outcomes gathered meanwhile; a row stays leased until its outcome is in."""
        await asyncio.sleep(0)  # let the sends finishing in this moment join
        while self._outcomes:
            outcomes, self._outcomes = self._outcomes, []
            try:
                await settle(self.db, outcomes, self.clock, self.ladder)
            except Exception:
                log.exception("settling %d sent rows failed, retrying", len(outcomes))
                self._outcomes[:0] = outcomes
                await asyncio.sleep(self.interval * 4)

    async def _started(self, message_ids: Sequence[int], settled: Sequence[tuple[int, Outcome]]) -> None:
        await mark_started(self.db, message_ids, self.clock, settled, self.ladder)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(t), name=f"sender-{t.channel}") for t in self.transports]

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Claim nothing more; let the requests in flight come back (new ones are not started: their rows are
        settled as due again) and settle every outcome, so a restart sends nothing twice. Cancelling a send instead
        would leave rows that went out marked as on their way, and they would be sent again once their lease ends."""
        self._stopping = True
        for transport in self.transports:
            hurry = getattr(transport, "hurry", None)
            if callable(hurry):
                hurry()
        self.wake()
        running = [*self._tasks, *self._direct]
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:  # a request that never came back: its row stays leased, as after a crash
                log.warning("stopping: %s still sending after %.0fs, cancelled", task.get_name(), grace)
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._outcomes and (self._settling is None or self._settling.done()):
            self._settling = asyncio.create_task(self._settle_all(), name="settle")
        if self._settling is not None:
            try:
                await asyncio.wait_for(self._settling, timeout=grace)
            except Exception:
                log.warning("stopping: %d sent rows could not be settled", len(self._outcomes))

    async def drain_once(self, transport: Transport) -> int:
        batch = await claim(
            self.db,
            transport.channel,
            self.clock(),
            transport.batch_size,
            exclude=transport.busy_recipients(),
            rung=getattr(transport, "rung", CHAT),
        )
        if not batch:
            return 0
        await settle(self.db, await self._deliver(transport, batch), self.clock, self.ladder)
        return len(batch)

    async def _deliver(self, transport: Transport, batch: Sequence[Delivery]) -> list[tuple[int, Outcome]]:
        try:
            return await transport.deliver(batch, self._started)
        except Exception as error:  # a channel bug must not lose rows: they go back with a back-off
            log.exception("%s transport failed", transport.channel)
            return [(d.id, Failed(type(error).__name__)) for d in batch]

    async def _loop(self, transport: Transport) -> None:
        wake = self._wake[transport.channel]
        while not self._stopping:
            try:
                sent = await self.drain_once(transport)
            except Exception:
                log.exception("%s sender: database unavailable, retrying", transport.channel)
                sent = 0
                await asyncio.sleep(self.interval * 4)
            if sent or self._stopping:
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.interval)
