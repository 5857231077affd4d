"""Nothing twice, nothing lost: many chats writing at the same instant, and a SIGTERM in the middle of their answers,
through the real bot process and the fake Bot API. Every reply arrives exactly once; no row stays leased."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest
from sqlalchemy import func, select

from handlers.conversation.i18n import Translator
from storage.models import OutboxMessage
from tests.channels.telegram.conftest import WEBHOOK_PATH, WEBHOOK_SECRET, Rig, RigFactory
from tests.channels.telegram.fake_api import FakeBotAPI, FakeUser

CHATS = 40
FIRST_CHAT = 61_000
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
# A row the sender lost track of stays `sending` until its 60 s lease ends and is then sent again: waiting this
# long for every row to settle lets a regression show itself as duplicates rather than as a timeout.
SETTLE_WITHIN = 75.0


async def unsettled(rig: Rig) -> int:
    async with rig.db.reading() as uow:
        stmt = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.channel == "telegram", OutboxMessage.status.in_(["pending", "sending"]))
        )
        return int((await uow.session.execute(stmt)).scalar_one())


async def outbox_rows(rig: Rig) -> list[OutboxMessage]:
    async with rig.db.reading() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.channel == "telegram").order_by(OutboxMessage.id)
        return list((await uow.session.execute(stmt)).scalars())


async def wait_settled(rig: Rig, within: float = SETTLE_WITHIN) -> float:
    """Seconds until no Telegram row is pending or on its way (or the limit: the caller's asserts then say why)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await unsettled(rig) == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return time.monotonic() - started


def duplicates(fake: FakeBotAPI, chats: list[int]) -> dict[int, list[str]]:
    """Per chat, the texts that arrived more than once."""
    found = {}
    for chat in chats:
        counts = Counter(m.raw for m in fake.sent_to(chat))
        twice = [text[:30] for text, n in counts.items() if n > 1]
        if twice:
            found[chat] = twice
    return found


def start_update(user: FakeUser, update_id: int) -> dict[str, object]:
    message = user._message(text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    return {"update_id": update_id, "message": message}


async def assert_each_reply_once(rig: Rig, fake: FakeBotAPI, t: Translator, chats: list[int]) -> None:
    await fake.wait_until(lambda: all(len(fake.sent_to(c)) >= 2 for c in chats), 30)
    waited = await wait_settled(rig)
    rows = await outbox_rows(rig)
    twice = duplicates(fake, chats)
    assert not twice, f"{sum(len(v) for v in twice.values())} of {2 * len(chats)} replies sent twice"
    assert {r.status for r in rows} == {"sent"}, Counter(r.status for r in rows)
    assert waited < 10, f"rows stayed leased {waited:.0f}s"
    for chat in chats:  # the welcome, then the privacy notice with its buttons: each exactly once, in order
        texts = [m.text for m in fake.sent_to(chat)]
        assert texts[0] == t("zh_CN", "welcome") and len(texts) == 2, texts
        assert t("zh_CN", "consent.agree") in fake.sent_to(chat)[1].labels


@pytest.mark.slow
async def test_forty_chats_at_once_by_polling_get_every_reply_once(rig: Rig, fake: FakeBotAPI, t: Translator) -> None:
    chats = [FIRST_CHAT + n for n in range(CHATS)]
    users = [fake.user(chat) for chat in chats]
    for user in users:  # one getUpdates answer holds all of them
        user.text("/start")
    await assert_each_reply_once(rig, fake, t, chats)


@pytest.mark.slow
async def test_forty_chats_at_once_by_webhook_get_every_reply_once(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator
) -> None:
    rig = await rig_factory(webhook=True)
    chats = [FIRST_CHAT + 100 + n for n in range(CHATS)]
    users = [fake.user(chat) for chat in chats]
    hook = f"{rig.process.url}{WEBHOOK_PATH}"
    async with aiohttp.ClientSession() as http:
        # Telegram opens up to 40 connections to a webhook (setWebhook max_connections): all at the same instant.
        async def post(user: FakeUser, update_id: int) -> int:
            async with http.post(hook, json=start_update(user, update_id), headers=SECRET_HEADER) as response:
                return response.status

        statuses = await asyncio.gather(*(post(u, 900_000 + n) for n, u in enumerate(users)))
    assert statuses == [200] * CHATS
    await assert_each_reply_once(rig, fake, t, chats)


@pytest.mark.slow
async def test_sigterm_in_the_middle_of_a_burst_sends_nothing_twice_and_loses_nothing(
    rig: Rig, fake: FakeBotAPI, t: Translator
) -> None:
    chats = [FIRST_CHAT + 200 + n for n in range(CHATS)]
    users = [fake.user(chat) for chat in chats]
    for user in users:
        user.text("/start")
        user.text("/help")
    # At Telegram's 30 messages a second the answers take seconds to go out: stop in the middle of them.
    await fake.wait_until(lambda: len(fake.sent) >= 1, 15)
    await asyncio.sleep(0.6)
    sent_before_stop = len(fake.sent)
    assert rig.process.process is not None
    stopping = time.monotonic()
    code = await asyncio.to_thread(rig.process.stop, 30.0)
    stopped_in = time.monotonic() - stopping
    assert code == 0, rig.log()[-2000:]
    async with rig.db.reading() as uow:
        leased = (
            await uow.session.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
            )
        ).scalar_one()

    await rig.start()
    await fake.wait_until(lambda: all(len(fake.sent_to(c)) >= 3 for c in chats), 60)
    waited = await wait_settled(rig)
    rows = await outbox_rows(rig)
    expected = Counter(int(r.recipient) for r in rows)
    twice = duplicates(fake, chats)
    assert sent_before_stop < len(rows), "the stop came after every answer had gone: nothing was proven"
    assert not twice, f"{sum(len(v) for v in twice.values())} of {len(rows)} replies sent twice"
    assert {c: len(fake.sent_to(c)) for c in chats} == {c: expected[c] for c in chats}  # nothing lost
    assert {r.status for r in rows} == {"sent"} and waited < 10
    assert leased == 0, f"{leased} rows left on their way by the stop"
    assert stopped_in < 5, f"the stop took {stopped_in:.1f}s"
    for chat in chats:
        assert fake.sent_to(chat)[0].text == t("zh_CN", "welcome")
