"""The Telegram transport in-process against the fake Bot API over real HTTP: back-off, order, parts, group pace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.pace import ChatPaces
from bot.channels.telegram.transport import TelegramTransport
from handlers.conversation.messages import Button, Reply
from handlers.delivery import Delivery, Failed, RetryAfter, Sent, backoff, claim, settle
from storage.models import OutboxMessage
from storage.uow import Database
from tests.channels.telegram.fake_api import TOKEN, FakeBotAPI
from tests.conftest import FakeClock


@pytest.fixture
async def transport(fake: FakeBotAPI) -> AsyncIterator[TelegramTransport]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield TelegramTransport(bot, CallbackSigner.derive(b"k" * 32), lambda reply: "share below", rate=1000)
    await session.close()


def row(id_: int, chat: int, text: str, attempts: int = 1, **reply: object) -> Delivery:
    payload = Reply(text=text, **reply).to_payload()  # type: ignore[arg-type]
    return Delivery(id_, "telegram", str(chat), payload, "reply", True, attempts)


async def test_a_server_error_backs_off_and_holds_the_chats_later_rows(
    transport: TelegramTransport, fake: FakeBotAPI
) -> None:
    fake.fail_sends = 1
    results = dict(await transport.deliver([row(1, 11, "one", attempts=3), row(2, 11, "two"), row(3, 12, "else")]))
    assert isinstance(results[1], Failed) and results[1].retry
    assert results[2] == RetryAfter(backoff(3).total_seconds())  # waits behind "one", not counted as an attempt
    assert isinstance(results[3], Sent)  # another chat is not held up
    assert "11" in transport.busy_recipients() and "12" not in transport.busy_recipients()
    assert [m.text for m in fake.sent] == ["else"]


async def test_a_429_on_the_second_part_resends_only_what_is_missing_even_after_a_restart(
    transport: TelegramTransport, fake: FakeBotAPI, db: Database, clock: FakeClock
) -> None:
    long = ("条款 " * 1500).strip()
    assert len(long) > 4000
    async with db() as uow:
        await uow.outbox.enqueue(
            OutboxMessage(channel="telegram", recipient="21", payload=Reply(text=long).to_payload(), priority=0,
                          essential=True, kind="reply", status="pending", attempts=0, not_before=clock(),
                          created_at=clock())
        )  # fmt: skip
        await uow.commit()
    fake.limits.per_chat_per_second, fake.limits.per_chat_burst, fake.limits.retry_after = 1, 1, 1
    first = await transport.deliver(await claim(db, "telegram", clock(), 10))
    assert first[0][1] == RetryAfter(1.0, parts_sent=1) and len(fake.sent_to(21)) == 1
    assert "21" in transport.busy_recipients()
    await settle(db, first, clock)
    fake.limits.per_chat_per_second = None
    await asyncio.sleep(1.1)  # the retry_after, on the server's clock …
    clock.advance(seconds=1.1)  # … and on the database's
    restarted = TelegramTransport(transport.bot, transport.signer, transport.request_hint, rate=1000)
    again = await claim(db, "telegram", clock(), 10)
    assert [d.parts_sent for d in again] == [1]  # remembered in the row, not in the process that died
    assert isinstance(dict(await restarted.deliver(again))[again[0].id], Sent)
    texts = [m.text for m in fake.sent_to(21)]
    assert len(texts) == 2 and "".join(texts).replace(" ", "") == long.replace(" ", "")
    assert fake.violations == []


async def test_a_contact_keyboard_is_removed_by_the_next_message(
    transport: TelegramTransport, fake: FakeBotAPI
) -> None:
    ask = row(7, 31, "Phone?", buttons=((Button("Cancel", "nav:cancel"),),), request="contact", request_label="Share")
    await transport.deliver([ask])
    await transport.deliver([row(8, 31, "Thanks, noted.")])
    markups = [m.reply_markup for m in fake.sent_to(31)]
    assert "inline_keyboard" in markups[0] and markups[1]["keyboard"][0][0]["request_contact"] is True
    assert markups[2] == {"remove_keyboard": True}
    await asyncio.sleep(1.0)  # the chat's burst of three is spent: one a second now
    assert dict(await transport.deliver([row(9, 31, "And again.")])) == {9: Sent(str(fake.sent_to(31)[-1].message_id))}
    assert fake.sent_to(31)[-1].text == "And again." and fake.sent_to(31)[-1].reply_markup is None


def test_groups_get_20_a_minute_and_private_chats_one_a_second() -> None:
    now = [100.0]
    paces = ChatPaces(clock=lambda: now[0])
    for chat, spacing in (("-1001", 3.0), ("42", 1.0)):
        for _ in range(3):  # the short burst
            assert paces.delay(chat) == 0
            paces.take(chat, now[0])
        assert paces.delay(chat) == pytest.approx(spacing)


async def test_broadcast_rows_are_recorded_as_started_a_slice_at_a_time_before_their_requests(
    transport: TelegramTransport, fake: FakeBotAPI
) -> None:
    """What a kill -9 can leave uncertain is the slice just recorded, never a row recorded late or the whole claim."""
    rows = [Delivery(n, "telegram", str(3000 + n), Reply(text=f"普法 {n}").to_payload(), "broadcast", False, 1)
            for n in range(1, 61)]  # fmt: skip
    marks: list[tuple[list[int], int, list[int]]] = []  # (ids recorded, messages the server had then, settled ids)

    async def started(ids: object, settled: object) -> None:
        marks.append((list(ids), len(fake.sent), [i for i, _ in settled]))  # type: ignore[attr-defined]

    results = dict(await transport.deliver(rows, started))
    slice_size = transport.slice_size
    assert slice_size == 16  # 20 ms at 1000/s, capped by the 16 connections
    starts = range(0, 60, slice_size)
    assert [ids for ids, _, _ in marks] == [[r.id for r in rows[i : i + slice_size]] for i in starts]
    assert [seen for _, seen, _ in marks] == list(starts)  # nothing of a slice went before it was recorded
    assert [settled for _, _, settled in marks] == [list(range(1, i + 1)[-slice_size:]) if i else [] for i in starts]
    assert all(isinstance(outcome, Sent) for outcome in results.values()) and len(fake.sent) == 60
    replies = await transport.deliver([row(90, 3090, "答复")], started)  # replies are not at-most-once: no record
    assert isinstance(dict(replies)[90], Sent) and len(marks) == len(starts)
