"""A small world for officer-desk tests: the demo units, staff who joined through /join, and planted tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.app import DEMO_UNITS, read_units_file
from handlers.conversation.messages import Button, Reply
from handlers.router import INTERVIEWS
from handlers.staff import invites
from handlers.tickets.units import load_units
from storage.crypto import mask_phone
from storage.models import Officer, Ticket
from tests.conftest import Chat, DeskDriver
from tests.support.walker import Plan, Walker

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


class DeskMoves:
    """A citizen's hands on the desk itself (no channel): press a button by its label or its data, type."""

    def __init__(self, driver: DeskDriver, chat: Chat) -> None:
        self.driver, self.chat = driver, chat

    async def pick(self, reply: list[Reply], label: str) -> list[Reply]:
        pressed = next((b.data for r in reversed(reply) for b in r.all_buttons() if label in (b.label, b.data)), None)
        assert pressed is not None, f"{label!r} not offered in {[b.label for r in reply for b in r.all_buttons()]}"
        return await self.driver.press(self.chat, pressed)

    async def type(self, text: str) -> list[Reply]:
        return await self.driver.say(self.chat, text)

    async def share_phone(self, phone: str) -> list[Reply]:
        return await self.driver.say(self.chat, phone)

    async def send_photo(self, ref: str) -> list[Reply]:
        return await self.driver.photo(self.chat, ref)

    def text_of(self, reply: list[Reply]) -> str:
        return "\n".join(r.text for r in reply)

    def offered(self, reply: list[Reply]) -> list[str]:
        return [b.label for b in reply[-1].all_buttons()] if reply else []

    async def rest(self, reply: list[Reply]) -> list[Reply] | None:
        return None


async def walk_interview(driver: DeskDriver, chat: Chat, name: str, answers: dict[str, str]) -> Reply:
    """Fill an interview as a citizen would, through the one walker: known keys get `answers` (an option's value, a
    button's data or a text), optional steps are skipped, other choices take their first option. Returns the
    receipt after submitting."""
    locale = "en" if (chat.language or "").startswith("en") else "zh_CN"
    menu = [Reply(text="", buttons=((Button(driver.t(locale, INTERVIEWS[name].title), f"menu:{name}"),),))]
    walk = await Walker(DeskMoves(driver, chat), driver.translator, locale).interview(
        menu, INTERVIEWS[name], Plan(choices=answers, texts=answers, skip_optional=True)
    )
    return list(walk.receipt)[-1]


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
