"""WeChat fixtures: the fake WeChat API in the test's loop, and real bot processes pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.i18n import load_translator
from handlers.conversation.i18n import Translator
from storage.crypto import FieldCipher
from storage.models import InboxEntry, OutboxMessage, Person, Ticket
from storage.uow import Database
from tests.channels.wechat.fake_api import APP_ID, APP_SECRET, TOKEN, FakeWeChat, Follower, Pusher, new_aes_key
from tests.conftest import TEST_SECRET
from tests.support.processes import BotProcess


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChat]:
    fake = FakeWeChat()
    await fake.start()
    yield fake
    await fake.stop()


class Rig:
    """The fake WeChat, one bot process serving /wechat, and a reader of that bot's database."""

    def __init__(self, wechat: FakeWeChat, workdir: Path, env: dict[str, str], mode: str) -> None:
        self.wechat = wechat
        self.mode = mode
        self.aes_key = env.get("WECHAT_ENCODING_AES_KEY")
        self.process = BotProcess(workdir, env, name="wechat-bot")
        self.database_url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{self.process.db_path}"
        self._db: Database | None = None

    @property
    def url(self) -> str:
        return f"{self.process.url}/wechat"

    async def start(self) -> Rig:
        await self.process.astart()
        return self

    async def kill(self) -> None:
        await asyncio.to_thread(self.process.kill)

    def pusher(self, mode: str | None = None, **kw: object) -> Pusher:
        return Pusher(self.url, aes_key=self.aes_key, mode=mode or self.mode, **kw)  # type: ignore[arg-type]

    def follower(self, mode: str | None = None) -> Follower:
        return Follower(self.wechat, self.pusher(mode))

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.database_url, FieldCipher.from_secret(TEST_SECRET))
        return self._db

    async def count(self, model: type) -> int:
        async with self.db.reading() as uow:
            return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())

    async def footprint(self) -> dict[str, int]:
        """What a push can leave behind: inbox keys, people, outbox rows, tickets."""
        return {m.__tablename__: await self.count(m) for m in (InboxEntry, Person, OutboxMessage, Ticket)}

    async def close(self) -> None:
        await self.kill()
        if self._db is not None:
            await self._db.dispose()

    def log(self) -> str:
        return self.process.log_text()


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig_factory(wechat: FakeWeChat, tmp_path: Path) -> AsyncIterator[RigFactory]:
    rigs: list[Rig] = []

    async def make(name: str = "bot", mode: str = "plain", start: bool = True, **env: str) -> Rig:
        settings = {
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE": wechat.base,
            "SHISHI_SECRET_KEY": TEST_SECRET,
            "SENDER_INTERVAL": "0.1",
            "LOG_LEVEL": "INFO",
        }
        if mode != "plain":
            settings["WECHAT_ENCODING_AES_KEY"] = new_aes_key()
        settings.update(env)
        rig = Rig(wechat, tmp_path / name, settings, mode)
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
