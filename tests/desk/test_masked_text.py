"""Numbers in free text are masked where they are kept, their originals sealed beside them (issue #16): the officer
in charge may see them as written — on the audit log and the ticket's record, in a message sealed at rest — and
the unit's leader, who oversees the ticket, sees only the mask."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, OutboxMessage, TicketEvent
from tests.conftest import DeskDriver, buttons
from tests.support.officer_world import UNIT_A, Staff, load_demo, officer_of, plant_ticket, staff, ticket

DESCRIPTION = "对方电话 13912345678，我的卡号 6222021234567890128 被他骗走了钱"
MASKED = "对方电话 139****5678，我的卡号 6222***********0128 被他骗走了钱"
MESSAGE = "我身份证是 610702199003071230，您可以打 0916-3317245 找我"
OFFICER_SAYS = "请留个联系方式，或打我的手机 13787654321"


@pytest.fixture
async def team(driver: DeskDriver) -> Staff:
    await load_demo(driver)
    return await staff(driver)


async def test_the_officer_in_charge_reveals_what_others_see_masked(driver: DeskDriver, team: Staff) -> None:
    citizen = driver.chat("masked-citizen")
    await driver.agree(citizen)
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    async with driver.db() as uow:
        held = await uow.tickets.get(planted.id)
        assert held is not None
        held.summary, held.details = MASKED, {"_summary": "description"}
        uow.tickets.seal(held, {}, {"description": DESCRIPTION})
        await uow.commit()
    await driver.press(team.officer_a, f"t:msg:{planted.id}")
    await driver.say(team.officer_a, OFFICER_SAYS)
    assert any(OFFICER_SAYS in r.text for r in await driver.replies(citizen))  # delivered as written
    await driver.say(citizen, MESSAGE)

    async with driver.db.reading() as uow:
        events = (await uow.session.execute(select(TicketEvent).where(TicketEvent.action == "message_in"))).scalars()
        [said] = list(events)
        assert said.note == "我身份证是 6107**********1230，您可以打 0916****245 找我"
        assert uow.tickets.note_of(said) == MESSAGE and MESSAGE not in (said.note_sealed or "")
    kept = await ticket(driver, planted.id)
    assert DESCRIPTION not in (kept.details_sealed or "") and kept.summary == MASKED

    other = await driver.press(team.leader_a, f"t:view:{planted.id}")
    assert MASKED in other[-1].text and "13912345678" not in other[-1].text
    assert f"t:original:{planted.id}" not in buttons(other[-1])
    refused = await driver.press(team.leader_a, f"t:original:{planted.id}")
    assert all(DESCRIPTION not in r.text and MESSAGE not in r.text for r in refused)

    card = await driver.press(team.officer_a, f"t:view:{planted.id}")
    assert f"t:original:{planted.id}" in buttons(card[-1]) and "13912345678" not in card[-1].text
    shown = await driver.press(team.officer_a, f"t:original:{planted.id}")
    assert DESCRIPTION in shown[-1].text and MESSAGE in shown[-1].text

    in_charge = (await officer_of(driver, team.officer_a)).person_id
    async with driver.db.reading() as uow:
        audit = (await uow.session.execute(select(AuditEntry.action, AuditEntry.actor_person_id))).all()
        rows = (await uow.session.execute(select(OutboxMessage.payload))).scalars().all()
        recorded = await uow.tickets.last_event(planted.id, ("original_revealed",))
    assert [p for a, p in audit if a == "reveal_original"] == [in_charge]
    assert recorded is not None and recorded.actor_person_id == in_charge
    plain = ("13912345678", "610702199003071230", "13787654321", "3317245")
    assert not [p for p in rows if any(number in str(p) for number in plain)]  # sealed rows only, both ways
