"""One person across channels through a real `python -m bot run` process (issue #14): a citizen links their Telegram
chat (the fake Bot API) and their web chat session; both show one ticket list; an officer's action reaches them once
— on the web page they used last if it is open, else on Telegram, never both, and no push or SMS beside it; /unlink
separates them again."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.i18n import load_translator
from storage.crypto import FieldCipher
from storage.models import OutboxMessage, Unit
from storage.uow import Database
from tests.channels.telegram.fake_api import TOKEN, FakeBotAPI, FakeUser
from tests.conftest import TEST_SECRET
from tests.support.fake_reach import FakePushService
from tests.support.processes import BotProcess
from tests.support.webchat_client import WebChatClient

pytestmark = pytest.mark.slow
T = load_translator()
NUMBER = re.compile(r"HZ-\d{8}-\d{4}")


@pytest.fixture
async def push() -> AsyncIterator[FakePushService]:
    fake = FakePushService()
    await fake.start()
    yield fake
    await fake.stop()


async def said(user: FakeUser, text: str) -> str:
    before = len(user.inbox())
    user.text(text)
    return "\n".join(m.text for m in await user.next(before, within=20))


async def test_linked_telegram_and_web_chat_are_one_person(tmp_path: Path, push: FakePushService) -> None:
    async with FakeBotAPI() as fake:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": fake.base, "SHISHI_SECRET_KEY": TEST_SECRET,
               "SENDER_INTERVAL": "0.1"}  # fmt: skip
        bot = await BotProcess(tmp_path / "bot", env, name="linked-bot").astart()
        db = Database(f"sqlite+aiosqlite:///{bot.db_path}", FieldCipher.from_secret(TEST_SECRET))
        web, officer = WebChatClient(bot.url), WebChatClient(bot.url)
        try:
            user = fake.user(5550101)
            before = len(user.inbox())
            user.text("/start")
            notice = (await user.next(before, within=20))[-1]
            before = len(user.inbox())
            user.press(notice, T("zh_CN", "consent.agree"))
            await user.next(before, within=20)
            code = re.search(r"/link (\d{8})", await said(user, "/link"))
            assert code is not None

            await web.open_page()
            await web.dispute()
            receipt = await web.press("nav:submit")
            number = NUMBER.search(receipt.text)
            assert number is not None
            asked = await web.say(f"/link {code.group(1)}")
            assert "Telegram" in asked.text
            before = len(user.inbox())
            assert (await web.press("link:yes")).status == 200
            told = (await fake.wait_messages(user.chat_id, before + 1, within=20))[-1]
            assert [b["text"] for row in told.inline for b in row] == [T("zh_CN", "link.not_me")]
            assert set(NUMBER.findall(await said(user, "/status"))) == {number.group(0)}  # one ticket list
            assert set(NUMBER.findall((await web.say("/status")).text)) == {number.group(0)}

            async with db.reading() as uow:
                ticket = await uow.tickets.by_number(number.group(0))
                assert ticket is not None
                unit = await uow.session.get(Unit, ticket.unit_id)
                assert unit is not None
            done = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "bot", "invite", "--unit", unit.code, "--role", "officer"],
                env=bot.environment(), cwd=bot.workdir, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            await officer.open_page()
            await officer.say(f"/join {done.stdout.strip().splitlines()[-1]} 张三")
            # The web page was used last, but it is closed: the claim reaches the person on Telegram, once.
            before = len(user.inbox())
            await officer.press(f"t:claim:{ticket.id}")
            await fake.wait_messages(user.chat_id, before + 1, within=20)
            await asyncio.sleep(1.5)
            arrived = [m.text for m in user.inbox()[before:]]
            assert len(arrived) == 1 and number.group(0) in arrived[0]
            async with db.reading() as uow:
                stmt = select(OutboxMessage).where(OutboxMessage.notice == "accepted")
                (row,) = (await uow.session.execute(stmt)).scalars().all()
            assert (row.channel, row.status) == ("telegram", "sent")
            assert [(a["rung"], a["channel"]) for a in row.ladder or []] == [("chat", "webchat"), ("chat", "telegram")]
            assert push.pushes == []

            # /unlink from the web chat: each keeps what it brought (the ticket was the web chat's).
            assert "/unlink" not in (await web.say("/unlink")).text
            assert NUMBER.findall(await said(user, "/status")) == []
            assert set(NUMBER.findall((await web.say("/status")).text)) == {number.group(0)}
        finally:
            await web.close()
            await officer.close()
            await db.dispose()
            bot.kill()
