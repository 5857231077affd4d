"""A small world for follow-up tests: a unit with a parent, its officers and leaders, a citizen, tickets, ticks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.turn import Effects, Rules
from handlers.desk import fire_follow_ups
from handlers.followups import ladder
from handlers.followups.effects import TickReport
from handlers.followups.firing import BATCH
from handlers.router import SUBSCRIBERS
from handlers.tickets import lifecycle
from handlers.tickets.events import TicketOpened
from storage.models import FollowUp, Officer, OutboxMessage, Ticket, TicketEvent
from storage.repositories.outbox import open_payload
from storage.uow import Database, UnitOfWork
from tests.conftest import FakeClock

ZONE = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Hanzhong wall-clock time as the UTC instant tests feed the clock."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@dataclass
class Member:
    officer_id: int
    person_id: int
    chat: str


@dataclass
class World:
    db: Database
    translator: Translator
    clock: FakeClock
    unit_id: int
    parent_id: int
    officer: Member
    colleague: Member
    leader: Member
    parent_leader: Member
    citizen_id: int
    citizen_chat: str = "citizen-1"
    rules: Rules = field(default_factory=Rules)

    async def tick(self) -> TickReport:
        return await tick(self.db, self.translator, self.clock(), self.rules)

    def effects(self, uow: UnitOfWork, *, publish: bool = True) -> Effects:
        """What a use case of the desk would run with: events reach the desk's subscribers (the ladder)."""
        return Effects(uow, self.translator, self.rules, self.clock(), SUBSCRIBERS if publish else None)

    async def open(self, *, kind: str = "dispute", category: str = "land", urgent: bool = False) -> int:
        now = self.clock()
        async with self.db() as uow:
            number = await uow.tickets.next_number("HZ", now.astimezone(ZONE).strftime("%Y%m%d"))
            ticket = await uow.tickets.add(
                Ticket(number=number, kind=kind, category=category, county="hantai", status="new", urgent=urgent,
                       citizen_id=self.citizen_id, unit_id=self.unit_id, summary="界桩被挪了两米", locale="zh_CN",
                       created_at=now, updated_at=now)
            )  # fmt: skip
            await uow.tickets.append_event(
                TicketEvent(ticket_id=ticket.id, actor_person_id=self.citizen_id, action="created", from_status=None,
                            to_status="new", citizen_visible=True, created_at=now)
            )  # fmt: skip
            await ladder.on_ticket_opened(self.effects(uow, publish=False), TicketOpened(ticket, None))
            await uow.commit()
            return ticket.id

    async def move(self, ticket_id: int, status: str, *, by: Member | None = None, assign: bool = False) -> None:
        async with self.db() as uow:
            ticket = await uow.tickets.get_for_update(ticket_id)
            assert ticket is not None
            if assign and by is not None:
                ticket.officer_id = by.officer_id
            self.effects(uow)
            await lifecycle.transition(
                uow, ticket, status, actor_person_id=by.person_id if by else None, now=self.clock()
            )
            await uow.commit()

    async def note(self, ticket_id: int, by: Member, *, visible: bool = True) -> None:
        async with self.db() as uow:
            ticket = await uow.tickets.get_for_update(ticket_id)
            assert ticket is not None
            await lifecycle.record(uow, ticket, "message", actor_person_id=by.person_id, now=self.clock(),
                                   citizen_visible=visible)  # fmt: skip
            await uow.commit()

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.db.reading() as uow:
            ticket = await uow.tickets.get(ticket_id)
            assert ticket is not None
            return ticket

    async def events(self, ticket_id: int) -> list[str]:
        async with self.db.reading() as uow:
            return [e.action for e in await uow.tickets.events(ticket_id)]

    async def rows(self, ticket_id: int | None = None) -> list[FollowUp]:
        async with self.db.reading() as uow:
            if ticket_id is None:
                from sqlalchemy import select

                return list((await uow.session.execute(select(FollowUp).order_by(FollowUp.id))).scalars().all())
            return list(await uow.follow_ups.of_ticket(ticket_id))

    async def inbox(self, chat: str) -> list[OutboxMessage]:
        async with self.db.reading() as uow:
            return list(await uow.outbox.transcript("webchat", chat, 0, 10_000))

    async def texts(self, chat: str) -> list[str]:
        return [Reply.from_payload(open_payload(self.db.cipher, m.payload)).text for m in await self.inbox(chat)]

    def t(self, msgid: str, **params: object) -> str:
        return self.translator("zh_CN", msgid, **params)


async def tick(db: Database, translator: Translator, now: datetime, rules: Rules | None = None) -> TickReport:
    """One follow-up tick, as the scheduler runs it (with the desk's subscribers)."""
    return await fire_follow_ups(db, translator, rules or Rules(), now, batch=BATCH, report=TickReport())


async def make_world(db: Database, translator: Translator, clock: FakeClock, rules: Rules | None = None) -> World:
    now = clock()
    async with db() as uow:
        parent = await uow.units.upsert(
            {"code": "city-justice", "kind": "justice", "name_zh": "汉中市司法局", "name_en": "Hanzhong Justice Bureau"}
        )
        unit = await uow.units.upsert(
            {"code": "hantai-justice", "kind": "justice", "name_zh": "汉台区司法局", "name_en": "Hantai Justice Bureau",
             "county": "hantai"}
        )  # fmt: skip
        unit.parent_id = parent.id
        members = []
        for chat, unit_id, role, name in [
            ("officer-1", unit.id, "officer", "王警官"),
            ("officer-2", unit.id, "officer", "赵干事"),
            ("leader-1", unit.id, "leader", "李科长"),
            ("leader-p", parent.id, "leader", "张局长"),
        ]:
            identity = await uow.people.create("webchat", chat, "zh_CN", now)
            officer = await uow.officers.add(
                Officer(person_id=identity.person_id, unit_id=unit_id, role=role, name=name, created_at=now)
            )
            members.append(Member(officer.id, identity.person_id, chat))
        citizen = await uow.people.create("webchat", "citizen-1", "zh_CN", now)
        await uow.commit()
    return World(
        db, translator, clock, unit.id, parent.id, *members, citizen_id=citizen.person_id, rules=rules or Rules()
    )
