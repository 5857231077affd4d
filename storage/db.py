"""Engines for the embedded default (SQLite, one writer at a time) and for PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# A database that does not answer must not hold a request, a turn or a sender loop for minutes: connecting, waiting
# for a pooled connection and every statement have a bound (the server cancels its side of a statement too).
CONNECT_TIMEOUT = 5.0
STATEMENT_TIMEOUT = 15.0
IDLE_IN_TRANSACTION_TIMEOUT = 60.0  # a client gone mid-transaction does not keep its row locks longer
SQLITE_BUSY_TIMEOUT = 5.0  # another process's write (a CLI command) is waited for this long
# PostgreSQL announces every new outbox row for a web chat on this NOTIFY channel, the chat as payload, when the
# transaction that wrote it commits (a trigger, migration 0012): each process LISTENs and wakes the pages it holds.
WEBCHAT_WAKEUPS = "shishi_webchat"


def _still_open(dbapi_connection: Any) -> bool:
    """The pool's check before it lends a PostgreSQL connection, without a round trip: asyncpg reads its socket all
    the time (for notifications), so a connection the server closed (a restart, a terminated backend) is known to be
    closed already, and the pool opens new ones. The dialect's own ping is BEGIN, a statement and ROLLBACK: three round
    trips before every transaction, a third of an ordinary turn's (#18). A server that stops answering without closing
    is caught by the statement timeout, as it was mid-transaction before."""
    return not dbapi_connection.driver_connection.is_closed()


def create_engine(url: str, *, echo: bool = False, immediate: bool = True) -> AsyncEngine:
    # hide_parameters: a failing statement is logged without its values (phone numbers, descriptions, sealed data).
    if not is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            pool_timeout=CONNECT_TIMEOUT,
            connect_args={
                "timeout": CONNECT_TIMEOUT,
                "command_timeout": STATEMENT_TIMEOUT,
                "server_settings": {
                    "statement_timeout": str(int(STATEMENT_TIMEOUT * 1000)),
                    "idle_in_transaction_session_timeout": str(int(IDLE_IN_TRANSACTION_TIMEOUT * 1000)),
                },
            },
        )
        engine.dialect.do_ping = _still_open  # type: ignore[method-assign]
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "isolation_level": None},
        **({} if ":memory:" in url else {"pool_size": 2 if immediate else 5, "max_overflow": 8}),
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted and overwritten content is zeroed, not left in free space: erased personal data (#16) must not
        # stay readable in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front: a deferred transaction that later wants to write can fail with
        # "database is locked" whatever the busy timeout; an immediate one waits its turn instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class WriteGate:
    """Serialises write transactions inside one process for SQLite; PostgreSQL needs no gate."""

    def __init__(self, serialise: bool) -> None:
        self._lock = asyncio.Lock() if serialise else None

    async def __aenter__(self) -> None:
        if self._lock is not None:
            await self._lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.release()


def aware(value: datetime | None) -> datetime | None:
    """A time read back as UTC: SQLite drops the zone of an aggregate (min, max)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def fixed(value: str) -> Any:
    """A constant written into the statement instead of bound as a parameter. PostgreSQL plans a prepared statement
    once for any parameters after its fifth run; a status it can see there lets it seek the few unsent rows, where a
    bound one had it read every row of a chat (an officer's 144 000 sent alerts: 1.1 s a turn, issue #18)."""
    return literal(value, literal_execute=True)


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT on both databases."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
