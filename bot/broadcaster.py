"""The broadcast clock: every few seconds handlers/fanout.py starts due broadcasts, fans out, reports progress.

The database holds every broadcast's state (status, fan-out cursor, deliveries), so a restart simply ticks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import time, timedelta

from bot.config import Settings
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Clock, Rules, system_clock
from handlers.outreach.fanout import Broadcaster
from handlers.outreach.rules import OutreachRules
from storage.uow import Database

log = logging.getLogger(__name__)


def outreach_rules(settings: Settings) -> OutreachRules:
    start, _, end = settings.citizen_quiet_hours.partition("-")
    return OutreachRules(
        quiet_start=time.fromisoformat(start.strip()),
        quiet_end=time.fromisoformat(end.strip()),
        daily_cap=settings.broadcast_daily_cap,
        batch_size=settings.broadcast_batch_size,
        progress_every=timedelta(seconds=settings.broadcast_progress_every),
    )


class BroadcastLoop:
    def __init__(
        self,
        db: Database,
        translator: Translator,
        rules: Rules,
        outreach: OutreachRules,
        *,
        clock: Clock = system_clock,
        interval: float = 2.0,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.broadcaster = Broadcaster(db, translator, rules, outreach, clock)
        self.interval = interval
        self.on_queued = on_queued
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broadcasts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.broadcaster.tick()
                if self.on_queued is not None:
                    self.on_queued()  # new rows, progress edits, reports: the sender should look now
            except Exception:
                log.exception("broadcast tick failed; trying again")
            await asyncio.sleep(self.interval)
