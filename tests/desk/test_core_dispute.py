"""The core on real SQLite and real PostgreSQL: the dispute interview, global commands, repeats, bad input."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.conversation.interview import CONFIRM
from handlers.conversation.turn import State
from storage.models import Conversation, InboxEntry, OutboxMessage, Ticket, TicketEvent
from tests.conftest import DeskDriver, buttons

DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成"


async def ticket_count(driver: DeskDriver) -> int:
    async with driver.db.reading() as uow:
        return await uow.tickets.count()


async def walk_to_phone(driver: DeskDriver, chat) -> None:  # type: ignore[no-untyped-def]
    await driver.agree(chat)
    await driver.press(chat, "menu:dispute")
    await driver.press(chat, "land")
    await driver.press(chat, "chenggu")
    await driver.press(chat, "nav:skip")  # township
    await driver.say(chat, DESCRIPTION)
    await driver.press(chat, "nav:skip")  # other party
    await driver.press(chat, "nav:skip")  # photos or a voice note


async def test_dispute_interview_opens_one_ticket_with_a_public_number(driver: DeskDriver) -> None:
    chat = driver.chat("c1")
    await walk_to_phone(driver, chat)
    await driver.say(chat, "+86 138 0013 8000")
    summary = (await driver.press(chat, "any"))[-1]  # preferred contact time
    assert "138****8000" in summary.text
    assert "nav:submit" in buttons(summary) and "nav:edit" in buttons(summary)
    receipt = (await driver.press(chat, "nav:submit"))[-1]
    async with driver.db.reading() as uow:
        ticket = (await uow.session.execute(select(Ticket))).scalar_one()
        events = await uow.tickets.events(ticket.id)
        unit = await uow.units.get(ticket.unit_id) if ticket.unit_id else None
    assert ticket.number == "HZ-20261127-0001"
    assert ticket.number in receipt.text
    assert (ticket.kind, ticket.category, ticket.county, ticket.status) == (
        "dispute",
        "land",
        "chenggu",
        "new",
    )
    assert ticket.summary == DESCRIPTION
    assert ticket.phone_masked == "138****8000"
    assert ticket.phone_sealed and "13800138000" not in ticket.phone_sealed
    assert driver.db.cipher.decrypt(ticket.phone_sealed) == "13800138000"
    assert [e.action for e in events] == ["created"]
    assert unit is None  # no units loaded in this database: the ticket waits for the city intake
    assert driver.t("zh_CN", "ticket.unit_pending") in receipt.text


async def test_same_update_three_times_gives_one_ticket_and_one_reply(driver: DeskDriver) -> None:
    chat = driver.chat("c2")
    await walk_to_phone(driver, chat)
    await driver.say(chat, "13800138000")
    await driver.press(chat, "any")
    first = await driver.press(chat, "nav:submit", key="submit-once")
    again = await driver.press(chat, "nav:submit", key="submit-once")
    third = await driver.press(chat, "nav:submit", key="submit-once")
    assert len(first) == 1 and again == [] and third == []
    assert await ticket_count(driver) == 1
    async with driver.db.reading() as uow:
        inbox = (await uow.session.execute(select(func.count()).select_from(InboxEntry))).scalar_one()
        replies = (await uow.session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    assert inbox == 12  # eleven steps before, and the repeated update once
    assert replies > 0


async def test_bad_input_gets_a_reason_and_the_same_step_keeping_earlier_answers(driver: DeskDriver) -> None:
    chat = driver.chat("c3")
    await driver.agree(chat)
    await driver.press(chat, "menu:dispute")
    await driver.press(chat, "family")
    await driver.press(chat, "hantai")
    await driver.press(chat, "nav:skip")  # township
    question = driver.t("zh_CN", "dispute.description")
    cases = {
        "": "input.blank",
        "   ": "input.blank",
        "x" * 100_000: "input.too_long",
        "😀🙏😡": "input.no_words",
        "太短": "input.too_short",
    }
    for text, reason in cases.items():
        reply = (await driver.say(chat, text))[-1]
        assert reply.text.startswith(driver.t("zh_CN", reason, max=2000, got=len(text.strip()), min=10))
        assert question in reply.text
    photo = (await driver.photo(chat))[-1]
    assert photo.text.startswith(driver.t("zh_CN", "input.text_expected")) and question in photo.text
    await driver.say(chat, DESCRIPTION)
    await driver.press(chat, "nav:skip")  # other party
    await driver.press(chat, "nav:skip")  # photos or a voice note
    wrong_phone = (await driver.say(chat, "12345"))[-1]
    assert wrong_phone.text.startswith(driver.t("zh_CN", "input.phone_invalid"))
    await driver.say(chat, "139 1234 5678")
    summary = (await driver.press(chat, "any"))[-1]
    assert driver.t("zh_CN", "dispute.cat.family") in summary.text
    assert driver.t("zh_CN", "county.hantai") in summary.text
    assert DESCRIPTION in summary.text


async def test_back_cancel_menu_help_lang_work_at_any_step(driver: DeskDriver) -> None:
    chat = driver.chat("c4")
    await driver.agree(chat)
    await driver.press(chat, "menu:dispute")
    await driver.press(chat, "neighbours")
    back = (await driver.say(chat, "/back"))[-1]
    assert driver.t("zh_CN", "dispute.category") in back.text
    await driver.press(chat, "consumer")
    menu = (await driver.say(chat, "/menu"))[-1]
    assert "menu:continue" in buttons(menu)
    resumed = (await driver.press(chat, "menu:continue"))[-1]
    assert driver.t("zh_CN", "common.county") in resumed.text
    english = await driver.say(chat, "/lang en")
    assert english[0].text == driver.t("en", "lang.set", name="English")
    assert driver.t("en", "common.county") in english[-1].text
    helped = (await driver.say(chat, "/help"))[-1]
    assert driver.t("en", "help.text") in helped.text
    cancelled = (await driver.say(chat, "/cancel"))[-1]
    assert cancelled.text.startswith(driver.t("en", "cancel.done"))
    assert "menu:continue" not in buttons(cancelled)
    assert await ticket_count(driver) == 0


async def test_unknown_command_and_free_text_get_the_menu(driver: DeskDriver) -> None:
    chat = driver.chat("c5")
    await driver.agree(chat)
    unknown = (await driver.say(chat, "/frobnicate"))[-1]
    assert unknown.text.startswith(driver.t("zh_CN", "command.unknown", command="/frobnicate"))
    assert "menu:dispute" in buttons(unknown)
    chatter = (await driver.say(chat, "你好"))[-1]
    assert "menu:dispute" in buttons(chatter)


async def test_edit_from_the_summary_changes_one_answer_only(driver: DeskDriver) -> None:
    chat = driver.chat("c6")
    await walk_to_phone(driver, chat)
    await driver.say(chat, "13800138000")
    await driver.press(chat, "any")
    editor = (await driver.press(chat, "nav:edit"))[-1]
    assert "edit:county" in buttons(editor)
    await driver.press(chat, "edit:county")
    await driver.press(chat, "yangxian")
    summary = (await driver.press(chat, "nav:skip"))[-1]  # a new county asks its township again
    assert driver.t("zh_CN", "county.yangxian") in summary.text and DESCRIPTION in summary.text
    await driver.press(chat, "nav:submit")
    async with driver.db.reading() as uow:
        ticket = (await uow.session.execute(select(Ticket))).scalar_one()
        events = (await uow.session.execute(select(TicketEvent))).scalars().all()
    assert ticket.county == "yangxian" and ticket.category == "land" and len(events) == 1


async def test_state_survives_a_new_desk(driver: DeskDriver) -> None:
    from handlers.desk import Desk

    chat = driver.chat("c7")
    await driver.agree(chat)
    await driver.press(chat, "menu:dispute")
    await driver.press(chat, "traffic")
    restarted = DeskDriver(
        Desk(driver.db, driver.translator, driver.desk.rules, driver.desk.clock), driver.db, driver.translator
    )
    reply = (await restarted.say(chat, "/menu", key="after-restart-1"))[-1]
    assert "menu:continue" in buttons(reply)
    async with driver.db.reading() as uow:
        conversation = (await uow.session.execute(select(Conversation))).scalar_one()
    assert conversation is not None and conversation.step == "county" and conversation.step != CONFIRM


async def test_a_lone_surrogate_is_an_ordinary_bad_character_not_a_failure(driver: DeskDriver) -> None:
    chat = driver.chat("c8")
    await driver.agree(chat)
    await driver.press(chat, "menu:dispute")
    await driver.press(chat, "land")
    await driver.press(chat, "chenggu")
    await driver.press(chat, "nav:skip")  # the township
    reply = (await driver.say(chat, "\ud800 邻居把界桩挪了，协商不成，希望调解"))[-1]
    assert driver.t("zh_CN", "error.internal") not in reply.text
    async with driver.db.reading() as uow:
        conversation = (await uow.session.execute(select(Conversation))).scalar_one()
        state = State.from_json(uow.conversations.unseal(conversation))
    assert state.answers["description"] == "\ufffd 邻居把界桩挪了，协商不成，希望调解"
