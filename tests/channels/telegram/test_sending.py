"""The outbox sender of the real bot process at Telegram's limits: floods, 429s, blocked chats, long texts."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from handlers.conversation.messages import Reply
from storage.models import ChatIdentity, OutboxMessage
from tests.channels.telegram.conftest import Rig, RigFactory, step
from tests.channels.telegram.fake_api import FakeBotAPI, Limits, utf16_len


async def enqueue(rig: Rig, rows: list[tuple[int, str]], *, essential: bool = True, delay: float = 0.0) -> list[int]:
    now = datetime.now(UTC)
    async with rig.db() as uow:
        queued = [
            await uow.outbox.enqueue(
                OutboxMessage(
                    channel="telegram",
                    recipient=str(chat),
                    payload=Reply(text=text).to_payload(),
                    priority=50,
                    essential=essential,
                    kind="broadcast",
                    status="pending",
                    attempts=0,
                    not_before=now + timedelta(seconds=delay),
                    created_at=now,
                )
            )
            for chat, text in rows
        ]
        await uow.commit()
        return [m.id for m in queued]


async def statuses(rig: Rig, ids: list[int]) -> dict[int, str]:
    async with rig.db.reading() as uow:
        found = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))).scalars()
        return {m.id: m.status for m in found}


async def test_flood_of_500_to_50_chats_all_delivered_once_none_inside_retry_after(
    rig_factory: RigFactory, fake: FakeBotAPI
) -> None:
    rig = await rig_factory(TELEGRAM_RATE_PER_SECOND="100")
    chats = list(range(7001, 7051))
    # Telegram's side: at most 4 a second in one chat, 150 a second overall, and two floods on top.
    fake.limits = Limits(per_chat_per_second=4, per_chat_burst=4, global_per_second=150, retry_after=1)
    fake.flood(7003, 2)
    fake.flood(None, 1)
    ids = await enqueue(rig, [(chat, f"flood {chat} {n:02d}") for n in range(10) for chat in chats])
    assert len(ids) == 500

    await fake.wait_until(lambda: len(fake.sent) >= 500, 60)
    await asyncio.sleep(0.5)
    texts = Counter(m.text for m in fake.sent)
    assert len(texts) == 500 and set(texts.values()) == {1}  # every one, none twice
    assert fake.violations == []  # nothing arrived inside a retry_after window
    assert len(fake.windows) >= 2  # and there were 429s to respect
    refused = [c for c in fake.calls_of("sendMessage") if c.status == 429]
    assert refused
    for chat in chats:  # in order within each chat
        numbers = [int(m.text.split()[-1]) for m in fake.sent_to(chat)]
        assert numbers == list(range(10))

    async def all_sent() -> bool:
        return set((await statuses(rig, ids)).values()) == {"sent"}

    for _ in range(50):
        if await all_sent():
            break
        await asyncio.sleep(0.1)
    assert await all_sent()


async def test_a_blocked_chat_is_marked_unreachable_and_not_retried(rig: Rig, fake: FakeBotAPI) -> None:
    user = fake.user(7100)
    await step(user, lambda: user.text("/start"))
    fake.blocked.add(7100)
    blocked_at = len(fake.calls)
    first = await enqueue(rig, [(7100, "important")])
    later = await enqueue(rig, [(7100, f"news {n}") for n in range(3)], essential=False, delay=1.5)
    other = await enqueue(rig, [(7101, "for someone else")])

    await fake.wait_until(lambda: any(c.chat_id == 7100 and c.status == 403 for c in fake.calls), 10)
    await fake.wait_messages(7101, 1)
    await asyncio.sleep(3.0)  # past the later rows' not_before, and more than a back-off
    attempts = [c for c in fake.calls[blocked_at:] if c.chat_id == 7100]
    assert [(c.method, c.status) for c in attempts] == [("sendmessage", 403)]  # the first try, and no retry
    found = await statuses(rig, first + later + other)
    assert found[first[0]] == "unreachable"
    assert {found[i] for i in later} == {"dropped"}
    assert found[other[0]] == "sent"
    async with rig.db.reading() as uow:
        identity = (
            await uow.session.execute(select(ChatIdentity).where(ChatIdentity.external_id == "7100"))
        ).scalar_one()
    assert identity.unreachable_at is not None


async def test_a_long_text_is_split_under_4096_and_escaped(rig: Rig, fake: FakeBotAPI) -> None:
    paragraph = "第一条 <规定> & “引号” 😀 " * 40
    text = "\n\n".join(f"{n}. {paragraph}" for n in range(12))
    assert len(text) > 8000
    await enqueue(rig, [(7200, text)])
    await fake.wait_messages(7200, 3, within=15)
    await asyncio.sleep(1.5)
    parts = fake.sent_to(7200)
    assert len(parts) >= 3
    assert all(utf16_len(p.text) <= 4096 for p in parts)
    assert all("&lt;规定&gt; &amp;" in p.raw for p in parts)
    assert re.sub(r"\s", "", "".join(p.text for p in parts)) == re.sub(r"\s", "", text)
