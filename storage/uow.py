"""The unit of work: one transaction, the repositories that work inside it, and the database they share."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Self

from sqlalchemy import and_, delete, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from storage.crypto import FieldCipher
from storage.db import WriteGate, create_engine, is_sqlite
from storage.duty import DutyRepository
from storage.ladder import LadderRepository
from storage.models import (
    AuditEntry,
    ChatIdentity,
    Conversation,
    FollowUp,
    InboxEntry,
    Invite,
    Officer,
    OutboxMessage,
    Person,
    RoutingRule,
    Ticket,
    TicketCounter,
    TicketEvent,
    Unit,
)
from storage.outreach import BroadcastRepository, GuideRepository, SubscriptionRepository


class Database:
    """Engines and the write gate for one database URL. SQLite reads skip the write lock."""

    def __init__(self, url: str, cipher: FieldCipher) -> None:
        self.url = url
        self.cipher = cipher
        self.sqlite = is_sqlite(url)
        self.engine: AsyncEngine = create_engine(url)
        self.read_engine: AsyncEngine = self.engine
        if self.sqlite:
            self.read_engine = create_engine(url, immediate=False)
        self.gate = WriteGate(serialise=self.sqlite)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reads = async_sessionmaker(self.read_engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self, write=True)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self, write=False)

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


Subscriber = Callable[[object], Awaitable[None]]


class UnitOfWork:
    """`async with db() as uow: …; await uow.commit()` — anything not committed is rolled back.

    Domain events recorded here (`await uow.record(event)`) go at once to `publish`, which whoever opened the unit
    of work set: the subscribers run inside this transaction, before the commit."""

    session: AsyncSession

    def __init__(self, db: Database, *, write: bool) -> None:
        self.db = db
        self.write = write
        self.events: list[object] = []
        self.publish: Subscriber | None = None

    async def record(self, event: object) -> None:
        self.events.append(event)
        if self.publish is not None:
            await self.publish(event)

    async def __aenter__(self) -> Self:
        if self.write:
            await self.db.gate.__aenter__()
        maker = self.db._writes if self.write else self.db._reads
        self.session = maker()
        s, cipher, dialect = self.session, self.db.cipher, "sqlite" if self.db.sqlite else "postgresql"
        self.inbox = InboxRepository(s, dialect)
        self.people = PeopleRepository(s)
        self.conversations = ConversationRepository(s, dialect, cipher)
        self.outbox = OutboxRepository(s, dialect, cipher)
        self.tickets = TicketRepository(s, dialect, cipher)
        self.units = UnitRepository(s)
        self.officers = OfficerRepository(s)
        self.follow_ups = FollowUpRepository(s, dialect)
        self.ladder = LadderRepository(s, dialect)
        self.guide = GuideRepository(s, dialect)
        self.subscriptions = SubscriptionRepository(s, dialect)
        self.broadcasts = BroadcastRepository(s, dialect)
        self.duty = DutyRepository(s)
        self.cipher = cipher
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.session.close()  # rolls back what was not committed; loaded objects stay readable
        finally:
            if self.write:
                await self.db.gate.__aexit__()

    async def commit(self) -> None:
        await self.session.commit()

    async def flush(self) -> None:
        await self.session.flush()


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class InboxRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def record(self, channel: str, update_key: str, now: datetime) -> bool:
        """True when the key is new; False for a repeat (which must then change nothing)."""
        stmt = (
            _insert(self.dialect, InboxEntry)
            .values(channel=channel, update_key=update_key, received_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
            .returning(InboxEntry.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def seen(self, channel: str, update_key: str) -> bool:
        stmt = select(InboxEntry.id).where(InboxEntry.channel == channel, InboxEntry.update_key == update_key)
        return (await self.session.execute(stmt)).first() is not None


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def identity(self, channel: str, external_id: str) -> ChatIdentity | None:
        stmt = select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def who(
        self, channel: str, external_id: str, *, unsent_below: int | None = None
    ) -> tuple[ChatIdentity, Person, bool] | None:
        """The chat's identity and its person in one query (every turn starts here), and, with `unsent_below`, whether
        a message to this chat more urgent than that priority is still waiting or on its way."""
        unsent = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == external_id,
                OutboxMessage.status.in_(["pending", "sending"]),
                OutboxMessage.priority < unsent_below,
            )
            .exists()
            if unsent_below is not None
            else literal(False)
        )
        stmt = (
            select(ChatIdentity, Person, unsent.label("unsent"))
            .join(Person, Person.id == ChatIdentity.person_id)
            .where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
        )
        found = (await self.session.execute(stmt)).one_or_none()
        return None if found is None else (found[0], found[1], bool(found[2]))

    async def create(self, channel: str, external_id: str, locale: str, now: datetime) -> ChatIdentity:
        person = Person(locale=locale, created_at=now, consent_declined=False)
        self.session.add(person)
        await self.session.flush()
        identity = ChatIdentity(
            person_id=person.id, channel=channel, external_id=external_id, created_at=now, last_seen_at=now
        )
        self.session.add(identity)
        await self.session.flush()
        return identity

    async def get(self, person_id: int) -> Person:
        return await self.session.get_one(Person, person_id)

    async def identities_of(self, person_id: int) -> Sequence[ChatIdentity]:
        stmt = (
            select(ChatIdentity).where(ChatIdentity.person_id == person_id).order_by(ChatIdentity.last_seen_at.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_unreachable(self, channel: str, external_id: str, now: datetime) -> None:
        await self.session.execute(
            update(ChatIdentity)
            .where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
            .values(unreachable_at=now)
        )


class ConversationRepository:
    def __init__(self, session: AsyncSession, dialect: str, cipher: FieldCipher) -> None:
        self.session, self.dialect, self.cipher = session, dialect, cipher

    def unseal(self, conversation: Conversation) -> str:
        return self.cipher.decrypt(conversation.state_sealed) if conversation.state_sealed else ""

    def seal(
        self, conversation: Conversation, interview: str | None, step: str | None, state: str, now: datetime
    ) -> None:
        """The state holds answers (phone numbers among them), so it is stored encrypted."""
        conversation.interview, conversation.step = interview, step
        conversation.state_sealed = self.cipher.encrypt(state)
        conversation.version += 1
        conversation.updated_at = now

    async def get_for_update(self, person_id: int, now: datetime) -> Conversation:
        """The person's conversation row, created if missing, locked until commit (PostgreSQL)."""
        stmt = select(Conversation).where(Conversation.person_id == person_id).with_for_update()
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        if found is not None:
            return found
        await self.session.execute(
            _insert(self.dialect, Conversation)
            .values(person_id=person_id, state_sealed="", version=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["person_id"])
        )
        return (await self.session.execute(stmt)).scalar_one()


class OutboxRepository:
    def __init__(self, session: AsyncSession, dialect: str, cipher: FieldCipher) -> None:
        self.session, self.dialect, self.cipher = session, dialect, cipher

    def seal(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A message that carries personal data in full (a revealed phone, an invite code) is stored encrypted."""
        return {"sealed": self.cipher.encrypt(json.dumps(payload, ensure_ascii=False))}

    def open(self, payload: dict[str, Any]) -> dict[str, Any]:
        sealed = payload.get("sealed")
        if not isinstance(sealed, str):
            return payload
        opened: dict[str, Any] = json.loads(self.cipher.decrypt(sealed))
        return opened

    async def add_all(self, messages: Sequence[OutboxMessage]) -> None:
        """A turn's messages in one flush (one statement on PostgreSQL)."""
        self.session.add_all(messages)
        await self.session.flush()

    async def enqueue(self, message: OutboxMessage) -> OutboxMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def claim_due(
        self, channel: str, now: datetime, limit: int, lease: timedelta, *, exclude: Sequence[str] = ()
    ) -> Sequence[OutboxMessage]:
        """Take up to `limit` due rows for sending, most urgent first; a lease keeps other senders off them."""
        due = and_(
            OutboxMessage.channel == channel,
            OutboxMessage.not_before <= now,
            or_(
                OutboxMessage.status == "pending",
                and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
            ),
        )
        if exclude:
            due = and_(due, OutboxMessage.recipient.not_in(exclude))
        # A chat reads its messages in order: nothing overtakes an earlier row of the same or higher urgency that
        # is waiting (deferred by a 429, a back-off or the chat's pace) or in flight with another sender.
        earlier = aliased(OutboxMessage)
        waiting = (
            select(earlier.id)
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.recipient == OutboxMessage.recipient,
                earlier.id < OutboxMessage.id,
                earlier.priority <= OutboxMessage.priority,
                or_(
                    and_(earlier.status == "pending", earlier.not_before > now),
                    and_(earlier.status == "sending", earlier.lease_until >= now),
                ),
            )
            .exists()
        )
        due = and_(due, ~waiting)
        stmt = select(OutboxMessage).where(due).order_by(OutboxMessage.priority, OutboxMessage.id).limit(limit)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await self.session.execute(stmt)).scalars().all()
        for row in rows:
            row.status = "sending"
            row.lease_until = now + lease
            row.started_at = None
            row.attempts += 1
        await self.session.flush()
        return rows

    async def mark_started(self, message_ids: Sequence[int], now: datetime) -> None:
        """These leased rows' requests are about to go out (see OutboxMessage.started_at)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == "sending")
            .values(started_at=now)
        )

    async def transcript(self, channel: str, recipient: str, after_id: int, limit: int) -> Sequence[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == recipient,
                OutboxMessage.id > after_id,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def last_id(self, channel: str, recipient: str) -> int:
        stmt = select(func.max(OutboxMessage.id)).where(
            OutboxMessage.channel == channel, OutboxMessage.recipient == recipient
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() or 0

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def get_many(self, message_ids: Sequence[int]) -> dict[int, OutboxMessage]:
        """Many rows in one query each 500: settling a broadcast's hundreds row by row costs seconds on SQLite."""
        found: dict[int, OutboxMessage] = {}
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start : start + 500])
            rows = (await self.session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(chunk)))).scalars()
            found.update((row.id, row) for row in rows)
        return found

    async def drop_nonessential(self, channel: str, recipient: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == recipient,
                OutboxMessage.status == "pending",
                OutboxMessage.essential.is_(False),
            )
            .values(status="dropped")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pending_count(self, channel: str | None = None) -> int:
        stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(["pending", "sending"]))
        if channel is not None:
            stmt = stmt.where(OutboxMessage.channel == channel)
        return int((await self.session.execute(stmt)).scalar_one())


class TicketRepository:
    def __init__(self, session: AsyncSession, dialect: str, cipher: FieldCipher) -> None:
        self.session, self.dialect, self.cipher = session, dialect, cipher

    async def next_number(self, prefix: str, day: str) -> str:
        """HZ-20261127-0001: one statement bumps the day's counter, so concurrent tickets never share a number."""
        stmt = (
            _insert(self.dialect, TicketCounter)
            .values(day=day, last=1)
            .on_conflict_do_update(index_elements=["day"], set_={"last": TicketCounter.last + 1})
            .returning(TicketCounter.last)
        )
        seq = (await self.session.execute(stmt)).scalar_one()
        return f"{prefix}-{day}-{seq:04d}"

    async def add(self, ticket: Ticket) -> Ticket:
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def get_for_update(self, ticket_id: int) -> Ticket | None:
        stmt = select(Ticket).where(Ticket.id == ticket_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_number(self, number: str) -> Ticket | None:
        return (await self.session.execute(select(Ticket).where(Ticket.number == number))).scalar_one_or_none()

    async def of_citizen(self, person_id: int, limit: int = 20) -> Sequence[Ticket]:
        stmt = select(Ticket).where(Ticket.citizen_id == person_id).order_by(Ticket.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def count_created_since(self, person_id: int, since: datetime) -> int:
        stmt = (
            select(func.count()).select_from(Ticket).where(Ticket.citizen_id == person_id, Ticket.created_at >= since)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def append_event(self, event: TicketEvent) -> TicketEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, ticket_id: int, *, citizen_visible_only: bool = False) -> Sequence[TicketEvent]:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        if citizen_visible_only:
            stmt = stmt.where(TicketEvent.citizen_visible.is_(True))
        return (await self.session.execute(stmt.order_by(TicketEvent.id))).scalars().all()

    async def audit(self, actor_person_id: int | None, action: str, ticket_id: int | None, now: datetime) -> None:
        self.session.add(
            AuditEntry(actor_person_id=actor_person_id, action=action, ticket_id=ticket_id, created_at=now)
        )
        await self.session.flush()

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Ticket))).scalar_one())


class UnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[Unit]:
        return (await self.session.execute(select(Unit).order_by(Unit.id))).scalars().all()

    async def by_code(self, code: str) -> Unit | None:
        return (await self.session.execute(select(Unit).where(Unit.code == code))).scalar_one_or_none()

    async def get(self, unit_id: int) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Unit))).scalar_one())

    async def upsert(self, values: dict[str, Any]) -> Unit:
        unit = await self.by_code(values["code"])
        if unit is None:
            unit = Unit(**values)
            self.session.add(unit)
        else:
            for key, value in values.items():
                setattr(unit, key, value)
        await self.session.flush()
        return unit

    async def replace_rules(self, rules: Sequence[RoutingRule]) -> None:
        await self.session.execute(delete(RoutingRule))
        self.session.add_all(list(rules))
        await self.session.flush()

    async def rules(self, **wanted: str | None) -> Sequence[RoutingRule]:
        """The routing rules that could match these values (a blank or "*" in a rule matches anything)."""
        stmt = select(RoutingRule)
        for name, value in wanted.items():
            column = getattr(RoutingRule, name)
            stmt = stmt.where(or_(column.is_(None), column.in_(["", "*", *([value] if value else [])])))
        return (await self.session.execute(stmt)).scalars().all()


class OfficerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_person(self, person_id: int) -> Officer | None:
        stmt = select(Officer).where(Officer.person_id == person_id, Officer.active.is_(True))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, officer_id: int) -> Officer | None:
        return await self.session.get(Officer, officer_id)

    async def of_unit(self, unit_id: int, roles: Sequence[str] = ()) -> Sequence[Officer]:
        stmt = select(Officer).where(Officer.unit_id == unit_id, Officer.active.is_(True))
        if roles:
            stmt = stmt.where(Officer.role.in_(list(roles)))
        return (await self.session.execute(stmt.order_by(Officer.id))).scalars().all()

    async def add(self, officer: Officer) -> Officer:
        self.session.add(officer)
        await self.session.flush()
        return officer

    async def add_invite(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def invite_by_hash(self, code_hash: str) -> Invite | None:
        stmt = select(Invite).where(Invite.code_hash == code_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()


class FollowUpRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def add(self, follow_up: FollowUp) -> FollowUp:
        """Inserted with the next flush: a new ticket's five rungs go in as one statement."""
        self.session.add(follow_up)
        return follow_up

    async def add_once(self, follow_up: FollowUp) -> bool:
        """Insert a keyed follow-up unless one with its key exists (another process may be adding it right now)."""
        values = {c.key: getattr(follow_up, c.key) for c in FollowUp.__table__.columns if c.key != "id"}
        values["status"] = values["status"] or "pending"
        values["attempts"] = values["attempts"] or 0
        values["params"] = values["params"] or {}
        stmt = (
            _insert(self.dialect, FollowUp)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(FollowUp.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def claim_due(self, now: datetime, limit: int, *, exclude: Sequence[int] = ()) -> Sequence[FollowUp]:
        """Due pending rows, oldest first; on PostgreSQL locked till commit and skipped by every other claimer."""
        stmt = select(FollowUp).where(FollowUp.status == "pending", FollowUp.due_at <= now)
        if exclude:
            stmt = stmt.where(FollowUp.id.not_in(list(exclude)))
        stmt = stmt.order_by(FollowUp.due_at, FollowUp.id).limit(limit)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalars().all()

    async def of_ticket(self, ticket_id: int, status: str | None = None) -> Sequence[FollowUp]:
        stmt = select(FollowUp).where(FollowUp.ticket_id == ticket_id)
        if status is not None:
            stmt = stmt.where(FollowUp.status == status)
        return (await self.session.execute(stmt.order_by(FollowUp.due_at, FollowUp.id))).scalars().all()

    async def cancel_for_ticket(self, ticket_id: int, kinds: Sequence[str] = ()) -> None:
        stmt = update(FollowUp).where(FollowUp.ticket_id == ticket_id, FollowUp.status == "pending")
        if kinds:
            stmt = stmt.where(FollowUp.kind.in_(list(kinds)))
        await self.session.execute(stmt.values(status="cancelled"))
