"""Relay does not take over: after an officer writes, the citizen's free text goes to that officer only while the
conversation is open, and each time it does it says so and offers to stop; /menu, the guide, starting an interview
or the stop button leave it; a satisfaction comment is a comment; the officer's "end conversation" and resolving
the ticket end it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.followups.satisfaction import treatment_question
from storage.models import TicketEvent
from tests.conftest import Chat, DeskDriver, buttons
from tests.support.officer_world import UNIT_A, Staff, load_demo, plant_ticket, staff


@pytest.fixture
async def team(driver: DeskDriver) -> Staff:
    await load_demo(driver)
    return await staff(driver)


@pytest.fixture
async def citizen(driver: DeskDriver) -> Chat:
    chat = driver.chat("relay-citizen", language="en")
    await driver.agree(chat)
    return chat


async def events(driver: DeskDriver, ticket_id: int) -> list[tuple[str, str | None]]:
    async with driver.db.reading() as uow:
        rows = (await uow.session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))).scalars()
        return [(e.action, e.note) for e in rows]


def tick(driver: DeskDriver) -> None:
    driver.desk.clock.advance(seconds=1)  # type: ignore[attr-defined]  # each step at its own moment, as in life


async def officer_writes(driver: DeskDriver, officer: Chat, ticket_id: int, text: str) -> None:
    tick(driver)
    await driver.press(officer, f"t:msg:{ticket_id}")
    await driver.say(officer, text)
    tick(driver)


async def test_free_text_goes_to_the_officer_labelled_and_menu_guide_interview_or_stop_leave_it(
    driver: DeskDriver, team: Staff, citizen: Chat
) -> None:
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    await officer_writes(driver, team.officer_a, planted.id, "请问对方姓名？")
    told = await driver.say(citizen, "His name is Li Si")
    assert driver.t("en", "desk.tell.relay_on", number=planted.number) in told[-1].text
    assert buttons(told[-1]) == [f"t:leave:{planted.id}"]
    assert ("message_in", "His name is Li Si") in await events(driver, planted.id)

    # /menu leaves it: the next text is the citizen's own again (the menu, or a search), not the officer's.
    tick(driver)
    await driver.say(citizen, "/menu")
    after_menu = await driver.say(citizen, "I also want to ask about legal aid")
    assert ("message_in", "I also want to ask about legal aid") not in await events(driver, planted.id)
    assert all(driver.t("en", "desk.tell.relay_on", number=planted.number) not in r.text for r in after_menu)

    # The officer writes again: the conversation is open again, until the guide is opened.
    await officer_writes(driver, team.officer_a, planted.id, "还有其他证据吗？")
    await driver.say(citizen, "Yes, two photos")
    tick(driver)
    await driver.press(citizen, "guide:home")
    await driver.say(citizen, "new car registration")
    assert ("message_in", "new car registration") not in await events(driver, planted.id)

    # ...or an interview is started.
    await officer_writes(driver, team.officer_a, planted.id, "请补充时间")
    tick(driver)
    await driver.press(citizen, "menu:dispute")
    await driver.press(citizen, "nav:cancel")
    await driver.say(citizen, "some words after the interview")
    assert ("message_in", "some words after the interview") not in await events(driver, planted.id)

    # ...or the citizen taps stop.
    await officer_writes(driver, team.officer_a, planted.id, "明天上午能来吗？")
    tick(driver)
    stopped = await driver.press(citizen, f"t:leave:{planted.id}")
    assert stopped[-1].text == driver.t("en", "desk.tell.relay_left", number=planted.number)
    await driver.say(citizen, "what are your opening hours")
    assert ("message_in", "what are your opening hours") not in await events(driver, planted.id)


async def test_the_officer_ending_it_or_resolving_ends_it_and_a_rating_comment_is_a_comment(
    driver: DeskDriver, team: Staff, citizen: Chat
) -> None:
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    await officer_writes(driver, team.officer_a, planted.id, "请问对方姓名？")
    await driver.say(citizen, "Li Si")
    await driver.press(team.officer_a, f"t:hush:{planted.id}")
    await driver.say(citizen, "and his phone is unknown")
    assert ("message_in", "and his phone is unknown") not in await events(driver, planted.id)

    await officer_writes(driver, team.officer_a, planted.id, "已经联系到对方")
    await driver.press(team.officer_a, f"t:resolve:{planted.id}")
    await driver.press(team.officer_a, f"t:outcome:{planted.id}:advice_given")
    await driver.say(team.officer_a, "已向双方释法说理，建议签订书面协议")
    await driver.say(citizen, "thank you")
    assert ("message_in", "thank you") not in await events(driver, planted.id)

    # The satisfaction callback: the comment after the rating is stored as a comment, not sent as a message.
    async with driver.db.reading() as uow:
        resolved = await uow.tickets.get(planted.id)
        assert resolved is not None
    question = treatment_question(driver.translator, "en", resolved)
    assert question.buttons
    await driver.press(citizen, f"rate:{planted.id}:treat:5")
    await driver.press(citizen, f"rate:{planted.id}:solved:yes")
    await driver.say(citizen, "The officer was patient and clear")
    kinds = await events(driver, planted.id)
    assert ("rating_comment", "The officer was patient and clear") in kinds
    assert ("message_in", "The officer was patient and clear") not in kinds
