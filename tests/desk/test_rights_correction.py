"""Correction (PIPL Art. 46) and the audit export (#16): the citizen corrects the phone on their open ticket and adds
a correction note; each is an event saying what changed (the phone masked), the officer in charge is told, and the
audit export lists the officer's claim and the citizen's copy with who did them."""

from __future__ import annotations

from datetime import timedelta

from handlers.staff.audit import export_trail
from storage.crypto import mask_phone
from tests.conftest import DeskDriver
from tests.support.officer_world import PHONE, UNIT_A, join, load_demo, plant_ticket

NEW_PHONE = "13722223333"


async def test_phone_and_note_corrected_and_the_trail_exported(driver: DeskDriver) -> None:
    await load_demo(driver)
    officer = await join(driver, "officer-fix", UNIT_A, "officer", "张三")
    citizen = driver.chat("citizen-fix")
    await driver.agree(citizen)
    ticket = await plant_ticket(driver, citizen, UNIT_A)
    await driver.press(officer, f"t:claim:{ticket.id}")

    await driver.press(citizen, "pv:phone")
    done = await driver.say(citizen, NEW_PHONE)
    assert done[-1].text == driver.t("zh_CN", "privacy.fix.phone_done", phone=mask_phone(NEW_PHONE),
                                     numbers=ticket.number)  # fmt: skip
    await driver.press(citizen, f"pv:fixon:{ticket.id}")
    fixed = await driver.say(citizen, "事情发生在十一月二十日，不是二十一日")
    assert fixed[-1].text == driver.t("zh_CN", "privacy.fix.done", number=ticket.number)
    await driver.say(citizen, "/mydata")

    async with driver.db.reading() as uow:
        now = await uow.tickets.get(ticket.id)
        assert now is not None and uow.cipher.decrypt(now.phone_sealed or "") == NEW_PHONE
        events = {e.action: uow.tickets.note_of(e) for e in await uow.tickets.events(ticket.id)}
    assert events["phone_corrected"] == f"{mask_phone(PHONE)} → {mask_phone(NEW_PHONE)}"
    assert events["citizen_correction"] == "事情发生在十一月二十日，不是二十一日"
    told = [r.text for r in await driver.replies(officer)]
    assert driver.t("zh_CN", "privacy.alert.phone", number=ticket.number) in told
    assert driver.t("zh_CN", "privacy.alert.correction", number=ticket.number) in told

    now_at = driver.desk.clock()
    rows = await export_trail(driver.db, now_at - timedelta(days=1), now_at + timedelta(days=1), ticket.number, now_at)
    seen = {(r["action"], r["role"], r["actor"]) for r in rows}
    assert ("claimed", "officer", "张三") in seen
    assert ("copy_ticket", "citizen", "") in seen and ("citizen_correction", "citizen", "") in seen
    assert all(r["ticket"] == ticket.number for r in rows)
    later = await export_trail(driver.db, now_at + timedelta(days=1), now_at + timedelta(days=2), None, now_at)
    assert later == []
