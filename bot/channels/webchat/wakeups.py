"""Wake-ups across processes. On PostgreSQL every outbox row for a web chat is announced by the database itself, in the
transaction that writes it (a NOTIFY on the channel `storage.db.WEBCHAT_WAKEUPS` with the chat as payload, delivered
when it commits; migration 0012). Each process LISTENs on one connection of its own and wakes the sockets
and long polls it holds for that chat, so an officer's message written by process B reaches a page held by process A
within a moment instead of at its next look.

Without a listening connection (SQLite, or PostgreSQL away for a while) the pages look again every few seconds; once
the connection is back every page here looks at once, since a notification may have been missed meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from storage.db import WEBCHAT_WAKEUPS
from storage.uow import Database

log = logging.getLogger(__name__)

RELOOK_LISTENING = 20.0  # seconds a page waits for a wake-up before it looks anyway (a held message falling due)
RELOOK_ALONE = 3.0  # the same without a listening connection: another process's rows are found only by looking
PING_EVERY = 10.0  # a connection that stopped answering (a dropped route) is noticed this soon
RETRY = (0.5, 1.0, 2.0, 5.0)  # seconds between reconnection attempts


def listen_url(url: str) -> str:
    """The asyncpg DSN of the desk's SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Wakeups:
    """One LISTEN connection per process, kept open; `wake(chat)` for every notification, `wake_all()` when
    listening starts again after a gap."""

    def __init__(self, db: Database, wake: Callable[[str], None], wake_all: Callable[[], None]) -> None:
        self.url = None if db.sqlite else listen_url(db.url)
        self.wake, self.wake_all = wake, wake_all
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.name = f"shishi-wakeups-{os.getpid()}"  # how an operator (or a test) finds this connection

    @property
    def relook(self) -> float:
        return RELOOK_LISTENING if self.listening.is_set() else RELOOK_ALONE

    def install(self, app: web.Application) -> None:
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, app: web.Application | None = None) -> None:
        if self.url is not None:
            self._task = asyncio.create_task(self._run(self.url), name="webchat-wakeups")

    async def _stop(self, app: web.Application | None = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.wake(payload)

    async def _run(self, url: str) -> None:
        import asyncpg

        failures = 0
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(url, timeout=5.0, server_settings={"application_name": self.name})
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                await connection.add_listener(WEBCHAT_WAKEUPS, self._notified)
                self.listening.set()
                if failures:
                    log.info("web chat wake-ups: listening again")
                failures = 0
                self.wake_all()  # anything written while nobody here listened is looked for now
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=PING_EVERY)
                    if not lost.is_set():
                        await connection.fetchval("SELECT 1", timeout=5.0)
                raise ConnectionResetError("the listening connection closed")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if failures == 0:  # once per outage; the pages meanwhile look every RELOOK_ALONE seconds
                    log.warning("web chat wake-ups: not listening (%s), pages look every %.0fs", type(error).__name__,
                                RELOOK_ALONE)  # fmt: skip
            finally:
                self.listening.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), timeout=2.0)
            await asyncio.sleep(RETRY[min(failures, len(RETRY) - 1)])
            failures += 1
