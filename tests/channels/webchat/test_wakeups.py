"""Two processes on one PostgreSQL: a web chat page held by process A wakes within a second when process B writes for
its chat (the outbox trigger NOTIFYs, every process LISTENs), over a WebSocket and over a long poll, and again after
A's listening connection was cut."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from tests.support.desks import Officer, Page, desk, file_dispute, newest_ticket, prepare
from tests.support.webchat_client import WebChatClient

pytestmark = pytest.mark.slow

WITHIN = 1.0  # seconds from the officer's message leaving for process B to its arrival at the page on process A


async def listener(url: str, pid: int) -> int | None:
    """The backend of process `pid`'s listening connection, if it has one."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        found = await connection.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", f"shishi-wakeups-{pid}"
        )
        return int(found) if found is not None else None
    finally:
        await connection.close()


async def until_listening(url: str, pid: int, other_than: int | None = None, within: float = 10.0) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        backend = await listener(url, pid)
        if backend is not None and backend != other_than:
            return backend
        await asyncio.sleep(0.05)
    raise AssertionError(f"process {pid} is not listening")


async def test_a_page_on_one_process_wakes_within_a_second_when_another_process_writes_for_it(
    tmp_path: Path, pg_database: tuple[str, str]
) -> None:
    _, url = pg_database
    db = await prepare(url)
    a, b = desk(tmp_path, url, "a"), desk(tmp_path, url, "b")
    await a.astart()
    await b.astart()
    try:
        assert a.process is not None
        first = await until_listening(url, a.process.pid)
        async with WebChatClient(a.url) as on_a, WebChatClient(b.url) as on_b:
            await file_dispute(on_a)
            ticket = await newest_ticket(db)
            officer = Officer(on_b)
            await officer.join(db, ticket.unit_id)
            assert (await officer.claim(ticket.id)).status == 200
            page = await Page(on_a, a.url).open()

            # Over the WebSocket: each message at the page within a second (the page would otherwise look every 20 s).
            delays = []
            for n in range(3):
                text = f"请周三上午带上材料来所里面谈（第{n + 1}次）"
                sent = await officer.write(ticket.id, text)
                delays.append(await page.wait_for(text, within=10) - sent)
            assert max(delays) < WITHIN, delays
            await page.close()

            # Over a long poll (the fallback where WebSockets are blocked).
            poll = asyncio.create_task(on_a.history(after=on_a.cursor, wait=20))
            await asyncio.sleep(0.3)  # the poll is waiting on A
            text = "材料清单：身份证、土地承包合同"
            sent = await officer.write(ticket.id, text)
            answer = await poll
            assert answer.status == 200 and text in answer.text
            assert time.monotonic() - sent < WITHIN

            # A's listening connection is cut: it listens again, and what B wrote meanwhile still reaches the page.
            page = await Page(on_a, a.url).open()
            admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
            finally:
                await admin.close()
            text = "连接中断之后写的留言"
            sent = await officer.write(ticket.id, text)
            arrived = await page.wait_for(text, within=10)
            again = await until_listening(url, a.process.pid, other_than=first)
            assert again != first
            assert arrived - sent < 3.0  # the reconnect (half a second) and the look every page takes then
            text = "重新监听之后的留言"
            sent = await officer.write(ticket.id, text)
            assert await page.wait_for(text, within=10) - sent < WITHIN
            await page.close()
    finally:
        a.kill()
        b.kill()
    assert "Traceback" not in a.log_text() + b.log_text()
