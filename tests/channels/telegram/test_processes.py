"""Two desk processes on one PostgreSQL send through one Telegram bot: every row goes out once, a chat's rows in
order, and the bot as a whole keeps to TELEGRAM_RATE_PER_SECOND (each process sends at its share, SHISHI_PROCESSES)
while both do the work."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.broadcast_rate import busiest
from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_ALERT, Outbox
from storage.crypto import FieldCipher
from storage.migrate import upgrade
from storage.uow import Database
from tests.channels.telegram.broadcast_world import TEXT, approve_broadcast, seed
from tests.channels.telegram.fake_api import TOKEN, FakeBotAPI
from tests.support.desks import SECRET, desk

pytestmark = pytest.mark.slow

LIMIT = 20  # the bot's whole ceiling, sends a second
SUBSCRIBERS = 160
ORDERED_CHATS = 30  # of the subscribers, each with three alerts that must arrive in order


async def queue_alerts(db: Database, chats: list[int]) -> None:
    async with db() as uow:
        outbox = Outbox(uow, datetime.now(UTC))
        for chat in chats:
            for n in (1, 2, 3):
                outbox.to_chat("telegram", str(chat), Reply(text=f"第{n}条提醒"), kind="alert",
                               priority=PRIORITY_ALERT, essential=True)  # fmt: skip
        await outbox.flush()
        await uow.commit()


async def test_two_processes_send_every_row_once_in_order_and_together_keep_the_bots_rate(
    tmp_path: Path, pg_database: tuple[str, str]
) -> None:
    _, url = pg_database
    await asyncio.to_thread(upgrade, url)
    db = Database(url, FieldCipher.from_secret(SECRET))
    world = await seed(db, SUBSCRIBERS)
    ordered = world.subscriber_chats[:ORDERED_CHATS]
    await queue_alerts(db, ordered)
    await approve_broadcast(db, world)
    async with FakeBotAPI() as fake:
        settings = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": fake.base,
            "SHISHI_PROCESSES": "2",
            "TELEGRAM_RATE_PER_SECOND": str(LIMIT),
            "SENDER_INTERVAL": "0.1",
            "BROADCAST_INTERVAL": "0.5",
        }
        a, b = desk(tmp_path, url, "a", **settings), desk(tmp_path, url, "b", **settings)
        await a.astart()
        await b.astart()
        try:
            expected = SUBSCRIBERS + 3 * ORDERED_CHATS
            deadline = time.monotonic() + 120
            while len([m for m in fake.sent if m.chat_id >= world.subscriber_chats[0]]) < expected:
                assert time.monotonic() < deadline, f"{len(fake.sent)} of {expected} sent"
                await asyncio.sleep(0.25)
            await asyncio.sleep(2.0)  # would anything come twice?
        finally:
            a.kill()
            b.kill()
        mine = [m for m in fake.sent if m.chat_id >= world.subscriber_chats[0]]
    await db.dispose()

    broadcasts = Counter(m.chat_id for m in mine if m.text.startswith(TEXT[:8]))
    assert set(broadcasts) == set(world.subscriber_chats) and set(broadcasts.values()) == {1}
    alerts: dict[int, list[str]] = defaultdict(list)
    for message in mine:
        if "条提醒" in message.text:
            alerts[message.chat_id].append(message.text)
    assert {chat: texts for chat, texts in alerts.items()} == {
        chat: ["第1条提醒", "第2条提醒", "第3条提醒"] for chat in ordered
    }
    times = sorted(m.at for m in mine)
    assert busiest(times) <= LIMIT, busiest(times)  # each process alone keeps to half: together, to the whole
    # The broadcast (one message a chat, so no chat's pace binds) goes faster than one process's half: both send.
    sent = sorted(m.at for m in mine if m.text.startswith(TEXT[:8]))
    rate = (len(sent) - 1) / (sent[-1] - sent[0])
    assert rate > LIMIT / 2 * 1.1, rate
