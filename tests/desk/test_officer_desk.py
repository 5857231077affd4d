"""Working tickets from the chat: duty list, transfer, reject, mediation, illegal moves, phone, notes, reassign,
overview, the relay beside an interview, and tampered buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handlers.staff import routes as officers
from storage.models import AuditEntry, OutboxMessage, TicketEvent
from tests.conftest import DeskDriver, buttons
from tests.support.officer_world import (
    PHONE,
    SUMMARY,
    UNIT_A,
    UNIT_B,
    Staff,
    load_demo,
    officer_of,
    plant_ticket,
    staff,
    ticket,
    unit_id,
)


@pytest.fixture
async def team(driver: DeskDriver) -> Staff:
    await load_demo(driver)
    return await staff(driver)


@pytest.fixture
async def citizen(driver: DeskDriver):  # type: ignore[no-untyped-def]
    chat = driver.chat("citizen", language="en")
    await driver.agree(chat)
    return chat


async def last(driver: DeskDriver, chat) -> str:  # type: ignore[no-untyped-def]
    return (await driver.replies(chat))[-1].text


async def test_duty_list_orders_my_tickets_by_deadline_then_shows_the_units_unclaimed(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    late = await plant_ticket(
        driver, citizen, UNIT_A, status="claimed", officer=team.officer_a, due_in=timedelta(days=9)
    )
    soon = await plant_ticket(
        driver, citizen, UNIT_A, status="in_progress", officer=team.officer_a, due_in=timedelta(days=1)
    )
    nodue = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    waiting = await plant_ticket(driver, citizen, UNIT_A)
    await plant_ticket(driver, citizen, UNIT_A, status="resolved", officer=team.officer_a)  # done: not on the list
    await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a2)  # a colleague's
    await plant_ticket(driver, citizen, UNIT_B)  # another unit's
    reply = (await driver.say(team.officer_a, "/duty"))[-1]
    lines = reply.text.splitlines()
    mine_at = lines.index(driver.t("zh_CN", "desk.duty.mine", count=3))
    unclaimed_at = lines.index(driver.t("zh_CN", "desk.duty.unclaimed", count=1))
    mine = [line.split(" · ")[0] for line in lines[mine_at + 1 : unclaimed_at]]
    assert mine == [soon.number, late.number, nodue.number]
    assert lines[unclaimed_at + 1].startswith(waiting.number)
    assert buttons(reply) == [
        f"t:view:{soon.id}",
        f"t:view:{late.id}",
        f"t:view:{nodue.id}",
        f"t:view:{waiting.id}",
        f"t:claim:{waiting.id}",
    ]
    assert (await driver.say(citizen, "/duty"))[-1].text == driver.t("en", "desk.command_refused")


async def test_transfer_alerts_the_receiving_unit_and_tells_the_citizen_but_not_the_reason(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    choices = (await driver.press(team.officer_a, f"t:transfer:{planted.id}"))[-1]
    police = await unit_id(driver, "hantai-police")
    court = await unit_id(driver, "hantai-court")
    target = await unit_id(driver, UNIT_B)
    offered = buttons(choices)
    assert f"t:to:{planted.id}:{police}" in offered and f"t:to:{planted.id}:{court}" in offered
    assert f"t:to:{planted.id}:{await unit_id(driver, UNIT_A)}" not in offered  # not to itself
    await driver.press(team.officer_a, f"t:to:{planted.id}:{target}")
    short = (await driver.say(team.officer_a, "南"))[-1]
    assert short.text.startswith(driver.t("zh_CN", "input.too_short", min=2))  # the same step again
    await driver.say(team.officer_a, "当事人和土地都在南郑区")
    done = (await driver.say(team.officer_a, "大河坎镇司法所 周所长"))[-1]
    assert done.text.startswith(driver.t("zh_CN", "desk.transferred", number=planted.number, unit="南郑区司法局")[:8])
    moved = await ticket(driver, planted.id)
    assert (moved.unit_id, moved.officer_id, moved.status) == (target, None, "transferred")
    alert = (await driver.replies(team.officer_b))[-1]
    assert "当事人和土地都在南郑区" in alert.text and "周所长" in alert.text and "汉台区司法局" in alert.text
    assert f"t:claim:{planted.id}" in buttons(alert)
    told = await last(driver, citizen)
    assert told == driver.t(
        "en", "desk.tell.transferred", number=planted.number, unit="Nanzheng District Justice Bureau"
    )
    card = "\n".join(r.text for r in await driver.press(citizen, f"t:view:{planted.id}"))
    assert "南郑区" not in card and "当事人和土地" not in card
    # The old unit has let go of it; the new one can claim it.
    assert (await driver.press(team.officer_a, f"t:view:{planted.id}"))[-1].text == driver.t("zh_CN", "desk.not_found")
    await driver.press(team.officer_b, f"t:claim:{planted.id}")
    assert (await ticket(driver, planted.id)).officer_id == team.ids["officer_b"]


async def test_rejection_reaches_the_citizen_with_its_reason(driver: DeskDriver, team: Staff, citizen) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A)
    await driver.press(team.officer_a, f"t:reject:{planted.id}")
    await driver.say(team.officer_a, "该事项已由法院作出生效判决，不属于人民调解范围")
    await driver.say(team.officer_a, "汉台区人民法院执行局")  # where else to turn
    assert (await ticket(driver, planted.id)).status == "rejected"
    told = await last(driver, citizen)
    elsewhere = driver.t("en", "desk.tell.elsewhere", where="汉台区人民法院执行局")
    assert told == driver.t(
        "en",
        "desk.tell.rejected",
        number=planted.number,
        unit="Hantai District Justice Bureau",
        reason=f"该事项已由法院作出生效判决，不属于人民调解范围\n{elsewhere}",
    )


async def test_mediation_time_is_checked_and_the_citizen_gets_time_place_and_the_law(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    ask = (await driver.press(team.officer_a, f"t:mediate:{planted.id}"))[-1]
    assert ask.text == driver.t("zh_CN", "desk.ask.mediation_when", number=planted.number)
    for bad, reason in (
        ("下周吧", "desk.when_invalid"),
        ("2026-02-30 09:00", "desk.when_invalid"),
        ("2025-12-01", "desk.when_past"),
    ):
        again = (await driver.say(team.officer_a, bad))[-1]
        assert again.text.startswith(driver.t("zh_CN", reason)) and ask.text in again.text
    await driver.say(team.officer_a, "12月3日 下午3点")
    await driver.say(team.officer_a, "北关街道人民调解委员会调解室")
    moved = await ticket(driver, planted.id)
    assert moved.status == "mediation_scheduled"
    assert moved.details["mediation"] == {"at": "2026-12-03 15:00", "place": "北关街道人民调解委员会调解室"}
    told = (await driver.replies(citizen))[-1]
    assert "2026-12-03 15:00" in told.text and "People's Mediation Law, Art. 3" in told.text
    assert buttons(told) == [f"t:reply:{planted.id}"]


async def test_an_illegal_move_gets_a_clear_answer_and_changes_nothing(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    reply = (await driver.press(team.officer_a, f"t:close:{planted.id}"))[-1]
    assert reply.text == driver.t(
        "zh_CN",
        "desk.illegal",
        number=planted.number,
        status=driver.t("zh_CN", "status.claimed"),
        to=driver.t("zh_CN", "status.closed"),
    )
    assert (await ticket(driver, planted.id)).status == "claimed"
    card = (await driver.press(team.officer_a, f"t:view:{planted.id}"))[-1]
    assert f"t:close:{planted.id}" not in buttons(card) and f"t:claim:{planted.id}" not in buttons(card)
    assert {f"t:work:{planted.id}", f"t:resolve:{planted.id}", f"t:phone:{planted.id}"} <= set(buttons(card))


async def test_the_full_phone_only_to_the_assigned_officer_and_every_look_audited(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    leader_card = (await driver.press(team.leader_a, f"t:view:{planted.id}"))[-1]
    assert "138****8000" in leader_card.text and PHONE not in leader_card.text
    assert f"t:phone:{planted.id}" not in buttons(leader_card)
    refused = (await driver.press(team.leader_a, f"t:phone:{planted.id}"))[-1]
    assert refused.text == driver.t("zh_CN", "desk.not_found")
    shown = (await driver.press(team.officer_a, f"t:phone:{planted.id}"))[-1]
    assert PHONE in shown.text
    async with driver.db.reading() as uow:
        audits = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "reveal_phone"))).scalars().all()
        )
        stored = [str(row.payload) for row in (await uow.session.execute(select(OutboxMessage))).scalars().all()]
    officer_person = (await officer_of(driver, team.officer_a)).person_id
    assert [(a.actor_person_id, a.ticket_id) for a in audits] == [(officer_person, planted.id)]
    assert not any(PHONE in payload for payload in stored)  # the delivered number is sealed at rest


async def test_an_internal_note_is_never_shown_to_the_citizen(driver: DeskDriver, team: Staff, citizen) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    await driver.press(team.officer_a, f"t:note:{planted.id}")
    saved = (await driver.say(team.officer_a, "对方当事人有家暴前科，调解时注意安全"))[-1]
    assert saved.text.startswith(driver.t("zh_CN", "desk.note.saved", number=planted.number))
    assert "家暴前科" in saved.text  # the officer's card shows it
    before = len(await driver.replies(citizen))
    async with driver.db.reading() as uow:
        visible = await uow.tickets.events(planted.id, citizen_visible_only=True)
        notes = [e for e in await uow.tickets.events(planted.id) if e.action == "note"]
    assert len(notes) == 1 and not notes[0].citizen_visible and notes[0] not in visible
    own_card = "\n".join(r.text for r in await driver.press(citizen, f"t:view:{planted.id}"))
    assert "家暴" not in own_card and planted.number in own_card
    assert all("家暴" not in r.text for r in (await driver.replies(citizen))[:before])


async def test_leader_reassigns_the_old_relay_closes_and_the_overviews_count(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(
        driver, citizen, UNIT_A, status="claimed", officer=team.officer_a, due_in=timedelta(hours=-1)
    )
    await plant_ticket(driver, citizen, UNIT_A)
    await plant_ticket(driver, citizen, UNIT_B)
    await driver.press(team.officer_a, f"t:msg:{planted.id}")
    await driver.say(team.officer_a, "请补充对方姓名")
    choose = (await driver.press(team.leader_a, f"t:reassign:{planted.id}"))[-1]
    a2 = team.ids["officer_a2"]
    assert f"t:assign:{planted.id}:{a2}" in buttons(choose)
    assert f"t:assign:{planted.id}:{team.ids['officer_b']}" not in buttons(choose)
    forged = (await driver.press(team.leader_a, f"t:assign:{planted.id}:{team.ids['officer_b']}"))[-1]
    assert forged.text == choose.text  # an officer of another unit is not offered, and not taken
    await driver.press(team.leader_a, f"t:assign:{planted.id}:{a2}")
    assert (await ticket(driver, planted.id)).officer_id == a2
    assert (await driver.replies(team.officer_a2))[-1].text == driver.t(
        "zh_CN", "desk.assigned_to_you", number=planted.number
    )
    # The citizen's next plain text no longer goes to anyone: the relay ended with the reassignment.
    menu = (await driver.say(citizen, "his name is Li"))[-1]
    assert "menu:dispute" in buttons(menu)
    overview = (await driver.say(team.leader_a, "/overview"))[-1].text
    assert driver.t("zh_CN", "desk.overview.overdue", count=1) in overview and planted.number in overview
    everyone = (await driver.say(team.admin, "/overview"))[-1].text
    assert "汉台区司法局" in everyone and "南郑区司法局" in everyone
    assert driver.t("zh_CN", "desk.overview.totals", open=3, unclaimed=2, overdue=1) in everyone
    assert (await driver.say(team.officer_a, "/overview"))[-1].text == driver.t("zh_CN", "desk.command_refused")


async def test_a_citizen_in_an_interview_keeps_it_and_answers_with_the_reply_button(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    await driver.press(team.officer_a, f"t:msg:{planted.id}")
    await driver.say(team.officer_a, "请问对方姓名？")
    await driver.press(citizen, "menu:dispute")
    await driver.press(citizen, "land")
    typed = (await driver.say(citizen, "1"))[-1]  # typed text answers the interview (county no. 1), not the officer
    assert typed.text != driver.t("en", "desk.tell.reply_sent", number=planted.number)
    assert typed.text.startswith(driver.t("en", "common.township"))
    await driver.press(citizen, f"t:reply:{planted.id}")
    replied = await driver.say(citizen, "The other side is Li Si")
    assert replied[0].text == driver.t("en", "desk.tell.reply_sent", number=planted.number)
    assert len(replied) == 2 and replied[1] == typed  # and the interview asks its step again
    assert "The other side is Li Si" in (await driver.replies(team.officer_a))[-1].text
    async with driver.db.reading() as uow:
        state_events = [e.action for e in await uow.tickets.events(planted.id)]
    assert state_events == ["message_out", "message_in"]


async def test_cancel_drops_a_half_typed_answer(driver: DeskDriver, team: Staff, citizen) -> None:  # type: ignore[no-untyped-def]
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    await driver.press(team.officer_a, f"t:reject:{planted.id}")
    assert (await driver.say(team.officer_a, "/cancel"))[-1].text == driver.t("zh_CN", "desk.aborted")
    await driver.say(team.officer_a, "这句话不该成为拒绝理由")
    assert (await ticket(driver, planted.id)).status == "claimed"


async def test_tampered_buttons_for_another_units_ticket_read_exactly_like_a_missing_one(
    driver: DeskDriver, team: Staff, citizen
) -> None:  # type: ignore[no-untyped-def]
    theirs = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    fresh = await plant_ticket(driver, citizen, UNIT_A)
    own_unit = await unit_id(driver, UNIT_B)
    missing = 987654321
    for target in (theirs, fresh):
        args = {"to": f":{own_unit}", "assign": f":{team.ids['officer_b']}", "outcome": ":advice_given"}
        for verb in officers.VERBS:
            for arg in {"", args.get(verb, "")}:
                forged = await driver.press(team.officer_b, f"t:{verb}:{target.id}{arg}")
                absent = await driver.press(team.officer_b, f"t:{verb}:{missing}{arg}")
                assert forged == absent, (verb, arg)
                text = forged[0].text
                assert target.number not in text and SUMMARY not in text and "8000" not in text
    for broken in ("t:view:", "t:view:abc", "t:view:-1", "t:view:99999999999999999999", "t:nosuchverb:1", "t:"):
        assert (await driver.press(team.officer_b, broken))[-1].text == driver.t("zh_CN", "desk.not_found")
    after = await ticket(driver, theirs.id)
    assert (after.status, after.unit_id, after.officer_id) == ("claimed", theirs.unit_id, team.ids["officer_a"])
    assert (await ticket(driver, fresh.id)).status == "new"
    async with driver.db.reading() as uow:
        events = (await uow.session.execute(select(func.count()).select_from(TicketEvent))).scalar_one()
        audits = (
            await uow.session.execute(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.ticket_id.is_not(None))
            )
        ).scalar_one()
    assert (events, audits) == (0, 0)
