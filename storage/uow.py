"""The unit of work: one transaction, the repositories that work inside it (storage/repositories/, one per
aggregate), and the database they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.crypto import FieldCipher
from storage.db import WriteGate, create_engine, is_sqlite
from storage.repositories.audit import AuditRepository
from storage.repositories.broadcasts import BroadcastRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.followups import FollowUpRepository
from storage.repositories.guide import GuideRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.ledger import LedgerRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import PeopleRepository
from storage.repositories.reach import ReachRepository
from storage.repositories.rights import RightsRepository
from storage.repositories.subscriptions import SubscriptionRepository
from storage.repositories.tickets import TicketRepository
from storage.repositories.units import OfficerRepository, UnitRepository


class Database:
    """Engines and the write gate for one database URL. SQLite reads skip the write lock."""

    def __init__(self, url: str, cipher: FieldCipher) -> None:
        self.url = url
        self.cipher = cipher
        self.sqlite = is_sqlite(url)
        self.engine: AsyncEngine = create_engine(url)
        self.read_engine: AsyncEngine = self.engine
        if self.sqlite:
            self.read_engine = create_engine(url, immediate=False)
        self.gate = WriteGate(serialise=self.sqlite)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reads = async_sessionmaker(self.read_engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self, write=True)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self, write=False)

    async def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file and empty it, so pages from before an erasure (#16) do not
        stay readable in the WAL. Best effort: a reader in the middle of a transaction leaves it for the next."""
        if not self.sqlite:
            return
        async with self.engine.connect() as connection:  # outside any transaction (a checkpoint cannot run in one)
            raw = (await connection.get_raw_connection()).driver_connection
            if raw is not None:
                cursor = await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                await cursor.close()

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


Subscriber = Callable[[object], Awaitable[None]]


class UnitOfWork:
    """`async with db() as uow: …; await uow.commit()` — anything not committed is rolled back.

    Domain events recorded here (`await uow.record(event)`) go at once to `publish`, which whoever opened the unit
    of work set: the subscribers run inside this transaction, before the commit."""

    session: AsyncSession

    def __init__(self, db: Database, *, write: bool) -> None:
        self.db = db
        self.write = write
        self.events: list[object] = []
        self.publish: Subscriber | None = None
        self.erased = False  # personal data was erased: the commit also empties SQLite's WAL

    async def record(self, event: object) -> None:
        self.events.append(event)
        if self.publish is not None:
            await self.publish(event)

    async def __aenter__(self) -> Self:
        if self.write:
            await self.db.gate.__aenter__()
        maker = self.db._writes if self.write else self.db._reads
        self.session = maker()
        s, cipher, dialect = self.session, self.db.cipher, "sqlite" if self.db.sqlite else "postgresql"
        self.audit = AuditRepository(s)
        self.inbox = InboxRepository(s, dialect)
        self.people = PeopleRepository(s)
        self.conversations = ConversationRepository(s, dialect, cipher)
        self.outbox = OutboxRepository(s, dialect, cipher)
        self.tickets = TicketRepository(s, dialect, cipher)
        self.units = UnitRepository(s)
        self.officers = OfficerRepository(s)
        self.follow_ups = FollowUpRepository(s, dialect)
        self.guide = GuideRepository(s, dialect)
        self.subscriptions = SubscriptionRepository(s, dialect)
        self.broadcasts = BroadcastRepository(s, dialect)
        self.reach = ReachRepository(s, dialect)
        self.ledger = LedgerRepository(s, dialect)
        self.rights = RightsRepository(s, dialect)
        self.cipher = cipher
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.session.close()  # rolls back what was not committed; loaded objects stay readable
        finally:
            if self.write:
                await self.db.gate.__aexit__()

    async def commit(self) -> None:
        await self.session.commit()
        if self.erased:
            await self.db.checkpoint()

    async def flush(self) -> None:
        await self.session.flush()
