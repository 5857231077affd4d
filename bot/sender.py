"""The outbox sender: one loop per channel claims due rows, hands them to the channel, settles the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from handlers.delivery import Delivery, Failed, Outcome, claim, settle
from handlers.turn import Clock, system_clock
from storage.uow import Database

log = logging.getLogger(__name__)


class Transport(Protocol):
    channel: str
    batch_size: int

    async def deliver(self, batch: Sequence[Delivery]) -> list[tuple[int, Outcome]]: ...

    def busy_recipients(self) -> Sequence[str]: ...


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transports: Sequence[Transport],
        *,
        clock: Clock = system_clock,
        interval: float = 0.5,
    ) -> None:
        self.db = db
        self.transports = list(transports)
        self.clock = clock
        self.interval = interval
        self._wake = {t.channel: asyncio.Event() for t in self.transports}
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self, channel: str | None = None) -> None:
        for name, event in self._wake.items():
            if channel is None or channel == name:
                event.set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(t), name=f"sender-{t.channel}") for t in self.transports]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain_once(self, transport: Transport) -> int:
        batch = await claim(
            self.db,
            transport.channel,
            self.clock(),
            transport.batch_size,
            exclude=transport.busy_recipients(),
        )
        if not batch:
            return 0
        try:
            results = await transport.deliver(batch)
        except Exception as error:  # a channel bug must not lose rows: they go back with a back-off
            log.exception("%s transport failed", transport.channel)
            results = [(d.id, Failed(type(error).__name__)) for d in batch]
        await settle(self.db, results, self.clock)
        return len(batch)

    async def _loop(self, transport: Transport) -> None:
        wake = self._wake[transport.channel]
        while True:
            try:
                sent = await self.drain_once(transport)
            except Exception:
                log.exception("%s sender: database unavailable, retrying", transport.channel)
                sent = 0
                await asyncio.sleep(self.interval * 4)
            if sent:
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.interval)
