"""Seeding a bot's database for broadcast floods (the flood test and bench/broadcast_rate.py): thousands of
Telegram subscribers, two admins, and an approved broadcast ready to go out. Rows are written directly: the chat
flows that make them are proven in tests/test_broadcasts.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from storage.models import Broadcast, ChatIdentity, Officer, OutboxMessage, Person, Subscription, Unit
from storage.uow import Database

FIRST_CHAT = 500_000
TEXT = "【普法】警惕冒充公检法诈骗：公安机关不会通过电话办案，更不会要求转账到“安全账户”。"


@dataclass(frozen=True)
class World:
    author_chat: int
    approver_chat: int
    author_person: int
    approver_person: int
    subscriber_chats: list[int]


async def _person(db: Database, chat: int, now: datetime) -> int:
    async with db() as uow:
        identity = await uow.people.create("telegram", str(chat), "zh_CN", now)
        await uow.commit()
        return identity.person_id


async def seed(db: Database, subscribers: int, *, topic: str = "anti_fraud", author_chat: int = 11) -> World:
    now = datetime.now(UTC)
    author, approver = await _person(db, author_chat, now), await _person(db, author_chat + 1, now)
    async with db() as uow:
        unit = Unit(code="city-intake", kind="petition", name_zh="市诉求中心", name_en="City intake", active=True)
        uow.session.add(unit)
        await uow.session.flush()
        for person, name in ((author, "张管理"), (approver, "李管理")):
            uow.session.add(
                Officer(person_id=person, unit_id=unit.id, role="admin", name=name, active=True, created_at=now)
            )
        chats = list(range(FIRST_CHAT, FIRST_CHAT + subscribers))
        for start in range(0, subscribers, 2000):
            part = chats[start : start + 2000]
            ids = sorted(
                int(p)
                for p in (
                    await uow.session.execute(
                        insert(Person).returning(Person.id),
                        [{"locale": "zh_CN", "created_at": now, "consent_declined": False} for _ in part],
                    )
                ).scalars()
            )
            await uow.session.execute(
                insert(ChatIdentity),
                [
                    {
                        "person_id": p,
                        "channel": "telegram",
                        "external_id": str(c),
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for p, c in zip(ids, part, strict=True)
                ],
            )
            await uow.session.execute(
                insert(Subscription), [{"person_id": p, "topic": topic, "created_at": now} for p in ids]
            )
        await uow.commit()
    return World(author_chat, author_chat + 1, author, approver, chats)


async def approve_broadcast(db: Database, world: World, *, topic: str = "anti_fraud", text: str = TEXT) -> int:
    """A broadcast the way the two-person rule leaves it: composed by one admin, approved by the other."""
    now = datetime.now(UTC)
    async with db() as uow:
        broadcast = await uow.broadcasts.add(
            Broadcast(
                author_person_id=world.author_person,
                topic=topic,
                county=None,
                text_zh=text,
                text_en=None,
                photo=None,
                send_at=now,
                status="scheduled",
                approved_by_person_id=world.approver_person,
                approved_at=now,
                fanout_cursor=0,
                fanned_out=0,
                recipients=0,
                created_at=now,
            )
        )
        await uow.commit()
        return broadcast.id


async def broadcast_statuses(db: Database, broadcast_id: int) -> dict[str, int]:
    async with db.reading() as uow:
        rows = (
            await uow.session.execute(
                select(OutboxMessage.status).where(
                    OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.kind == "broadcast"
                )
            )
        ).scalars()
        counts: dict[str, int] = {}
        for status in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts
