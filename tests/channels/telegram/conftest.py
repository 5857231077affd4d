"""Telegram fixtures: the fake Bot API server in the test's loop, and the real bot process pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import load_translator
from handlers.conversation.i18n import Translator
from storage.crypto import FieldCipher
from storage.uow import Database
from tests.channels.telegram.fake_api import TOKEN, FakeBotAPI, FakeUser, Sent
from tests.conftest import TEST_SECRET
from tests.support.processes import BotProcess, free_port

WEBHOOK_PATH = "/telegram/hook-7f3a"
WEBHOOK_SECRET = "webhook-secret_0123456789abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


class Rig:
    """The fake Bot API, one bot process on its own data directory, and a reader of that bot's database."""

    def __init__(self, fake: FakeBotAPI, workdir: Path, env: dict[str, str], reader_url: str | None = None) -> None:
        self.fake = fake
        self.process = BotProcess(workdir, env, name="telegram-bot")
        self.database_url = reader_url or env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{self.process.db_path}"
        self._db: Database | None = None

    async def start(self) -> Rig:
        await asyncio.to_thread(self.process.start)
        await self.fake.wait_until(lambda: bool(self.fake.calls_of("deleteWebhook") or self.fake.webhook), 15)
        return self

    async def kill(self) -> None:
        await asyncio.to_thread(self.process.kill)

    async def stop(self) -> None:
        await asyncio.to_thread(self.process.stop)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.database_url, FieldCipher.from_secret(TEST_SECRET))
        return self._db

    async def close(self) -> None:
        await self.kill()
        if self._db is not None:
            await self._db.dispose()

    def log(self) -> str:
        return self.process.log_text()


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig_factory(fake: FakeBotAPI, tmp_path: Path) -> AsyncIterator[RigFactory]:
    rigs: list[Rig] = []

    async def make(
        name: str = "bot", start: bool = True, webhook: bool = False, reader_url: str | None = None, **env: str
    ) -> Rig:
        settings = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": fake.base,
            "SHISHI_SECRET_KEY": TEST_SECRET,
            "SENDER_INTERVAL": "0.1",
            "LOG_LEVEL": "INFO",
        }
        settings.update(env)
        port = free_port()
        if webhook:
            settings["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            settings["TELEGRAM_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        rig = Rig(fake, tmp_path / name, settings, reader_url)
        rig.process.port = port
        rigs.append(rig)
        return await rig.start() if start else rig

    yield make
    for rig in rigs:
        await rig.close()


@pytest.fixture
async def rig(rig_factory: RigFactory) -> Rig:
    return await rig_factory()


@pytest.fixture(scope="session")
def t() -> Translator:
    return load_translator()


async def step(user: FakeUser, action: Callable[[], Any], *, within: float = 10.0) -> list[Sent]:
    """Do something as the user and return what the bot answered (once it stops for a moment)."""
    before = len(user.inbox())
    action()
    return await user.next(before, within=within)
