"""Leaders and escalation tell the truth: a county bureau's /overview counts its township offices too (the unit
tree); a unit without a leader escalates to its parent's leader, and the messages name exactly who was told — or
say that nobody could be; wage tickets can go to labour inspection; /help lists every command the person may use;
APScheduler's per-tick lines are DEBUG."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import update

from bot.app import build
from bot.config import Settings
from handlers import router
from handlers.conversation.i18n import Translator
from handlers.tickets.policy import actor_for, allows
from storage.models import Officer
from storage.uow import Database
from tests.conftest import TEST_SECRET, DeskDriver, FakeClock, buttons
from tests.support.followup_world import World, make_world
from tests.support.officer_world import join, load_demo, person_of, plant_ticket, unit_id


async def test_a_county_bureaus_overview_counts_its_township_offices(driver: DeskDriver) -> None:
    await load_demo(driver)
    leader = await join(driver, "county-leader", "hantai-justice", "leader", "赵局长")
    office_officer = await join(driver, "office-officer", "hantai-so-beiguan", "officer", "孙所员")
    citizen = driver.chat("overview-citizen")
    await driver.agree(citizen)
    own = await plant_ticket(driver, citizen, "hantai-justice")
    below = [await plant_ticket(driver, citizen, "hantai-so-beiguan") for _ in range(2)]
    await plant_ticket(driver, citizen, "hantai-so-puzhen", status="claimed")
    elsewhere = await plant_ticket(driver, citizen, "nanzheng-justice")

    seen = (await driver.say(leader, "/overview"))[-1]
    text = seen.text
    assert driver.t("zh_CN", "desk.overview.tree", count=3) in text  # the bureau and its three offices
    assert driver.t("zh_CN", "desk.overview.status_line", status=driver.t("zh_CN", "status.new"), count=3) in text
    for code in ("hantai-so-beiguan", "hantai-so-puzhen", "hantai-legalaid"):
        async with driver.db.reading() as uow:
            unit = await uow.units.get(await unit_id(driver, code))
            assert unit is not None and unit.name_zh in text
    assert own.number in text and all(t.number in text for t in below) and elsewhere.number not in text
    assert f"t:view:{own.id}" in buttons(seen)  # its own tickets to act on; the offices' are counted and named
    assert not {f"t:view:{t.id}" for t in below} & set(buttons(seen))
    office_view = (await driver.say(office_officer, "/duty"))[-1].text
    assert all(t.number in office_view for t in below)


async def test_wage_tickets_can_go_to_labour_inspection_and_only_they(driver: DeskDriver) -> None:
    await load_demo(driver)
    officer = await join(driver, "legalaid-officer", "hantai-legalaid", "officer", "钱律师")
    inspector = await join(driver, "inspector", "hantai-labour", "officer", "周监察")
    citizen = driver.chat("wages-citizen")
    await driver.agree(citizen)
    wages = await plant_ticket(driver, citizen, "hantai-legalaid", kind="concern", category="wages")
    land = await plant_ticket(driver, citizen, "hantai-legalaid", kind="legal_aid", category="support")
    labour = await unit_id(driver, "hantai-labour")
    offered = buttons((await driver.press(officer, f"t:transfer:{wages.id}"))[-1])
    assert f"t:to:{wages.id}:{labour}" in offered
    assert f"t:to:{land.id}:{labour}" not in buttons((await driver.press(officer, f"t:transfer:{land.id}"))[-1])
    await driver.press(officer, f"t:to:{land.id}:{labour}")  # a forged button is not taken
    await driver.press(officer, f"t:to:{wages.id}:{labour}")
    await driver.say(officer, "欠薪属于劳动保障监察职责")
    await driver.press(officer, "nav:skip")
    alert = (await driver.replies(inspector))[-1]
    assert wages.number in alert.text and f"t:claim:{wages.id}" in buttons(alert)
    async with driver.db.reading() as uow:
        moved, kept = await uow.tickets.get(wages.id), await uow.tickets.get(land.id)
        assert moved is not None and moved.unit_id == labour and kept is not None and kept.unit_id != labour


@pytest.fixture
async def world(db: Database, translator: Translator, clock: FakeClock) -> World:
    return await make_world(db, translator, clock)


async def _no_leader(world: World) -> None:
    async with world.db() as uow:  # the unit's leader leaves: only its officers and the parent's leader are left
        await uow.session.execute(update(Officer).where(Officer.id == world.leader.officer_id).values(active=False))
        await uow.commit()


async def test_without_a_leader_the_claim_escalation_goes_to_the_parents_leader(world: World) -> None:
    await _no_leader(world)
    ticket_id = await world.open()
    ticket = await world.ticket(ticket_id)
    world.clock.now = ticket.claim_due_at
    await world.tick()
    to_parent = await world.texts("leader-p")
    assert len(to_parent) == 1 and to_parent[0].startswith("⚠️ 张局长") and "汉台区司法局" in to_parent[0]
    assert all(not text.startswith("⚠️") for text in await world.texts("officer-2"))  # not sent to them instead


async def test_the_overdue_officer_hears_exactly_who_was_told(world: World) -> None:
    ticket_id = await world.open(kind="service", category="guide")
    await world.move(ticket_id, "claimed", by=world.officer, assign=True)
    due = (await world.ticket(ticket_id)).due_at
    world.clock.now = due
    await world.tick()
    told = world.t("followup.told", names="李科长", unit="汉台区司法局")
    assert told in (await world.texts("officer-1"))[-1]

    await _no_leader(world)
    second = await world.open(kind="service", category="guide")
    await world.move(second, "claimed", by=world.officer, assign=True)
    world.clock.now = (await world.ticket(second)).due_at
    await world.tick()
    assert world.t("followup.told", names="张局长", unit="汉中市司法局") in (await world.texts("officer-1"))[-1]
    assert any(t.startswith("⚠️ 张局长") for t in await world.texts("leader-p"))

    async with world.db() as uow:  # and nobody at all up the tree
        await uow.session.execute(
            update(Officer).where(Officer.id == world.parent_leader.officer_id).values(active=False)
        )
        await uow.commit()
    third = await world.open(kind="service", category="guide")
    await world.move(third, "claimed", by=world.officer, assign=True)
    world.clock.now = (await world.ticket(third)).due_at
    await world.tick()
    last = (await world.texts("officer-1"))[-1]
    assert world.t("followup.told_nobody") in last and "已报告单位负责人" not in last  # never "the leader was told"


async def test_help_lists_every_command_the_person_may_use(driver: DeskDriver) -> None:
    await load_demo(driver)
    citizen = driver.chat("helpful")
    await driver.agree(citizen)
    leader = await join(driver, "help-leader", "hantai-justice", "leader", "赵六")
    for chat in (citizen, leader):
        shown = (await driver.say(chat, "/help"))[-1].text
        async with driver.db.reading() as uow:
            actor = await actor_for(uow, await person_of(driver, chat))
        may = [c for c in router.COMMANDS if c.action is None or allows(actor, c.action)]
        for command in may:
            assert f"{command.text} {driver.t('zh_CN', f'command.{command.name}')}" in shown, command.name
        assert {"/guide", "/subscribe", "/unsubscribe", "/lang", "/link", "/status"} <= {
            c.text for c in may
        } or chat is leader
    citizen_help = (await driver.say(citizen, "/help"))[-1].text
    assert "/join" in citizen_help and "/duty" not in citizen_help
    assert (
        "/overview" in (await driver.say(leader, "/help"))[-1].text
        and "/join" not in (await driver.say(leader, "/help"))[-1].text
    )


async def test_apschedulers_per_tick_lines_are_debug(
    sqlite_url: str, clock: FakeClock, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=sqlite_url, shishi_secret_key=TEST_SECRET, shishi_data_dir=tmp_path, followup_interval=0.05,
        _env_file=None,  # type: ignore[call-arg]
    )  # fmt: skip
    services = build(settings, clock=clock)
    ticker = services.followups
    assert ticker is not None
    logging.getLogger().setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        await ticker.start()
        try:
            for _ in range(100):
                if ticker.ticks >= 3:
                    break
                await asyncio.sleep(0.05)
        finally:
            await ticker.stop()
    assert ticker.ticks >= 3
    per_tick = [
        r for r in caplog.records if "Running job" in r.getMessage() or "executed successfully" in r.getMessage()
    ]
    assert per_tick == []  # at INFO: not a line per tick
    with caplog.at_level(logging.DEBUG):
        logging.getLogger().setLevel(logging.DEBUG)
        before = ticker.ticks
        await ticker.start()
        try:
            for _ in range(100):
                if ticker.ticks >= before + 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            await ticker.stop()
    shown = [r for r in caplog.records if "executed successfully" in r.getMessage()]
    assert shown and all(r.levelno == logging.DEBUG for r in shown)  # still there when DEBUG is asked for
    logging.getLogger().setLevel(logging.WARNING)
    await services.db.dispose()
