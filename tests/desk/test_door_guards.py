"""Guards of issue #11 on the handlers' side, through the real desk: consent withdrawn means nothing personal is
asked any more; NUL and bidi characters are stripped at the door (PostgreSQL cannot store NUL at all); a huge text
at the menu is not searched; invite guesses are counted per address and overall, not only per person."""

from __future__ import annotations

from sqlalchemy import select

from handlers.staff import invites
from storage.models import Person, Ticket
from tests.conftest import DeskDriver, buttons
from tests.support.officer_world import invite_code, load_demo, person_of, walk_interview


async def test_withdrawing_consent_drops_the_form_and_the_next_one_asks_again(driver: DeskDriver) -> None:
    chat = driver.chat("changes-mind")
    await driver.agree(chat)
    await driver.press(chat, "consent:agree")
    await driver.press(chat, "menu:dispute")
    await driver.press(chat, "land")
    withdrawn = (await driver.press(chat, "consent:decline"))[-1]
    assert withdrawn.text.startswith(driver.t("zh_CN", "consent.withdrawn"))
    async with driver.db.reading() as uow:
        person = await uow.session.get(Person, await person_of(driver, chat))
        assert person is not None
        assert (person.consent_at, person.sensitive_consent_at, person.consent_declined) == (None, None, True)
    again = (await driver.press(chat, "menu:dispute"))[-1]
    assert again.text == driver.t("zh_CN", "consent.notice")  # no phone asked before a new yes
    typed = (await driver.say(chat, "13800138000"))[-1]
    assert "menu:dispute" in buttons(typed)  # the number is taken by nothing: the menu, no form
    async with driver.db.reading() as uow:
        conversation = await uow.conversations.get_for_update(await person_of(driver, chat), driver.desk.clock())
        assert "13800138000" not in uow.conversations.unseal(conversation)


async def test_nul_and_bidi_characters_are_stripped_and_the_ticket_is_stored(driver: DeskDriver) -> None:
    await load_demo(driver)
    chat = driver.chat("nul")
    await driver.agree(chat)
    story = "邻居\x00把界桩\u202e挪了\u202c两米，\x07多次协商未果"
    receipt = await walk_interview(
        driver, chat, "dispute", {"county": "hantai", "description": story, "phone": "13800138000"}
    )
    assert receipt.text != driver.t("zh_CN", "error.internal")
    async with driver.db.reading() as uow:
        [ticket] = (await uow.session.execute(select(Ticket))).scalars().all()
    assert ticket.summary.startswith("邻居把界桩挪了两米，多次协商未果")


async def test_a_huge_text_at_the_menu_is_not_searched_but_answered_with_the_menu(driver: DeskDriver) -> None:
    chat = driver.chat("huge")
    await driver.agree(chat)
    huge = "new car registration Xixiang " * 16_000  # 450 KB
    replies = await driver.say(chat, huge)
    assert len(replies) == 1 and "menu:dispute" in buttons(replies[-1])
    found = await driver.say(chat, "new car registration")  # a real search still finds the guide's cards
    assert len(found) >= 1


async def test_invite_guesses_are_counted_per_address_and_overall(driver: DeskDriver) -> None:
    await load_demo(driver)
    wrong, locked = driver.t("zh_CN", "desk.join.wrong"), driver.t("zh_CN", "desk.join.locked")
    # Every guess from a fresh session (a fresh person) but one address: the address runs out.
    for n in range(invites.MAX_FAILURES_PER_ORIGIN):
        chat = driver.chat(f"session-{n}")
        reply = (await driver.send(chat, text=f"/join ABCD-EFGH-JK{n:02d} 某人", origin="203.0.113.9"))[-1]
        assert reply.text == wrong
    good = await invite_code(driver, "hantai-justice", "officer")
    fresh = driver.chat("session-fresh")
    assert (await driver.send(fresh, text=f"/join {good} 某人", origin="203.0.113.9"))[-1].text == locked
    elsewhere = driver.chat("another-office")
    assert (await driver.send(elsewhere, text=f"/join {good} 某人", origin="198.51.100.7"))[-1].menu == "officer"
    # Guesses spread over many addresses still stop at the overall limit within the hour.
    for n in range(invites.MAX_FAILURES_OVERALL):
        chat = driver.chat(f"spread-{n}")
        await driver.send(chat, text=f"/join ZZZZ-EFGH-JK{n:02d} 某人", origin=f"192.0.2.{n % 250}")
    late = await invite_code(driver, "hantai-justice", "officer")
    honest = driver.chat("honest")
    assert (await driver.send(honest, text=f"/join {late} 某人", origin="198.51.100.8"))[-1].text == locked
    driver.desk.clock.advance(hours=1, seconds=1)  # type: ignore[attr-defined]
    assert (await driver.send(honest, text=f"/join {late} 某人", origin="198.51.100.8"))[-1].menu == "officer"
