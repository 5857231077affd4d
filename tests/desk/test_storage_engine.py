"""The engines the desk uses: a failing statement never carries its values into an error (and so into a log), and
a database that does not answer is given up within seconds, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import traceback
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.crypto import FieldCipher
from storage.db import STATEMENT_TIMEOUT, create_engine
from storage.models import InboxEntry
from storage.uow import Database
from tests.conftest import PG_ADMIN_URL, TEST_SECRET
from tests.support.tcp_proxy import TcpProxy

MARKER = "13800138000 张三 身份证 610102199001011234"


async def test_a_failing_statement_never_shows_its_parameters(db_url: str) -> None:
    """A row that cannot be stored (PostgreSQL: the channel is too long; SQLite, which does not check lengths: the
    same key twice). Neither database repeats the values in its own message, so only SQLAlchemy could show them."""
    db = Database(db_url, FieldCipher.from_secret(TEST_SECRET))
    try:
        with pytest.raises(DBAPIError) as failed:
            for _ in range(2):
                async with db() as uow:
                    uow.session.add(InboxEntry(channel=MARKER, update_key=MARKER, received_at=datetime.now(UTC)))
                    await uow.commit()
    finally:
        await db.dispose()
    shown = "".join(traceback.format_exception(failed.value))
    assert "hidden" in str(failed.value)
    assert "13800138000" not in shown and "张三" not in shown and "610102199001011234" not in shown


async def test_a_database_holding_every_packet_is_given_up_within_the_statement_timeout(pg_url: str) -> None:
    proxy = await TcpProxy.before(pg_url).start()
    engine = create_engine(proxy.through(pg_url))
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
            proxy.hold()
            started = time.monotonic()
            with pytest.raises((TimeoutError, DBAPIError)):  # the test's own guard is far beyond the engine's
                await asyncio.wait_for(connection.execute(text("SELECT 2")), STATEMENT_TIMEOUT + 15)
            waited = time.monotonic() - started
    finally:
        proxy.release()
        await engine.dispose()
        await proxy.stop()
    assert waited < STATEMENT_TIMEOUT + 3, f"waited {waited:.0f}s"


async def test_a_connection_whose_backend_the_server_ended_is_not_lent_again(pg_url: str) -> None:
    """The pool checks a connection before lending it without a round trip (the server's close is already known):
    after a backend is terminated, as a restart would, the next transaction runs on a new one instead of failing."""
    import asyncpg

    engine = create_engine(pg_url)
    try:
        async with engine.connect() as connection:
            ended = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", ended)
            for _ in range(100):  # the backend is gone from the server
                if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", ended):
                    break
                await asyncio.sleep(0.05)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the closed socket is read by the pooled connection
        async with engine.connect() as connection:
            serving = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()
    assert serving != ended
