"""A small world for officer-desk tests: the demo units, staff who joined through /join, and planted tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import DEMO_UNITS, read_units_file
from handlers.conversation.interview import CONFIRM
from handlers.conversation.messages import Reply
from handlers.conversation.turn import State
from handlers.interviews import INTERVIEWS
from handlers.staff import invites
from handlers.tickets.units import load_units
from storage.crypto import mask_phone
from storage.models import Conversation, Officer, Ticket
from tests.conftest import Chat, DeskDriver, buttons

PHONE = "13800138000"
SUMMARY = "邻居把界桩往我家地里挪了两米，协商了几次都不成"
UNIT_A = "hantai-justice"
UNIT_B = "nanzheng-justice"
ADMIN_UNIT = "city-intake"


async def load_demo(driver: DeskDriver) -> None:
    units, rules = read_units_file(DEMO_UNITS)
    await load_units(driver.db, units, rules)


async def person_of(driver: DeskDriver, chat: Chat) -> int:
    async with driver.db.reading() as uow:
        identity = await uow.people.identity(chat.channel, chat.chat_id)
        assert identity is not None
        return identity.person_id


async def unit_id(driver: DeskDriver, code: str) -> int:
    async with driver.db.reading() as uow:
        unit = await uow.units.by_code(code)
        assert unit is not None
        return unit.id


async def invite_code(driver: DeskDriver, unit: str, role: str, ttl: timedelta = timedelta(hours=72)) -> str:
    return await invites.make_invite(driver.db, unit, role, ttl, driver.desk.clock())


async def join(driver: DeskDriver, chat_id: str, unit: str, role: str, name: str, **kw: Any) -> Chat:
    chat = driver.chat(chat_id, **kw)
    code = await invite_code(driver, unit, role)
    done = await driver.say(chat, f"/join {code} {name}")
    assert done[-1].menu == role, done[-1].text
    return chat


async def officer_of(driver: DeskDriver, chat: Chat) -> Officer:
    person = await person_of(driver, chat)
    async with driver.db.reading() as uow:
        officer = await uow.officers.of_person(person)
        assert officer is not None
        return officer


async def plant_ticket(
    driver: DeskDriver,
    citizen: Chat,
    unit: str,
    *,
    status: str = "new",
    officer: Chat | None = None,
    kind: str = "dispute",
    category: str = "land",
    county: str | None = "hantai",
    due_in: timedelta | None = None,
) -> Ticket:
    """A ticket as the interviews leave it (phone sealed and masked), put straight into a given state."""
    citizen_id = await person_of(driver, citizen)
    unit_pk = await unit_id(driver, unit)
    officer_pk = (await officer_of(driver, officer)).id if officer else None
    now = driver.desk.clock()
    async with driver.db() as uow:
        day = now.strftime("%Y%m%d")
        ticket = await uow.tickets.add(
            Ticket(
                number=await uow.tickets.next_number("HZ", day),
                kind=kind,
                category=category,
                county=county,
                status=status,
                urgent=False,
                citizen_id=citizen_id,
                unit_id=unit_pk,
                officer_id=officer_pk,
                summary=SUMMARY,
                details={},
                attachments=[],
                phone_sealed=uow.cipher.encrypt(PHONE),
                phone_hash=uow.cipher.lookup_hash(PHONE),
                phone_masked=mask_phone(PHONE),
                locale="zh_CN",
                created_at=now,
                updated_at=now,
                claim_due_at=now + timedelta(hours=4),
                due_at=now + due_in if due_in else None,
                claimed_at=now if officer else None,
            )
        )
        await uow.commit()
        return ticket


async def ticket(driver: DeskDriver, ticket_id: int) -> Ticket:
    async with driver.db.reading() as uow:
        found = await uow.tickets.get(ticket_id)
        assert found is not None
        return found


async def walk_interview(driver: DeskDriver, chat: Chat, name: str, answers: dict[str, str]) -> Reply:
    """Fill an interview as a citizen would, whatever its current steps: known keys get `answers`, optional
    steps are skipped, other choices take their first option. Returns the receipt after submitting."""
    last = (await driver.press(chat, f"menu:{name}"))[-1]
    person = await person_of(driver, chat)
    for _ in range(40):
        if "nav:submit" in buttons(last):
            return (await driver.press(chat, "nav:submit"))[-1]
        async with driver.db.reading() as uow:
            row = (await uow.session.execute(select(Conversation).where(Conversation.person_id == person))).scalar_one()
            state = State.from_json(uow.conversations.unseal(row))
        key = state.step
        assert key and key != CONFIRM and state.interview == name, last.text
        step = INTERVIEWS[name].step(key)
        options = [b for b in buttons(last) if not b.startswith(("nav:", "help:", "sensitive:"))]
        if key in answers:
            value = answers[key]
            last = (await (driver.press(chat, value) if value in options else driver.say(chat, value)))[-1]
        elif step.optional:
            last = (await driver.press(chat, "nav:skip"))[-1]
        elif options:
            last = (await driver.press(chat, options[0]))[-1]
        else:
            raise AssertionError(f"no answer for step {key!r}: {last.text}")
    raise AssertionError("the interview did not end")


@dataclass
class Staff:
    officer_a: Chat
    officer_a2: Chat
    officer_b: Chat
    leader_a: Chat
    admin: Chat
    ids: dict[str, int] = field(default_factory=dict)


async def staff(driver: DeskDriver) -> Staff:
    world = Staff(
        officer_a=await join(driver, "officer-a", UNIT_A, "officer", "张三"),
        officer_a2=await join(driver, "officer-a2", UNIT_A, "officer", "李四"),
        officer_b=await join(driver, "officer-b", UNIT_B, "officer", "王五"),
        leader_a=await join(driver, "leader-a", UNIT_A, "leader", "赵六"),
        admin=await join(driver, "admin", ADMIN_UNIT, "admin", "钱七"),
    )
    for name in ("officer_a", "officer_a2", "officer_b", "leader_a", "admin"):
        world.ids[name] = (await officer_of(driver, getattr(world, name))).id
    return world
