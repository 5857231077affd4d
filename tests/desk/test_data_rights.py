"""The citizen's data rights (#16), through the real desk on SQLite and PostgreSQL: a full intake walked by the one
walker, /mydata holds every value the citizen gave, /delete withdraws the open ticket (the officer's card says so)
and leaves none of those values in the database file, its WAL, the data directory or a pg_dump, while the ledger
still counts the ticket. /privacy shows what is held and whom to ask; /audit shows who did what."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import func, select

from handlers.citizen.privacy import copy
from handlers.conversation.turn import Rules
from handlers.conversation.words import stamp
from handlers.desk import Desk
from handlers.router import INTERVIEWS
from handlers.tickets.retention import RetentionPolicy
from storage.models import Ticket, TicketErasure
from tests.conftest import Chat, DeskDriver
from tests.support.officer_world import DeskMoves, join, load_demo
from tests.support.scan import pg_dump, scan
from tests.support.walker import Plan, Walker

CONTACT = "0916-2345678 个人信息保护联系人 刘科长"
PHONE = "13955501234"
PHONE_IN_TEXT = "13912345678"
WORDS = "对方冒充快递客服让我扫码退款转账"  # stored as typed until erased: free text without numbers is not sealed
DESCRIPTION = f"{WORDS}，我的备用电话{PHONE_IN_TEXT}，请尽快联系我处理"
SUSPECT = "6222021109876543"
AMOUNT = "87654.32"
GIVEN = (PHONE, PHONE_IN_TEXT, DESCRIPTION, WORDS, SUSPECT, AMOUNT)


def rights_driver(driver: DeskDriver) -> DeskDriver:
    rules = Rules(privacy_contact=CONTACT, retention=_retention(), public_url="https://desk.example.cn")
    return DeskDriver(Desk(driver.db, driver.translator, rules, driver.desk.clock), driver.db, driver.translator)


def _retention() -> RetentionPolicy:
    import tomllib

    from bot.app import DEMO_RETENTION

    return RetentionPolicy.parse(tomllib.loads(DEMO_RETENTION.read_text(encoding="utf-8")))


async def file_fraud_report(driver: DeskDriver, chat: Chat) -> Ticket:
    menu = await driver.agree(chat)
    walker = Walker(DeskMoves(driver, chat), driver.translator, "zh_CN")
    plan = Plan(
        choices={"category": "fraud", "fraud_paid": "bank_transfer", "county": "hantai"},
        texts={"fraud_when": "2026-11-20", "fraud_amount": AMOUNT, "fraud_suspect": SUSPECT,
               "description": DESCRIPTION},
        phone=PHONE,
    )  # fmt: skip
    walk = await walker.interview(menu, INTERVIEWS["concern"], plan)
    assert {"fraud_amount", "fraud_suspect", "description", "phone"} <= set(walk.steps)
    async with driver.db.reading() as uow:
        return (await uow.session.execute(select(Ticket).where(Ticket.kind == "concern"))).scalar_one()


async def stored_copy(driver: DeskDriver, chat: Chat, text: str) -> dict[str, object]:
    token, now = text.rsplit(copy.PATH, 1)[1].split()[0], driver.desk.clock()
    assert await copy.open_copy(driver.db, token, now, once=True) is None  # the link alone: not without the session
    assert await copy.open_copy(driver.db, token, now, once=True, chat="another-chat") is None
    body = await copy.open_copy(driver.db, token, now, once=True, chat=chat.chat_id)
    assert body is not None
    assert await copy.open_copy(driver.db, token, now, once=True, chat=chat.chat_id) is None  # once
    return dict(json.loads(body))


async def leftovers(driver: DeskDriver, url: str) -> list[str]:
    """Every place a value the citizen gave is still readable in plain text."""
    if driver.db.sqlite:
        path = Path(url.split("///", 1)[1])
        found = scan(GIVEN, paths=[path.parent])
    else:
        found = scan(GIVEN, texts={"pg_dump": await asyncio.to_thread(pg_dump, url)})
    return [str(f) for f in found]


async def test_copy_holds_every_value_and_delete_leaves_none(driver: DeskDriver, db_url: str) -> None:
    driver = rights_driver(driver)
    await load_demo(driver)
    citizen = driver.chat("citizen-rights")
    ticket = await file_fraud_report(driver, citizen)
    async with driver.db.reading() as uow:
        unit = await uow.units.get(ticket.unit_id or 0)
    assert unit is not None
    officer = await join(driver, "officer-rights", unit.code, "officer", "张警官")
    admin = await join(driver, "admin-rights", "city-intake", "admin", "钱七")
    await driver.press(officer, f"t:claim:{ticket.id}")
    assert any(WORDS in found for found in await leftovers(driver, db_url))  # the scan sees what is there

    held = (await driver.say(citizen, "/privacy"))[-1].text
    assert CONTACT in held
    assert driver.t("zh_CN", "privacy.held", tickets=1, messages=0, subscriptions=0, chats=1)[:12] in held

    replies = await driver.say(citizen, "/mydata")
    data = await stored_copy(driver, citizen, replies[-1].text)
    text = json.dumps(data, ensure_ascii=False)
    for value in GIVEN:
        assert value in text, value
    assert data["tickets"][0]["number"] == ticket.number  # type: ignore[index]

    asked = await driver.say(citizen, "/delete")
    assert ticket.number in asked[-1].text  # the open ticket is named before anything happens
    done = await driver.press(citizen, "pv:erase:yes")
    assert driver.t("zh_CN", "privacy.delete.done", tickets=1) in done[-1].text
    assert ticket.number in done[-1].text

    assert await leftovers(driver, db_url) == []
    async with driver.db.reading() as uow:
        after = await uow.tickets.get(ticket.id)
        assert after is not None and after.status == "cancelled" and after.county == "hantai"
        assert after.kind == "concern" and after.phone_sealed is None and after.details_sealed is None
        assert await uow.session.get(TicketErasure, ticket.id) is not None
        counted = await uow.session.execute(select(func.count()).select_from(Ticket).where(Ticket.kind == "concern"))
        assert counted.scalar_one() == 1
        assert await uow.people.identity("webchat", citizen.chat_id) is None
    told = await driver.replies(officer)
    assert any(driver.t("zh_CN", "privacy.alert.withdrawn", number=ticket.number) in r.text for r in told)
    card = await driver.press(officer, f"t:view:{ticket.id}")
    assert driver.t("zh_CN", "desk.event.withdrawn_erased") in card[-1].text
    said = driver.t("zh_CN", "desk.card.withdrawn_erased", at=stamp(driver.desk.clock(), driver.desk.rules.zone))
    assert said in card[-1].text.splitlines()  # on a line of its own, not only in the history

    trail = await driver.say(admin, f"/audit {ticket.number}")
    assert driver.t("zh_CN", "audit.action.copy_ticket") in trail[-1].text
    assert "张警官" in trail[-1].text
    refused = await driver.say(officer, f"/audit {ticket.number}")
    assert refused[-1].text == driver.t("zh_CN", "desk.command_refused")

    again = await driver.say(citizen, "/start")  # the chat starts over as someone new
    assert driver.t("zh_CN", "consent.agree") in [b.label for r in again for b in r.all_buttons()]
