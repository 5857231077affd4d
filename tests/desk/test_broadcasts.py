"""Broadcasts and subscriptions on real SQLite and PostgreSQL: opt-in only, the two-person rule, cancel, quiet hours,
the daily cap, one-tap unsubscribe, blocked chats unsubscribed, resumable fan-out with nobody served twice, and the
author's one progress message edited in place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from bot.channels.webchat.live import Hub, WebChatTransport
from bot.sender import OutboxSender
from handlers.conversation.outbox import PRIORITY_BROADCAST
from handlers.conversation.turn import Rules
from handlers.delivery import Delivery, Outcome, Sent, Unreachable, claim, mark_started
from handlers.outreach.fanout import Broadcaster
from handlers.outreach.rules import OutreachRules
from storage.models import (
    Broadcast,
    BroadcastDelivery,
    ChatIdentity,
    Officer,
    OutboxMessage,
    Person,
    Subscription,
)
from storage.repositories.broadcasts import UNCERTAIN
from storage.uow import Database
from tests.conftest import Chat, DeskDriver, FakeClock, buttons

TEXT_ZH = "警惕冒充公检法诈骗：公安机关不会通过电话办案，更不会要求转账到“安全账户”。"
TEXT_EN = "Beware of fraudsters posing as police: the police never ask you to move money to a 'safe account'."


# ---- helpers


async def make_admin(driver: DeskDriver, chat_id: str, name: str, role: str = "admin") -> Chat:
    chat = driver.chat(chat_id)
    await driver.say(chat, "/start")
    now = driver.desk.clock()
    async with driver.db() as uow:
        identity = await uow.people.identity(chat.channel, chat.chat_id)
        assert identity is not None
        unit = await uow.units.by_code("city-intake")
        if unit is None:
            unit = await uow.units.upsert(
                {"code": "city-intake", "kind": "petition", "name_zh": "市诉求中心", "name_en": "City intake"}
            )
        await uow.officers.add(
            Officer(person_id=identity.person_id, unit_id=unit.id, role=role, name=name, active=True, created_at=now)
        )
        await uow.commit()
    return chat


async def subscriber(driver: DeskDriver, chat_id: str, *topics: str, county: str | None = None) -> Chat:
    chat = driver.chat(chat_id)
    for topic in topics:
        await driver.press(chat, f"sub:t:{topic}")
    if county:
        await driver.press(chat, f"sub:c:{county}")
    return chat


async def bulk_subscribers(db: Database, count: int, topic: str, now: datetime, prefix: str = "bulk") -> list[str]:
    """Many subscribers at once, written directly: the chat flow for each is proven elsewhere."""
    async with db() as uow:
        people = (
            await uow.session.execute(
                insert(Person).returning(Person.id),
                [{"locale": "zh_CN", "created_at": now, "consent_declined": False} for _ in range(count)],
            )
        ).scalars()
        ids = sorted(int(p) for p in people)
        chats = [f"{prefix}{n}" for n in range(count)]
        await uow.session.execute(
            insert(ChatIdentity),
            [
                {"person_id": p, "channel": "webchat", "external_id": c, "created_at": now, "last_seen_at": now}
                for p, c in zip(ids, chats, strict=True)
            ],
        )
        await uow.session.execute(
            insert(Subscription), [{"person_id": p, "topic": topic, "created_at": now} for p in ids]
        )
        await uow.commit()
    return chats


async def compose(
    driver: DeskDriver,
    admin: Chat,
    *,
    topic: str = "anti_fraud",
    county: str = "all",
    english: str | None = None,
    at: str | None = None,
) -> tuple[int, list[Any]]:
    await driver.say(admin, "/broadcast")
    await driver.press(admin, topic)
    await driver.press(admin, county)
    await driver.say(admin, TEXT_ZH)
    await (driver.say(admin, english) if english else driver.press(admin, "nav:skip"))
    await driver.press(admin, "nav:skip")  # no image
    if at is None:
        await driver.press(admin, "now")
    else:
        await driver.press(admin, "later")
        await driver.say(admin, at)
    replies = await driver.press(admin, "nav:submit")
    request = [b for b in buttons(replies[-1]) if b.startswith("bc:request:")]
    assert request, replies[-1].text
    return int(request[0].rsplit(":", 1)[1]), replies


async def approved(driver: DeskDriver, author: Chat, second: Chat, **kw: Any) -> int:
    broadcast_id, _ = await compose(driver, author, **kw)
    await driver.press(author, f"bc:request:{broadcast_id}")
    await driver.press(second, f"bc:approve:{broadcast_id}")
    return broadcast_id


async def status_of(db: Database, broadcast_id: int) -> str:
    async with db.reading() as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        assert broadcast is not None
        return broadcast.status


async def broadcast_rows(db: Database, broadcast_id: int | None = None) -> Sequence[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
    if broadcast_id is not None:
        stmt = stmt.where(OutboxMessage.broadcast_id == broadcast_id)
    async with db.reading() as uow:
        return (await uow.session.execute(stmt.order_by(OutboxMessage.id))).scalars().all()


def broadcaster(driver: DeskDriver, **rules: Any) -> Broadcaster:
    return Broadcaster(driver.db, driver.translator, Rules(), OutreachRules(**rules), driver.desk.clock)


class Platform:
    """Stands in for a messaging platform where some users blocked the bot (Telegram answers those with 403)."""

    channel = "webchat"
    batch_size = 500

    def __init__(self, blocked: Sequence[str] = ()) -> None:
        self.blocked = set(blocked)
        self.received: list[Delivery] = []

    async def deliver(self, batch: Sequence[Delivery], started: object = None) -> list[tuple[int, Outcome]]:
        results: list[tuple[int, Outcome]] = []
        for delivery in batch:
            if delivery.recipient in self.blocked:
                results.append((delivery.id, Unreachable("403 Forbidden: bot was blocked by the user")))
            else:
                self.received.append(delivery)
                results.append((delivery.id, Sent(platform_id=str(delivery.id))))
        return results

    def busy_recipients(self) -> Sequence[str]:
        return ()


async def drain(db: Database, clock: FakeClock, platform: Any) -> int:
    sender = OutboxSender(db, [platform], clock=clock)
    total = 0
    while sent := await sender.drain_once(platform):
        total += sent
    return total


# ---- subscriptions


async def test_nobody_is_broadcast_to_without_opting_in(driver: DeskDriver) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    fan = await subscriber(driver, "fan", "anti_fraud")
    await subscriber(driver, "other", "labour")
    bystander = driver.chat("bystander")
    await driver.agree(bystander)  # agreed to the privacy notice, never subscribed
    broadcast_id = await approved(driver, a1, a2)
    await broadcaster(driver).tick()
    rows = await broadcast_rows(driver.db, broadcast_id)
    assert [r.recipient for r in rows] == [fan.chat_id]
    assert rows[0].priority == PRIORITY_BROADCAST and rows[0].essential is False
    assert rows[0].payload["text"] == TEXT_ZH
    assert [b["data"] for row in rows[0].payload["buttons"] for b in row] == ["sub:off:anti_fraud"]


async def test_one_tap_unsubscribe_stops_the_next_broadcast(driver: DeskDriver) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    fan = await subscriber(driver, "fan", "anti_fraud", "traffic")
    first = await approved(driver, a1, a2)
    await broadcaster(driver).tick()
    assert len(await broadcast_rows(driver.db, first)) == 1
    done = (await driver.press(fan, "sub:off:anti_fraud"))[-1]  # the button under the broadcast, one tap
    assert done.text == driver.t("zh_CN", "subscribe.unsubscribed", topic=driver.t("zh_CN", "topic.anti_fraud"))
    second = await approved(driver, a1, a2)
    await broadcaster(driver).tick()
    assert await broadcast_rows(driver.db, second) == []
    async with driver.db.reading() as uow:
        person = await uow.subscriptions.person_of_chat("webchat", "fan")
        assert person is not None and await uow.subscriptions.topics_of(person) == {"traffic"}


async def test_a_citizen_who_blocked_the_bot_is_unsubscribed(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await subscriber(driver, "keeps", "anti_fraud")
    await subscriber(driver, "blocks", "anti_fraud", "family")
    broadcast_id = await approved(driver, a1, a2)
    machine = broadcaster(driver)
    await machine.tick()
    platform = Platform(blocked=["blocks"])
    await drain(driver.db, clock, platform)
    async with driver.db.reading() as uow:
        blocked = await uow.subscriptions.person_of_chat("webchat", "blocks")
        kept = await uow.subscriptions.person_of_chat("webchat", "keeps")
        assert blocked is not None and kept is not None
        assert await uow.subscriptions.topics_of(blocked) == set()
        assert await uow.subscriptions.topics_of(kept) == {"anti_fraud"}
    await machine.tick()
    assert await status_of(driver.db, broadcast_id) == "done"
    report = (await driver.replies(a1))[-1].text
    assert report == driver.t(
        "zh_CN",
        "broadcast.final",
        id=broadcast_id,
        topic=driver.t("zh_CN", "topic.anti_fraud"),
        sent=1,
        failed=0,
        blocked=1,
        withdrawn=0,
        minutes=0,
        seconds=0,
    )


# ---- composing and approving


async def test_compose_shows_preview_and_count_and_needs_a_second_admin(driver: DeskDriver) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    for n in range(3):
        await subscriber(driver, f"fan{n}", "anti_fraud")
    citizen = driver.chat("citizen")
    refused = (await driver.say(citizen, "/broadcast"))[-1]
    assert refused.text.startswith(driver.t("zh_CN", "broadcast.not_admin"))

    broadcast_id, preview = await compose(driver, a1, english=TEXT_EN)
    assert [r.text for r in preview[1:3]] == [TEXT_ZH, TEXT_EN]  # as each language's subscribers will see it
    assert "sub:off:anti_fraud" in buttons(preview[1])
    assert "3" in preview[-1].text and driver.t("zh_CN", "broadcast.when_now") in preview[-1].text
    assert await status_of(driver.db, broadcast_id) == "draft"

    own = (await driver.press(a1, f"bc:approve:{broadcast_id}"))[-1]
    assert own.text == driver.t("zh_CN", "broadcast.two_person", id=broadcast_id)
    asked = (await driver.press(a1, f"bc:request:{broadcast_id}"))[-1]
    assert asked.text == driver.t("zh_CN", "broadcast.requested", id=broadcast_id, count=1)
    request = (await driver.replies(a2))[-1]
    assert TEXT_ZH in request.text and "张管理" in request.text
    assert f"bc:approve:{broadcast_id}" in buttons(request)

    again = (await driver.press(a1, f"bc:approve:{broadcast_id}"))[-1]
    assert again.text == driver.t("zh_CN", "broadcast.two_person", id=broadcast_id)
    stranger = (await driver.press(citizen, f"bc:approve:{broadcast_id}"))[-1]
    assert stranger.text.startswith(driver.t("zh_CN", "input.stale_button"))
    await broadcaster(driver).tick()
    assert await status_of(driver.db, broadcast_id) == "awaiting_approval"
    assert await broadcast_rows(driver.db) == []  # nothing queued before the second admin approves

    await driver.press(a2, f"bc:approve:{broadcast_id}")
    assert await status_of(driver.db, broadcast_id) == "scheduled"
    assert (await driver.replies(a1))[-1].text == driver.t("zh_CN", "broadcast.approved_author", id=broadcast_id)
    await broadcaster(driver).tick()
    assert len(await broadcast_rows(driver.db, broadcast_id)) == 3


async def test_a_rejected_broadcast_never_goes_out(driver: DeskDriver) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await subscriber(driver, "fan", "anti_fraud")
    broadcast_id, _ = await compose(driver, a1)
    await driver.press(a1, f"bc:request:{broadcast_id}")
    await driver.press(a2, f"bc:reject:{broadcast_id}")
    late = (await driver.press(a2, f"bc:approve:{broadcast_id}"))[-1]
    rejected = driver.t("zh_CN", "broadcast.status.rejected")
    assert late.text == driver.t("zh_CN", "broadcast.already", id=broadcast_id, status=rejected)
    await broadcaster(driver).tick()
    assert await status_of(driver.db, broadcast_id) == "rejected"
    assert await broadcast_rows(driver.db) == []


async def test_the_author_cancels_before_and_while_sending(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await bulk_subscribers(driver.db, 10, "anti_fraud", clock())
    scheduled = await approved(driver, a1, a2, at="2026-11-27 15:00")
    other = (await driver.press(a2, f"bc:cancel:{scheduled}"))[-1]
    assert other.text == driver.t("zh_CN", "broadcast.not_yours", id=scheduled)
    cancelled = (await driver.press(a1, f"bc:cancel:{scheduled}"))[-1]
    assert cancelled.text == driver.t("zh_CN", "broadcast.cancelled", id=scheduled, withdrawn=0)
    clock.advance(hours=6)
    machine = broadcaster(driver, batch_size=4)
    await machine.tick()
    assert await broadcast_rows(driver.db, scheduled) == []

    sending = await approved(driver, a1, a2)
    await machine.tick(max_batches=1)
    assert len(await broadcast_rows(driver.db, sending)) == 4
    stopped = (await driver.press(a1, f"bc:cancel:{sending}"))[-1]
    assert stopped.text == driver.t("zh_CN", "broadcast.cancelled", id=sending, withdrawn=4)
    await machine.tick()
    rows = await broadcast_rows(driver.db, sending)
    assert len(rows) == 4 and {r.status for r in rows} == {"cancelled"}
    await drain(driver.db, clock, Platform())
    assert {r.status for r in await broadcast_rows(driver.db, sending)} == {"cancelled"}
    final = (await driver.replies(a1))[-1].text
    topic = driver.t("zh_CN", "topic.anti_fraud")
    assert final == driver.t(
        "zh_CN",
        "broadcast.final_cancelled",
        id=sending,
        topic=topic,
        sent=0,
        failed=0,
        blocked=0,
        withdrawn=4,
        minutes=0,
        seconds=0,
    )
    done = (await driver.press(a1, f"bc:cancel:{sending}"))[-1]
    status = driver.t("zh_CN", "broadcast.status.cancelled")
    assert done.text == driver.t("zh_CN", "broadcast.already", id=sending, status=status)


# ---- delivering


async def test_quiet_hours_hold_broadcasts_until_eight(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await subscriber(driver, "fan", "anti_fraud")
    clock.now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 22:00 in Hanzhong
    night = await approved(driver, a1, a2)
    machine = broadcaster(driver)
    await machine.tick()
    morning = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 08:00 the next day
    assert [r.not_before for r in await broadcast_rows(driver.db, night)] == [morning]
    platform = Platform()
    clock.now = datetime(2026, 11, 27, 23, 59, tzinfo=UTC)  # 07:59
    await drain(driver.db, clock, platform)
    assert [d.kind for d in platform.received if d.kind == "broadcast"] == []
    clock.now = morning
    await drain(driver.db, clock, platform)
    assert [d.kind for d in platform.received if d.kind == "broadcast"] == ["broadcast"]

    # Queued at 20:59 but not sent by 21:00: the next tick holds it until the morning.
    clock.now = datetime(2026, 11, 28, 12, 59, tzinfo=UTC)
    evening = await approved(driver, a1, a2, topic="anti_fraud")
    await machine.tick()
    assert [r.not_before for r in await broadcast_rows(driver.db, evening)] == [clock.now]
    clock.advance(minutes=1)
    await machine.tick()
    assert [r.not_before for r in await broadcast_rows(driver.db, evening)] == [morning + timedelta(days=1)]


async def test_daily_cap_moves_the_third_broadcast_to_the_next_morning(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await subscriber(driver, "fan", "anti_fraud", "labour", "traffic")
    machine = broadcaster(driver, daily_cap=2)
    ids = []
    for topic in ("anti_fraud", "labour", "traffic"):
        ids.append(await approved(driver, a1, a2, topic=topic))
        await machine.tick()
    leave = [(await broadcast_rows(driver.db, i))[0].not_before for i in ids]
    assert leave[0] == leave[1] == clock.now
    assert leave[2] == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 08:00 the next day
    async with driver.db.reading() as uow:
        days = (await uow.session.execute(select(BroadcastDelivery.day).order_by(BroadcastDelivery.broadcast_id))).all()
    assert [d for (d,) in days] == ["2026-11-27", "2026-11-27", "2026-11-28"]
    clock.advance(seconds=11)
    await machine.tick()  # progress is due: the author learns that one waits for the morning
    progress = await driver.replies(a1)
    assert any(driver.t("zh_CN", "broadcast.progress_later", later=1) in r.text for r in progress)


async def test_citizen_replies_overtake_a_big_broadcast(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await bulk_subscribers(driver.db, 300, "anti_fraud", clock())
    await approved(driver, a1, a2)
    await drain(driver.db, clock, Platform())  # what the admins were told is out of the way
    await broadcaster(driver).tick()
    citizen = driver.chat("asks")
    await driver.say(citizen, "/start")
    first = await claim(driver.db, "webchat", clock(), 1)
    assert [(d.recipient, d.kind) for d in first] == [("asks", "reply")]


async def test_fan_out_resumes_after_a_crash_and_serves_nobody_twice(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    chats = await bulk_subscribers(driver.db, 1200, "anti_fraud", clock())
    broadcast_id = await approved(driver, a1, a2)

    class CrashingBroadcaster(Broadcaster):
        batches = 0

        async def _plan(self, uow: Any, people: list[int], now: datetime) -> Any:
            CrashingBroadcaster.batches += 1
            if CrashingBroadcaster.batches == 2:
                raise ConnectionError("the process died in the middle of a batch")
            return await super()._plan(uow, people, now)

    crashing = CrashingBroadcaster(driver.db, driver.translator, Rules(), OutreachRules(batch_size=500), clock)
    with pytest.raises(ConnectionError):
        await crashing.tick()
    assert len(await broadcast_rows(driver.db, broadcast_id)) == 500  # the first batch committed, the second not

    # Even a cursor thrown back to the start (worse than any crash) queues nobody twice.
    async with driver.db() as uow:
        broadcast = await uow.broadcasts.get_for_update(broadcast_id)
        assert broadcast is not None
        broadcast.fanout_cursor = 0
        await uow.commit()
    await broadcaster(driver, batch_size=500).tick()
    rows = await broadcast_rows(driver.db, broadcast_id)
    recipients = [r.recipient for r in rows]
    assert len(recipients) == len(set(recipients)) == 1200 and set(recipients) == set(chats)
    async with driver.db.reading() as uow:
        count = (await uow.session.execute(select(func.count()).select_from(BroadcastDelivery))).scalar_one()
        broadcast = await uow.broadcasts.get(broadcast_id)
    assert count == 1200 and broadcast is not None and broadcast.fanned_out_at is not None


async def test_progress_is_one_message_edited_in_place(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await bulk_subscribers(driver.db, 40, "anti_fraud", clock())
    broadcast_id = await approved(driver, a1, a2)
    topic = driver.t("zh_CN", "topic.anti_fraud")
    machine = broadcaster(driver, batch_size=25, progress_every=timedelta(seconds=10))
    before = len(await driver.replies(a1))
    await machine.tick(max_batches=1)
    start = (await driver.replies(a1))[before:]
    assert [r.text for r in start] == [
        driver.t("zh_CN", "broadcast.progress_start", id=broadcast_id, topic=topic, count=40)
    ]
    transport = WebChatTransport(Hub())
    await drain(driver.db, clock, transport)  # the progress message and the first 25 go out
    clock.advance(seconds=11)
    await machine.tick(max_batches=1)
    clock.advance(seconds=11)
    await machine.tick(max_batches=0)  # the edit is not sent yet: it is rewritten, not followed by another
    async with driver.db.reading() as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        assert broadcast is not None and broadcast.progress_outbox_id is not None
        original = await uow.outbox.get(broadcast.progress_outbox_id)
        assert original is not None
        edits = (
            (
                await uow.session.execute(
                    select(OutboxMessage).where(OutboxMessage.kind == "progress", OutboxMessage.id != original.id)
                )
            )
            .scalars()
            .all()
        )
    assert original.status == "sent"
    assert len(edits) == 1 and edits[0].payload["edit_of"] == original.id
    counts = driver.t("zh_CN", "broadcast.progress_counts", sent=25, failed=0, blocked=0, remaining=15)
    assert counts in edits[0].payload["text"]
    await drain(driver.db, clock, transport)
    clock.advance(seconds=11)
    await machine.tick()
    await drain(driver.db, clock, transport)
    await machine.tick()
    assert await status_of(driver.db, broadcast_id) == "done"
    final = driver.t(
        "zh_CN",
        "broadcast.final",
        id=broadcast_id,
        topic=topic,
        sent=40,
        failed=0,
        blocked=0,
        withdrawn=0,
        minutes=0,
        seconds=33,
    )
    assert (await driver.replies(a1))[-1].text == final  # and a final report, as a new message
    async with driver.db.reading() as uow:
        progress_rows = (
            (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "progress"))).scalars().all()
        )
    assert sum(1 for r in progress_rows if "edit_of" not in r.payload) == 1  # one message, the rest its edits
    assert all(r.payload.get("edit_of") in (None, original.id) for r in progress_rows)
    assert (
        driver.t("zh_CN", "broadcast.progress_done", id=broadcast_id, topic=topic) in progress_rows[-1].payload["text"]
    )


async def test_scheduled_broadcast_waits_for_its_time(driver: DeskDriver, clock: FakeClock) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await subscriber(driver, "fan", "anti_fraud")
    bad = await driver.say(a1, "/broadcast")
    assert bad
    await driver.say(a1, "/cancel")
    broadcast_id = await approved(driver, a1, a2, at="15:30")
    machine = broadcaster(driver)
    await machine.tick()
    assert await broadcast_rows(driver.db, broadcast_id) == []
    clock.now = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)  # 15:30 in Hanzhong
    await machine.tick()
    assert len(await broadcast_rows(driver.db, broadcast_id)) == 1
    async with driver.db.reading() as uow:
        row = await uow.broadcasts.get(broadcast_id)
    assert isinstance(row, Broadcast) and row.status == "sending"


async def test_a_time_in_the_past_is_refused_and_asked_again(driver: DeskDriver) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    await driver.say(a1, "/broadcast")
    await driver.press(a1, "anti_fraud")
    await driver.press(a1, "all")
    await driver.say(a1, TEXT_ZH)
    await driver.press(a1, "nav:skip")
    await driver.press(a1, "nav:skip")
    await driver.press(a1, "later")
    past = (await driver.say(a1, "2026-11-26 09:00"))[-1]
    assert past.text.startswith(driver.t("zh_CN", "input.moment_past"))
    nonsense = (await driver.say(a1, "下周吧"))[-1]
    assert nonsense.text.startswith(driver.t("zh_CN", "input.moment_invalid"))
    summary = (await driver.say(a1, "2026-11-28 09:30"))[-1]
    assert "2026-11-28 09:30" in summary.text and TEXT_ZH in summary.text


async def test_rows_in_flight_when_the_sender_died_are_never_sent_again(driver: DeskDriver, clock: FakeClock) -> None:
    """Of a claim cut short by a crash, the broadcast rows whose requests had started are given up (the platform may
    have them); the rows claimed but never started are sent after all, like everything else."""
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    await bulk_subscribers(driver.db, 5, "anti_fraud", clock())
    await subscriber(driver, "asks", "labour")
    broadcast_id = await approved(driver, a1, a2)
    await drain(driver.db, clock, Platform())
    await broadcaster(driver).tick()
    taken = await claim(driver.db, "webchat", clock(), 100)  # claimed, then the process is killed: never settled
    assert {d.kind for d in taken} >= {"broadcast", "progress"}
    on_their_way = [d.id for d in taken if d.kind == "broadcast"][:2]
    await mark_started(driver.db, on_their_way, clock)
    await driver.say(driver.chat("asks"), "/menu")
    clock.advance(seconds=61)  # the lease runs out
    again = await claim(driver.db, "webchat", clock(), 100)
    again_broadcast = {d.id for d in again if d.kind == "broadcast"}
    assert again_broadcast == {d.id for d in taken if d.kind == "broadcast"} - set(on_their_way)  # never started
    assert {d.kind for d in again} >= {"progress", "reply"}  # everything else is sent again (at least once)
    rows = {r.id: r for r in await broadcast_rows(driver.db, broadcast_id)}
    assert {(rows[i].status, rows[i].last_error) for i in on_their_way} == {("failed", UNCERTAIN)}
    assert {rows[i].status for i in again_broadcast} == {"sending"}


async def test_an_image_goes_only_to_chats_of_the_platform_it_came_from(driver: DeskDriver) -> None:
    a1 = await make_admin(driver, "a1", "张管理")
    a2 = await make_admin(driver, "a2", "李管理")
    web = await subscriber(driver, "web-fan", "anti_fraud")
    telegram = driver.chat("4242", channel="telegram")
    await driver.press(telegram, "sub:t:anti_fraud")
    await driver.say(a1, "/broadcast")
    await driver.press(a1, "anti_fraud")
    await driver.press(a1, "all")
    await driver.say(a1, TEXT_ZH)
    await driver.press(a1, "nav:skip")
    await driver.photo(a1, ref="upload-7f3a")  # a web chat upload id means nothing to Telegram
    await driver.press(a1, "done")
    await driver.press(a1, "now")
    preview = await driver.press(a1, "nav:submit")
    assert preview[1].photo == "upload-7f3a"
    broadcast_id = int(next(b for b in buttons(preview[-1]) if b.startswith("bc:request:")).rsplit(":", 1)[1])
    await driver.press(a1, f"bc:request:{broadcast_id}")
    await driver.press(a2, f"bc:approve:{broadcast_id}")
    await broadcaster(driver).tick()
    photos = {r.recipient: r.payload.get("photo") for r in await broadcast_rows(driver.db, broadcast_id)}
    assert photos == {web.chat_id: "upload-7f3a", telegram.chat_id: None}
