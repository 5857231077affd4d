"""What the ledger counts that the desk records for it: the relief amount asked of whoever resolves a relief ticket,
and how often citizens asked for each convenience measure (a card opened, a search that found it)."""

from __future__ import annotations

import tomllib
from datetime import timedelta

from sqlalchemy import select

from bot.app import DEMO_GUIDE
from handlers.ledger.period import between
from handlers.ledger.report import build
from handlers.outreach.guide import load_guide
from handlers.tickets.policy import Actor, Role
from storage.models import MeasureAsk, TicketEvent
from tests.conftest import DeskDriver, buttons
from tests.support.officer_world import UNIT_A, UNIT_B, join, load_demo, plant_ticket, ticket

ADMIN = Actor(person_id=None, officer_id=0, unit_id=None, role=Role.ADMIN)


async def test_resolving_a_relief_ticket_asks_its_resolver_for_the_amount(driver: DeskDriver) -> None:
    await load_demo(driver)
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    other = await join(driver, "officer-b", UNIT_B, "officer", "王五")
    citizen = driver.chat("citizen")
    await driver.agree(citizen)
    relief = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=officer, kind="relief",
                                category="court", due_in=timedelta(days=20))  # fmt: skip
    await driver.press(officer, f"t:resolve:{relief.id}")
    await driver.press(officer, f"t:outcome:{relief.id}:relief_granted")
    replies = await driver.say(officer, "经审查符合条件，已决定给予司法救助")  # what was done, in the officer's words
    asked = [r for r in replies if f"lg:relief:{relief.id}" in buttons(r)]
    assert len(asked) == 1 and asked[0].text == driver.t("zh_CN", "ledger.relief.ask", number=relief.number)
    refused = await driver.press(other, f"lg:relief:{relief.id}")
    assert refused[-1].text == driver.t("zh_CN", "desk.not_found")
    await driver.press(officer, f"lg:relief:{relief.id}")
    bad = await driver.say(officer, "很多")
    assert bad[-1].text.startswith(driver.t("zh_CN", "input.amount_invalid"))
    saved = await driver.say(officer, "12000.5")
    assert saved[-1].text == driver.t("zh_CN", "ledger.relief.saved", number=relief.number, amount="12,000.50")
    after = await ticket(driver, relief.id)
    assert (after.status, after.outcome, after.details["relief_amount"]) == ("resolved", "relief_granted", "12000.50")
    async with driver.db.reading() as uow:
        events = await uow.session.execute(select(TicketEvent.action).where(TicketEvent.ticket_id == relief.id))
        assert "relief_amount" in events.scalars().all()
        now = driver.desk.clock()
        day = now.astimezone(driver.desk.rules.zone).date()
        report = await build(uow, ADMIN, between(day, day, driver.desk.rules.zone), now)
    assert report is not None
    aid = report.batch("aid")
    assert (aid.figure("aid_relief_granted").value, str(aid.figure("aid_relief_amount").value)) == (1, "12000.50")
    dispute = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=officer)
    await driver.press(officer, f"t:resolve:{dispute.id}")
    await driver.press(officer, f"t:outcome:{dispute.id}:advice_given")
    others = await driver.say(officer, "已向双方释明法律规定")
    assert (await ticket(driver, dispute.id)).status == "resolved"
    assert not [r for r in others if any(b.startswith("lg:relief") for b in buttons(r))]  # relief tickets only


async def test_opening_and_finding_a_measure_are_counted_per_day(driver: DeskDriver) -> None:
    await load_demo(driver)
    await load_guide(driver.db, tomllib.loads(DEMO_GUIDE.read_text(encoding="utf-8")), driver.desk.clock())
    citizen = driver.chat("asker")
    await driver.agree(citizen)
    await driver.press(citizen, "guide:e:xixiang-vehicle-registration")
    await driver.press(citizen, "guide:e:xixiang-vehicle-registration")
    found = await driver.say(citizen, "新车上户 西乡")
    assert found
    async with driver.db.reading() as uow:
        asks = {(a.entry_code, a.way): a.count for a in (await uow.session.execute(select(MeasureAsk))).scalars()}
        now = driver.desk.clock()
        day = now.astimezone(driver.desk.rules.zone).date()
        report = await build(uow, ADMIN, between(day, day, driver.desk.rules.zone), now)
    assert asks[("xixiang-vehicle-registration", "view")] == 2
    assert asks[("xixiang-vehicle-registration", "search")] == 1
    assert report is not None
    line = next(m for m in report.measures if m.code == "xixiang-vehicle-registration")
    assert (line.views, line.searches, line.since.isoformat(), line.unit.code) == (2, 1, "2025-03-01", "xixiang-police")
    in_service = report.batch("measure").figure("measure_in_service").value
    assert in_service == sum(1 for m in report.measures if m.since is None or m.since <= day)
