"""The satisfaction callback (回访): asked after "resolved", answered with buttons; "partly" reopens the ticket and
alerts the unit's leader; silence for 7 days closes it as not rated; the three rates come out of the ratings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.conversation.i18n import Translator
from handlers.tickets.rates import three_rates
from storage.uow import Database
from tests.conftest import DeskDriver, FakeClock, buttons
from tests.support.followup_world import World, local, make_world


@pytest.fixture
async def world(db: Database, translator: Translator, clock: FakeClock) -> World:
    return await make_world(db, translator, clock)


async def resolved_ticket(world: World) -> int:
    ticket_id = await world.open()
    world.clock.advance(minutes=20)
    await world.move(ticket_id, "claimed", by=world.officer, assign=True)
    world.clock.now = local(2026, 11, 27, 23)  # the officer closes the case late on Friday
    await world.move(ticket_id, "resolved", by=world.officer)
    return ticket_id


async def test_partly_solved_reopens_the_ticket_alerts_the_leader_and_the_events_tell_the_story(
    world: World, driver: DeskDriver
) -> None:
    ticket_id = await resolved_ticket(world)
    await world.tick()
    asked = await world.inbox(world.citizen_chat)
    assert len(asked) == 1
    assert asked[0].not_before == local(2026, 11, 28, 8)  # not at 23:00: the citizen's night (21:00–08:00) is quiet too
    number = (await world.ticket(ticket_id)).number
    assert asked[0].payload["text"] == world.t("rate.ask_treatment", number=number)
    question = driver.translator  # the presses go through the real desk, as the citizen's chat would send them
    assert question is world.translator

    world.clock.now = local(2026, 11, 28, 8)
    chat = driver.chat(world.citizen_chat)
    stranger = driver.chat("someone-else")
    refused = await driver.press(stranger, f"rate:{ticket_id}:solved:no")
    assert refused[-1].text == world.t("rate.not_yours")
    solved = await driver.press(chat, f"rate:{ticket_id}:treat:4")
    assert buttons(solved[-1]) == [f"rate:{ticket_id}:solved:{a}" for a in ("yes", "partly", "no")]
    reopened = await driver.press(chat, f"rate:{ticket_id}:solved:partly")
    assert reopened[-1].text.startswith(world.t("rate.reopened", number=number))
    assert buttons(reopened[-1]) == [f"rate:{ticket_id}:comment:skip"]
    thanks = await driver.say(chat, "态度很好，但界桩还没挪回去")
    assert thanks[-1].text == world.t("rate.comment_thanks")
    again = await driver.press(chat, f"rate:{ticket_id}:solved:yes")  # an old button after the reopening
    assert again[-1].text == world.t("rate.closed", number=number)

    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.rating_treatment, ticket.rating_solved) == ("reopened", 4, "partly")
    leader = await world.texts("leader-1")
    kind = world.t("kind.dispute")
    alert = world.t(
        "rate.reopened_alert", name="李科长", number=number, kind=kind, answer=world.t("rate.solved.partly")
    )
    assert alert in leader
    assert any(text.startswith("⚠️ 王警官") for text in await world.texts("officer-1"))  # the officer who had it
    assert await world.events(ticket_id) == [
        "created",
        "claimed",
        "resolved",
        "satisfaction_asked",
        "rated_treatment",
        "rated_solved",
        "reopened",
        "leader_alerted",
        "rating_comment",
    ]
    async with world.db.reading() as uow:
        events = await uow.tickets.events(ticket_id)
    story = {e.action: e for e in events}
    assert (story["reopened"].from_status, story["reopened"].to_status, story["reopened"].note) == (
        "resolved",
        "reopened",
        "partly",
    )
    assert story["reopened"].actor_person_id == world.citizen_id
    assert story["rating_comment"].note == "态度很好，但界桩还没挪回去"
    rows = {(r.kind, r.status) for r in await world.rows(ticket_id)}
    assert ("satisfaction_timeout", "cancelled") in rows
    assert ("due_reminder", "pending") in rows and ("overdue_escalation", "pending") in rows  # back on the ladder


async def test_yes_closes_the_ticket_and_a_blank_comment_is_asked_again(world: World, driver: DeskDriver) -> None:
    ticket_id = await resolved_ticket(world)
    await world.tick()
    chat = driver.chat(world.citizen_chat)
    await driver.press(chat, f"rate:{ticket_id}:treat:5")
    closed = await driver.press(chat, f"rate:{ticket_id}:solved:yes")
    number = (await world.ticket(ticket_id)).number
    assert closed[-1].text.startswith(world.t("rate.thanks_closed", number=number))
    blank = await driver.say(chat, "   ")
    assert blank[-1].text.startswith(world.t("input.blank"))
    skipped = await driver.press(chat, f"rate:{ticket_id}:comment:skip")
    assert skipped[-1].text == world.t("rate.comment_thanks")
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.rating_solved) == ("closed", "yes")
    assert await world.texts("leader-1") == []
    assert {r.status for r in await world.rows(ticket_id) if r.kind.startswith("satisfaction")} == {"done", "cancelled"}


async def test_no_answer_in_seven_days_closes_the_ticket_as_not_rated(world: World) -> None:
    ticket_id = await resolved_ticket(world)
    await world.tick()
    world.clock.advance(days=7, seconds=-1)
    assert (await world.tick()).fired == 0
    world.clock.advance(seconds=1)
    assert (await world.tick()).fired == 1
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.rating_solved, ticket.rating_treatment) == ("closed", None, None)
    assert (await world.events(ticket_id))[-1] == "not_rated"


async def test_the_three_rates_for_a_period(world: World, driver: DeskDriver) -> None:
    chat = driver.chat(world.citizen_chat)
    on_time = await world.open()  # claimed in time, resolved, rated 5 / yes
    late = await world.open()  # claimed after its claim deadline, resolved, rated 2 / no (so reopened)
    await world.open()  # never claimed
    withdrawn = await world.open()
    await world.move(withdrawn, "cancelled")
    world.clock.advance(minutes=10)
    await world.move(on_time, "claimed", by=world.officer, assign=True)
    world.clock.advance(hours=72)
    await world.move(late, "claimed", by=world.officer, assign=True)
    for ticket_id, treat, solved in ((on_time, 5, "yes"), (late, 2, "no")):
        await world.move(ticket_id, "resolved", by=world.officer)
        await driver.press(chat, f"rate:{ticket_id}:treat:{treat}")
        await driver.press(chat, f"rate:{ticket_id}:solved:{solved}")
    async with world.db.reading() as uow:
        rates = await three_rates(uow, local(2026, 11, 27), local(2026, 11, 28))
        empty = await three_rates(uow, local(2026, 11, 28), local(2026, 11, 28) + timedelta(days=1))
    assert (rates.tickets, rates.responded, rates.resolved, rates.rated, rates.satisfied) == (3, 1, 1, 2, 1)
    # Resolution is resolved in time of those due (#17): the reopened and the unclaimed ticket are not due yet.
    assert rates.due == 1
    assert (rates.response_rate, rates.resolution_rate, rates.satisfaction_rate) == (1 / 3, 1.0, 1 / 2)
    assert (rates.solved_yes, rates.solved_rated) == (1, 2)
    assert empty.tickets == 0 and empty.response_rate is None
