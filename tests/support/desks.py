"""Several `python -m bot run` processes on one PostgreSQL database, and the people who use them through the web chat:
a citizen who files a dispute and keeps the page open (a WebSocket), and an officer who joins, claims the ticket and
writes to the citizen through the desk."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.app import DEMO_UNITS, read_units_file
from handlers.staff.invites import make_invite
from handlers.tickets.units import load_units
from storage.crypto import FieldCipher
from storage.migrate import upgrade
from storage.models import Ticket
from storage.uow import Database
from tests.support.processes import BotProcess
from tests.support.webchat_client import Answer, WebChatClient

SECRET = "desks-secret-key-for-field-encryption"


async def prepare(url: str) -> Database:
    """Migrated, with the demo's units, before any process starts (two processes loading them at once would race)."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url, FieldCipher.from_secret(SECRET))
    units, rules = read_units_file(DEMO_UNITS)
    await load_units(db, units, rules)
    return db


def desk(workdir: Path, url: str, name: str, **env: str) -> BotProcess:
    """One process of the deployment: the shared database and secret, no demo loading of its own."""
    settings = {"DATABASE_URL": url, "SHISHI_SECRET_KEY": SECRET, "SHISHI_DEMO": "no", "LOG_LEVEL": "INFO", **env}
    return BotProcess(workdir / name, settings, name=name)


async def newest_ticket(db: Database) -> Ticket:
    async with db.reading() as uow:
        ticket = (await uow.session.execute(select(Ticket).order_by(Ticket.id.desc()).limit(1))).scalar_one()
        return ticket


async def file_dispute(citizen: WebChatClient) -> Answer:
    await citizen.open_page()
    await citizen.dispute()
    receipt = await citizen.press("nav:submit")
    assert receipt.status == 200, receipt.body
    return receipt


class Officer:
    """An officer in the web chat of some process: joins the ticket's unit, claims it, writes to the citizen."""

    def __init__(self, client: WebChatClient) -> None:
        self.client = client

    async def join(self, db: Database, unit_id: int | None, name: str = "张三") -> None:
        async with db.reading() as uow:
            unit = await uow.units.get(unit_id or 0)
            assert unit is not None
        code = await make_invite(db, unit.code, "officer", timedelta(hours=1), datetime.now(UTC))
        await self.client.open_page()
        joined = await self.client.say(f"/join {code} {name}")
        assert joined.status == 200, joined.body

    async def claim(self, ticket_id: int) -> Answer:
        return await self.client.press(f"t:claim:{ticket_id}")

    async def write(self, ticket_id: int, text: str) -> float:
        """The message form and the message. Returns when the message was sent (time.monotonic()): the process
        commits it a little later, so a delay measured from here is an upper bound."""
        asked = await self.client.press(f"t:msg:{ticket_id}")
        assert asked.status == 200, asked.body
        started = time.monotonic()
        sent = await self.client.say(text)
        assert sent.status == 200, sent.body
        return started


@dataclass
class Page:
    """The citizen's open page: a WebSocket to one process, every message with the moment it arrived."""

    client: WebChatClient
    base_url: str
    arrived: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _socket: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> Page:
        ws_url = self.base_url.replace("http://", "ws://", 1) + f"/ws?after={self.client.cursor}"
        self._socket = await self.client.http.ws_connect(ws_url, heartbeat=20)
        self.closed.clear()
        self._task = asyncio.create_task(self._read(self._socket))
        return self

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                body = message.json()
                if body.get("type") == "messages":
                    now = time.monotonic()
                    self.arrived.extend((now, m) for m in body["messages"])
                    self.client.cursor = body["cursor"]
        finally:
            self.closed.set()

    async def wait_for(self, fragment: str, within: float) -> float:
        """When a message holding `fragment` arrived (time.monotonic()); fails after `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for at, message in self.arrived:
                if fragment in str(message.get("text", "")):
                    return at
            await asyncio.sleep(0.01)
        raise AssertionError(f"no message with {fragment!r} within {within}s; got {[m for _, m in self.arrived]}")

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
