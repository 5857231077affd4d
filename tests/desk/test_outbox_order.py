"""Two senders claiming at the same instant (two processes on one PostgreSQL): a chat's rows still go out in order.

A claim locks the rows it takes and another sender skips locked rows; until the first commits, its rows still look
'pending' to everyone else. A row behind one of them must not be taken by the second sender, or the two would send
a chat's second message beside its first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_ALERT, PRIORITY_REPLY, Outbox
from storage.uow import Database

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def queue(db: Database, rows: list[tuple[str, str, int]]) -> None:
    async with db() as uow:
        outbox = Outbox(uow, NOW)
        for chat, text, priority in rows:
            outbox.to_chat("telegram", chat, Reply(text=text), kind="alert", priority=priority, essential=True)
        await outbox.flush()
        await uow.commit()


def texts(rows: object) -> list[str]:
    return [r.payload["text"] for r in rows]  # type: ignore[attr-defined]


async def test_a_second_sender_skips_what_stands_behind_a_row_the_first_holds(db: Database) -> None:
    await queue(db, [("a", "a1", PRIORITY_ALERT), ("a", "a2", PRIORITY_ALERT), ("b", "b1", PRIORITY_ALERT)])
    if db.sqlite:  # one connection, one writer at a time: the second claim comes after the first commits
        async with db() as first:
            assert texts(await first.outbox.claim_due("telegram", NOW, 1, LEASE)) == ["a1"]
            await first.commit()
        async with db() as second:
            assert texts(await second.outbox.claim_due("telegram", NOW, 10, LEASE)) == ["b1"]
            await second.commit()
        return
    async with db() as first:
        assert texts(await first.outbox.claim_due("telegram", NOW, 1, LEASE)) == ["a1"]  # held, not yet committed
        async with db() as second:
            taken = await second.outbox.claim_due("telegram", NOW, 10, LEASE)
            assert texts(taken) == ["b1"]  # a2 waits for a1, which the first sender may be sending right now
            await second.commit()
        await first.commit()


async def test_one_claim_takes_a_chats_rows_together_in_order_and_urgent_ones_may_overtake(db: Database) -> None:
    await queue(
        db,
        [
            ("a", "a1", PRIORITY_ALERT),
            ("a", "a2", PRIORITY_ALERT),
            ("a", "a-reply", PRIORITY_REPLY),
            ("a", "a3", PRIORITY_ALERT),
            ("b", "b1", PRIORITY_ALERT),
        ],
    )
    async with db() as uow:
        taken = await uow.outbox.claim_due("telegram", NOW, 10, LEASE)
        await uow.commit()
    # most urgent first, then oldest; a chat's rows of one urgency keep their order
    assert texts(taken) == ["a-reply", "a1", "a2", "a3", "b1"]


async def test_a_limit_never_takes_a_row_without_the_earlier_one_it_must_not_overtake(db: Database) -> None:
    await queue(db, [("a", "a1", PRIORITY_ALERT), ("a", "a2", PRIORITY_ALERT), ("a", "a3", PRIORITY_ALERT)])
    async with db() as uow:
        assert texts(await uow.outbox.claim_due("telegram", NOW, 2, LEASE)) == ["a1", "a2"]
        await uow.commit()
    async with db() as uow:  # a1 and a2 are in flight: a3 waits for them
        assert texts(await uow.outbox.claim_due("telegram", NOW, 2, LEASE)) == []
        await uow.commit()
