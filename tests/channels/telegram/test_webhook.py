"""Webhook mode of the real bot process: the secret is checked before anything is written, 200 only after commit,
5xx while the database is unreachable and the same update handled once when it is back."""

from __future__ import annotations

import time

import aiohttp
from sqlalchemy import func, select

from bot.channels.telegram.updates import update_id_of
from handlers.conversation.i18n import Translator
from storage.models import ChatIdentity, InboxEntry, OutboxMessage
from tests.channels.telegram.conftest import WEBHOOK_PATH, WEBHOOK_SECRET, Rig, RigFactory, step
from tests.channels.telegram.fake_api import FakeBotAPI
from tests.support.tcp_proxy import TcpProxy


async def rows(rig: Rig, model: type) -> int:
    async with rig.db.reading() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


def start_update(update_id: int, user_id: int) -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": "W", "language_code": "zh-hans"}
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "W"},
        "from": user,
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return {"update_id": update_id, "message": message}


async def test_wrong_or_missing_secret_is_401_and_nothing_is_written(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator
) -> None:
    rig = await rig_factory(webhook=True)
    assert fake.webhook == {"url": f"{rig.process.url}{WEBHOOK_PATH}", "secret_token": WEBHOOK_SECRET}
    assert not fake.calls_of("getUpdates")
    hook = f"{rig.process.url}{WEBHOOK_PATH}"
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}):
            async with http.post(hook, json=start_update(777001, 8001), headers=headers) as response:
                assert response.status == 401
                assert await response.text() == ""  # nothing about the bot is revealed
        assert await rows(rig, InboxEntry) == 0
        assert await rows(rig, ChatIdentity) == 0
        assert await rows(rig, OutboxMessage) == 0
        good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with http.post(hook, json=start_update(777001, 8001), headers=good) as response:
            assert response.status == 200
        assert await rows(rig, InboxEntry) == 1  # 200 came after the commit
    await fake.wait_messages(8001, 2)
    user = fake.user(8002)
    reply = await step(user, lambda: user.text("/start"))  # and Telegram's own delivery, with the secret
    assert reply[0].text == t("zh_CN", "welcome")
    assert all(200 <= status < 300 for _, status in fake.webhook_responses)


async def test_an_unreadable_update_is_taken_and_logged_and_garbage_is_refused(
    rig_factory: RigFactory, fake: FakeBotAPI
) -> None:
    rig = await rig_factory(webhook=True)
    hook = f"{rig.process.url}{WEBHOOK_PATH}"
    good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    broken = start_update(777005, 8005)
    broken["message"]["date"] = "yesterday"  # type: ignore[index]
    async with aiohttp.ClientSession() as http:
        async with http.post(hook, json=broken, headers=good) as response:
            assert response.status == 200  # Telegram would otherwise hold the chat's queue retrying it
        async with http.post(hook, data=b"{not json", headers=good) as response:
            assert response.status == 400
    assert await rows(rig, InboxEntry) == 0
    assert "update 777005 cannot be read (message.date" in rig.process.log_text()


async def test_the_same_update_posted_three_times_at_once_is_handled_once(
    rig_factory: RigFactory, fake: FakeBotAPI
) -> None:
    import asyncio

    rig = await rig_factory(webhook=True)
    hook = f"{rig.process.url}{WEBHOOK_PATH}"
    good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with aiohttp.ClientSession() as http:

        async def post() -> int:
            async with http.post(hook, json=start_update(777002, 8003), headers=good) as response:
                return response.status

        assert await asyncio.gather(post(), post(), post()) == [200, 200, 200]
    await fake.wait_messages(8003, 2)
    # A later update of the same chat: its answer leaves after anything a repeat could have queued (one chat's
    # messages go in order), so when it arrives nothing more is coming.
    async with aiohttp.ClientSession() as http:
        later = start_update(777003, 8003)
        later["message"] = {**later["message"], "text": "/menu", "message_id": 2}  # type: ignore[dict-item]
        later["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]  # type: ignore[index]
        async with http.post(hook, json=later, headers=good) as response:
            assert response.status == 200
    await fake.wait_messages(8003, 3)
    assert len(fake.sent_to(8003)) == 3  # welcome and the privacy notice once, then the menu
    assert await rows(rig, InboxEntry) == 2  # the repeated update recorded once, and the later one


async def test_database_down_gives_5xx_then_the_update_is_handled_once_when_it_is_back(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator, pg_database: tuple[str, str]
) -> None:
    _, direct = pg_database
    proxy = await TcpProxy.before(direct).start()
    through_proxy = proxy.through(direct)
    try:
        rig = await rig_factory(webhook=True, reader_url=direct, DATABASE_URL=through_proxy)
        user = fake.user(8100)
        await step(user, lambda: user.text("/start"))
        before = len(user.inbox())

        await proxy.stop()
        update_id = user.text("/menu")
        await fake.wait_until(lambda: [s for u, s in fake.webhook_responses if u == update_id].count(503) >= 2, 15)
        async with rig.db.reading() as uow:
            keys = [update_id_of(k) for k in (await uow.session.execute(select(InboxEntry.update_key))).scalars()]
        seen = update_id in keys
        assert not seen
        assert len(user.inbox()) == before

        await proxy.start()
        reply = await user.next(before, within=20)
        statuses = [s for u, s in fake.webhook_responses if u == update_id]
        assert statuses[-1] == 200 and set(statuses[:-1]) == {503}
        assert fake.delivered_update_ids.count(update_id) == len(statuses) >= 3
        assert len(reply) == 1 and t("zh_CN", "menu.title") in reply[0].text
        async with rig.db.reading() as uow:
            keys = [update_id_of(k) for k in (await uow.session.execute(select(InboxEntry.update_key))).scalars()]
        assert keys.count(update_id) == 1
    finally:
        await proxy.stop()
