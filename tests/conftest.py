"""Shared fixtures: real SQLite and real PostgreSQL databases, a fake clock, and a driver that chats with the desk."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import load_translator
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Attachment, Contact, Incoming, Location, Reply
from handlers.conversation.turn import Rules
from handlers.desk import Desk
from storage.crypto import FieldCipher
from storage.migrate import upgrade
from storage.models import Base
from storage.uow import Database

PG_ADMIN_URL = os.environ.get("SHISHI_TEST_PG", "postgresql://127.0.0.1:5432/test")
REQUIRE = os.environ.get("SHISHI_REQUIRE_SERVICES") == "1"
TEST_SECRET = "test-secret-key-for-field-encryption"


def need(condition: bool, reason: str) -> None:
    """Skip with a visible reason on a developer's machine; fail in CI, where every service must be there."""
    if condition:
        return
    if REQUIRE:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


async def _pg_reachable() -> bool:
    try:
        import asyncpg

        connection = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), timeout=3)
        await connection.close()
        return True
    except Exception:
        return False


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _async_url(plain: str) -> str:
    return plain.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated PostgreSQL database for this test session, or None when the server is not there."""
    if not asyncio.run(_pg_reachable()):
        yield None
        return
    name = f"shishi_t_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _async_url(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate(db: Database) -> None:
    from sqlalchemy import text

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "shishi.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    template = request.getfixturevalue("pg_template")
    need(template is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    asyncio.run(_emptied(str(template)))  # every test starts on empty tables, whatever the one before it left
    return str(template)


async def _emptied(url: str) -> None:
    db = Database(url, FieldCipher.from_secret(TEST_SECRET))
    try:
        await _truncate(db)
    finally:
        await db.dispose()


@pytest.fixture
async def pg_database() -> AsyncIterator[tuple[str, str]]:
    """A database of its own on the shared server: (name, direct async URL)."""
    need(await _pg_reachable(), f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    name = f"shishi_tg_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield name, f"{base}/{name}"
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "shishi.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def pg_url(pg_template: str | None) -> str:
    need(pg_template is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    return str(pg_template)


async def open_db(url: str) -> Database:
    db = Database(url, FieldCipher.from_secret(TEST_SECRET))
    if not db.sqlite:
        await _truncate(db)
    return db


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = await open_db(db_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def translator() -> Translator:
    return load_translator()


CHROMIUM = "/usr/bin/chromium"  # Debian's package; test tools never download a browser of their own


@pytest.fixture
def chromium_path() -> str:
    need(os.path.exists(CHROMIUM), f"Debian's chromium is not installed at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    """Headless Chromium driven by Playwright, with the flags this closed network needs."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # 10:00 in Hanzhong, a Friday


@dataclass
class Chat:
    """One citizen's chat on one channel, as a test sees it."""

    chat_id: str
    channel: str = "webchat"
    language: str | None = "zh-CN"
    counter: list[int] = field(default_factory=lambda: [0])


class DeskDriver:
    """Talks to the real Desk as channels do, and reads what it queued in the real outbox."""

    def __init__(self, desk: Desk, db: Database, translator: Translator) -> None:
        self.desk, self.db, self.translator = desk, db, translator
        self._keys = 0

    def chat(self, chat_id: str, *, channel: str = "webchat", language: str | None = "zh-CN") -> Chat:
        return Chat(chat_id=chat_id, channel=channel, language=language)

    def _key(self) -> str:
        self._keys += 1
        return f"u{self._keys}"

    async def send(self, chat: Chat, *, key: str | None = None, **fields: Any) -> list[Reply]:
        before = await self._last_id(chat)
        incoming = Incoming(
            channel=chat.channel,
            chat_id=chat.chat_id,
            update_key=key or self._key(),
            language=chat.language,
            **fields,
        )
        await self.desk.handle(incoming)
        return await self.replies(chat, after=before)

    async def say(self, chat: Chat, text: str, **kw: Any) -> list[Reply]:
        return await self.send(chat, text=text, **kw)

    async def press(self, chat: Chat, data: str, **kw: Any) -> list[Reply]:
        return await self.send(chat, choice=data, **kw)

    async def contact(self, chat: Chat, phone: str, own: bool = True) -> list[Reply]:
        return await self.send(chat, contact=Contact(phone=phone, own=own))

    async def location(self, chat: Chat, lat: float, lon: float) -> list[Reply]:
        return await self.send(chat, location=Location(lat, lon))

    async def photo(self, chat: Chat, ref: str = "photo-1") -> list[Reply]:
        return await self.send(chat, attachments=(Attachment(kind="photo", ref=ref),))

    async def _last_id(self, chat: Chat) -> int:
        async with self.db.reading() as uow:
            return await uow.outbox.last_id(chat.channel, chat.chat_id)

    async def replies(self, chat: Chat, after: int = 0) -> list[Reply]:
        async with self.db.reading() as uow:
            rows = await uow.outbox.transcript(chat.channel, chat.chat_id, after, 10_000)
            return [Reply.from_payload(uow.outbox.open(r.payload)) for r in rows]

    async def agree(self, chat: Chat) -> list[Reply]:
        await self.say(chat, "/start")
        return await self.press(chat, "consent:agree")

    def t(self, locale: str, msgid: str, **params: object) -> str:
        return self.translator(locale, msgid, **params)


@pytest.fixture
async def driver(db: Database, translator: Translator, clock: FakeClock) -> DeskDriver:
    desk = Desk(db, translator, Rules(), clock)
    return DeskDriver(desk, db, translator)


def buttons(reply: Reply) -> list[str]:
    return [b.data for b in reply.all_buttons()]
