"""Two officers press Claim on the same ticket at the same moment, through two desks on two connection pools to
PostgreSQL, a hundred times: exactly one wins each time, and the other is told who has it."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Incoming, Reply
from handlers.desk import Desk
from storage.crypto import FieldCipher
from storage.models import Ticket, TicketEvent
from storage.uow import Database
from tests.conftest import TEST_SECRET, DeskDriver, FakeClock, open_db
from tests.support.officer_world import join, load_demo, officer_of, plant_ticket

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUNDS = 100
BATCH = 10


async def test_a_hundred_simultaneous_claims_each_have_exactly_one_winner(
    pg_url: str, translator: Translator, clock: FakeClock
) -> None:
    first_db = await open_db(pg_url)
    second_db = Database(pg_url, FieldCipher.from_secret(TEST_SECRET))  # its own engine and pool: another process
    desks = [Desk(first_db, translator, driver_rules(), clock), Desk(second_db, translator, driver_rules(), clock)]
    driver = DeskDriver(desks[0], first_db, translator)
    try:
        await load_demo(driver)
        a1 = await join(driver, "racer-1", "hantai-justice", "officer", "甲")
        a2 = await join(driver, "racer-2", "hantai-justice", "officer", "乙")
        names = {(await officer_of(driver, a1)).id: "甲", (await officer_of(driver, a2)).id: "乙"}
        citizen = driver.chat("citizen")
        await driver.agree(citizen)
        tickets = [await plant_ticket(driver, citizen, "hantai-justice") for _ in range(ROUNDS)]

        async def race(round_: int, ticket: Ticket) -> None:
            presses = [
                Incoming(
                    channel="webchat",
                    chat_id=chat.chat_id,
                    update_key=f"race-{round_}-{i}",
                    choice=f"t:claim:{ticket.id}",
                )
                for i, chat in enumerate((a1, a2))
            ]
            order = (0, 1) if round_ % 2 else (1, 0)  # either desk may start first
            await asyncio.gather(*(desks[i].handle(presses[i]) for i in order))

        # Ten tickets at a time, each pressed by both officers at once through the two desks.
        for start in range(0, ROUNDS, BATCH):
            await asyncio.gather(*(race(start + i, t) for i, t in enumerate(tickets[start : start + BATCH])))

        async with first_db.reading() as uow:
            claimed_events = Counter(
                (
                    await uow.session.execute(select(TicketEvent.ticket_id).where(TicketEvent.action == "claimed"))
                ).scalars()
            )
            rows = {t.id: t for t in (await uow.session.execute(select(Ticket))).scalars()}
            transcripts = {
                chat.chat_id: [
                    Reply.from_payload(uow.outbox.open(r.payload)).text
                    for r in await uow.outbox.transcript("webchat", chat.chat_id, 0, 100_000)
                ]
                for chat in (a1, a2)
            }
        winners: Counter[str] = Counter()
        for ticket in tickets:
            claimed = rows[ticket.id]
            assert claimed.status == "claimed" and claimed_events[ticket.id] == 1, ticket.number
            winner = names[claimed.officer_id or 0]
            winners[winner] += 1
            loser_chat, winner_chat = (a2, a1) if winner == "甲" else (a1, a2)
            taken = translator("zh_CN", "desk.claim.taken", number=ticket.number, by=winner)
            won = translator("zh_CN", "desk.claim.won", number=ticket.number)
            assert transcripts[loser_chat.chat_id].count(taken) == 1, ticket.number
            assert not any(text.startswith(won) for text in transcripts[loser_chat.chat_id]), ticket.number
            assert sum(text.startswith(won) for text in transcripts[winner_chat.chat_id]) == 1, ticket.number

        assert sum(winners.values()) == ROUNDS
        async with first_db.reading() as uow:
            claimed_total = (
                await uow.session.execute(
                    select(func.count()).select_from(Ticket).where(Ticket.officer_id.is_not(None))
                )
            ).scalar_one()
        assert claimed_total == ROUNDS
        print(f"claim race winners over {ROUNDS} rounds: {dict(winners)}")
    finally:
        await second_db.dispose()
        await first_db.dispose()


def driver_rules():  # type: ignore[no-untyped-def]
    from handlers.conversation.turn import Rules

    return Rules()
