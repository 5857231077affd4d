"""Replies to the chat that just wrote are taken inside the turn's transaction and sent at once — never ahead of an
earlier unsent row of that chat — and their outcomes are settled like the sender loop's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from bot.sender import OutboxSender
from handlers.conversation.messages import Incoming, Reply
from handlers.delivery import LEASE, Delivery, Failed, Outcome, Sent
from storage.models import OutboxMessage
from tests.conftest import DeskDriver, FakeClock


class Recorder:
    """A transport that records what it was handed and answers with a chosen outcome."""

    channel = "telegram"
    batch_size = 10

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.batches: list[list[int]] = []

    async def deliver(self, batch: Sequence[Delivery], started: object = None) -> list[tuple[int, Outcome]]:
        self.batches.append([d.id for d in batch])
        return [(d.id, self.outcome) for d in batch]

    def busy_recipients(self) -> Sequence[str]:
        return []


def start(chat: str, key: str) -> Incoming:
    return Incoming(channel="telegram", chat_id=chat, update_key=key, language="zh-CN", text="/start")


async def outbox(driver: DeskDriver, chat: str) -> list[OutboxMessage]:
    async with driver.db.reading() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.recipient == chat).order_by(OutboxMessage.id)
        return list((await uow.session.execute(stmt)).scalars())


async def test_the_writers_replies_are_taken_in_the_turn(driver: DeskDriver, clock: FakeClock) -> None:
    handled = await driver.desk.handle(start("t1", "k1"), send_now=True)
    rows = await outbox(driver, "t1")
    assert len(rows) >= 2  # welcome and the privacy notice
    assert [d.id for d in handled.taken] == [r.id for r in rows]
    assert all(r.status == "sending" and r.attempts == 1 for r in rows)
    lease_ends = (clock() + LEASE).replace(tzinfo=None)
    assert all(r.lease_until is not None and r.lease_until.replace(tzinfo=None) == lease_ends for r in rows)
    assert [Reply.from_payload(d.payload).text for d in handled.taken] == [
        Reply.from_payload(r.payload).text for r in rows
    ]
    assert handled.left_for_sender == set()

    plain = await driver.desk.handle(start("t2", "k2"))  # a channel that does not send at once
    assert plain.taken == [] and plain.left_for_sender == {"telegram"}
    assert {r.status for r in await outbox(driver, "t2")} == {"pending"}


async def test_nothing_overtakes_an_earlier_unsent_row(driver: DeskDriver, clock: FakeClock) -> None:
    await driver.desk.handle(start("t3", "k1"))
    async with driver.db() as uow:  # the chat's earlier message waits out a 429
        for row in (await uow.session.execute(select(OutboxMessage))).scalars():
            row.not_before = clock() + timedelta(seconds=30)
        await uow.commit()
    handled = await driver.desk.handle(
        Incoming(channel="telegram", chat_id="t3", update_key="k2", language="zh-CN", text="/menu"), send_now=True
    )
    assert handled.taken == [] and handled.left_for_sender == {"telegram"}
    assert {r.status for r in await outbox(driver, "t3")} == {"pending"}


async def test_a_less_urgent_held_row_does_not_hold_a_reply_back(driver: DeskDriver, clock: FakeClock) -> None:
    """An officer's alert waiting out their quiet hours, or a broadcast, is not a reply the new one could overtake."""
    await driver.desk.handle(start("t6", "k1"))
    async with driver.db() as uow:
        for row in (await uow.session.execute(select(OutboxMessage))).scalars():
            row.status = "sent"
        await uow.outbox.enqueue(
            OutboxMessage(channel="telegram", recipient="t6", payload=Reply(text="alert").to_payload(), priority=5,
                          essential=True, kind="alert", status="pending", attempts=0,
                          not_before=clock() + timedelta(hours=9), created_at=clock())
        )  # fmt: skip
        await uow.commit()
    handled = await driver.desk.handle(
        Incoming(channel="telegram", chat_id="t6", update_key="k2", language="zh-CN", text="/menu"), send_now=True
    )
    assert handled.taken and all(d.kind == "reply" for d in handled.taken)


async def test_taken_rows_are_settled_by_the_sender(driver: DeskDriver, clock: FakeClock) -> None:
    sent, refused = Recorder(Sent("m1")), Recorder(Failed("503"))
    for recorder, chat in ((sent, "t4"), (refused, "t5")):
        sender = OutboxSender(driver.db, [recorder], clock=clock)
        handled = await driver.desk.handle(start(chat, f"k-{chat}"), send_now=True)
        assert handled.taken
        sender.send_now("telegram", handled.taken)
        await sender.stop()  # waits for the sends in flight and their settling
        assert recorder.batches == [[d.id for d in handled.taken]]
    assert {(r.status, r.platform_message_id) for r in await outbox(driver, "t4")} == {("sent", "m1")}
    retried = await outbox(driver, "t5")
    assert {r.status for r in retried} == {"pending"} and all(r.not_before > clock() for r in retried)
