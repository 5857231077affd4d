"""What the citizen's data rights read and change (issue #16): what is held about a person, the copies handed out,
erasing a person's chats and their personal rows, scrubbing a ticket down to what statistics need, the retention
job's questions, and the audit trail of one ticket or a period."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import String, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    ChatIdentity,
    ClusterKey,
    ConfirmedPhone,
    Conversation,
    DataCopy,
    FollowUp,
    InboxEntry,
    LinkCode,
    OutboxMessage,
    PersonLink,
    PushSubscription,
    SmsSent,
    SubscriberPrefs,
    Subscription,
    Ticket,
    TicketErasure,
    TicketEvent,
    Upload,
    WebChatPresence,
    WeChatGrant,
    WeChatWindow,
)

SETTLED: Final = ("sent", "failed", "unreachable", "dropped")  # an outbox row that will not be sent (again)
UNSENT: Final = ("pending", "sending", "waiting")
ERASED_RECIPIENT: Final = "-"
EMPTY_PAYLOAD: Final[dict[str, Any]] = {"text": ""}


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Held:
    """How much is held about a person, as /privacy says it."""

    tickets: int
    messages: int
    subscriptions: int
    chats: int


@dataclass(frozen=True)
class Trail:
    """One line of a ticket's audit trail: an audit row (a reveal, an export) or a ticket event (a claim, a
    transfer), who did it and when."""

    at: datetime
    actor_person_id: int | None
    action: str
    ticket_id: int | None
    source: str  # audit | event
    from_status: str | None = None
    to_status: str | None = None
    origin: str | None = None


class RightsRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    # ---- what is held

    def _to_person(self, person_id: int, chats: Collection[tuple[str, str]]) -> Any:
        mine = [and_(OutboxMessage.channel == c, OutboxMessage.recipient == r) for c, r in chats]
        return or_(OutboxMessage.person_id == person_id, *mine)

    async def held(self, person_id: int, chats: Collection[tuple[str, str]]) -> Held:
        tickets = select(func.count()).select_from(Ticket).where(Ticket.citizen_id == person_id)
        messages = select(func.count()).select_from(OutboxMessage).where(self._to_person(person_id, chats))
        topics = select(func.count()).select_from(Subscription).where(Subscription.person_id == person_id)
        return Held(
            tickets=int((await self.session.execute(tickets)).scalar_one()),
            messages=int((await self.session.execute(messages)).scalar_one()),
            subscriptions=int((await self.session.execute(topics)).scalar_one()),
            chats=len(chats),
        )

    async def messages_to(self, person_id: int, chats: Collection[tuple[str, str]]) -> Sequence[OutboxMessage]:
        stmt = select(OutboxMessage).where(self._to_person(person_id, chats)).order_by(OutboxMessage.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def topics(self, person_id: int) -> list[str]:
        stmt = select(Subscription.topic).where(Subscription.person_id == person_id).order_by(Subscription.topic)
        return list((await self.session.execute(stmt)).scalars())

    async def county_of(self, person_id: int) -> str | None:
        return (
            await self.session.execute(select(SubscriberPrefs.county).where(SubscriberPrefs.person_id == person_id))
        ).scalar_one_or_none()

    async def push_count(self, identity_ids: Collection[int]) -> int:
        if not identity_ids:
            return 0
        stmt = (
            select(func.count())
            .select_from(PushSubscription)
            .where(PushSubscription.identity_id.in_(list(identity_ids)))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def links_of(self, person_id: int) -> Sequence[PersonLink]:
        stmt = select(PersonLink).where(or_(PersonLink.person_id == person_id, PersonLink.from_person_id == person_id))
        return (await self.session.execute(stmt.order_by(PersonLink.id))).scalars().all()

    async def uploads_of(self, chat_ids: Collection[str]) -> Sequence[Upload]:
        if not chat_ids:
            return []
        stmt = select(Upload).where(Upload.chat_id.in_(list(chat_ids))).order_by(Upload.id)
        return (await self.session.execute(stmt)).scalars().all()

    # ---- copies (PIPL Art. 45)

    async def add_copy(self, copy: DataCopy, *, forget_before: datetime) -> None:
        await self.forget_copies(forget_before)
        self.session.add(copy)
        await self.session.flush()

    async def copy(self, token_hash: str, now: datetime) -> DataCopy | None:
        stmt = select(DataCopy).where(DataCopy.token_hash == token_hash, DataCopy.expires_at > now)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def take_copy(self, token_hash: str, now: datetime) -> DataCopy | None:
        """The copy, marked used; None when it is unknown, used or expired."""
        stmt = (
            update(DataCopy)
            .where(DataCopy.token_hash == token_hash, DataCopy.used_at.is_(None), DataCopy.expires_at > now)
            .values(used_at=now)
            .returning(DataCopy.id)
        )
        taken = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if taken is None else await self.session.get(DataCopy, taken)

    async def forget_copies(self, before: datetime, person_id: int | None = None) -> int:
        stmt = delete(DataCopy).where(DataCopy.expires_at < before)
        if person_id is not None:
            stmt = delete(DataCopy).where(DataCopy.person_id == person_id)
        return _rows(await self.session.execute(stmt))

    # ---- erasing a person (PIPL Art. 47)

    async def erase_person(self, person_id: int, identities: Sequence[ChatIdentity], now: datetime) -> int:
        """Every row that says who the person is or how to reach them: their chats and what hangs on them (links,
        link codes, push subscriptions, WeChat windows and grants, open pages), subscriptions, the SMS phone and
        the SMS log, copies; outbox rows to them emptied and unsent ones dropped; the conversation state emptied.
        Returns how many rows went or were emptied."""
        ids = [i.id for i in identities]
        chats = [(i.channel, i.external_id) for i in identities]
        openids = [i.external_id for i in identities if i.channel == "wechat"]
        pages = [i.external_id for i in identities if i.channel == "webchat"]
        count = 0
        s = self.session
        if chats:
            unsent = and_(self._to_person(person_id, chats), OutboxMessage.status.in_(UNSENT))
            await s.execute(update(OutboxMessage).where(unsent).values(status="dropped", last_error="erased"))
            count += _rows(
                await s.execute(
                    update(OutboxMessage)
                    .where(self._to_person(person_id, chats))
                    .values(payload=EMPTY_PAYLOAD, recipient=ERASED_RECIPIENT, ladder=None, platform_message_id=None)
                )
            )
        if ids:
            on_chats: tuple[tuple[type[Any], Any], ...] = (
                (PersonLink, PersonLink.identity_id), (LinkCode, LinkCode.identity_id),
                (PushSubscription, PushSubscription.identity_id),
            )  # fmt: skip
            for table, column in on_chats:
                count += _rows(await s.execute(delete(table).where(column.in_(ids))))
        of_person: tuple[tuple[type[Any], Any], ...] = (
            (PersonLink, or_(PersonLink.person_id == person_id, PersonLink.from_person_id == person_id)),
            (LinkCode, LinkCode.person_id == person_id),
            (Subscription, Subscription.person_id == person_id),
            (SubscriberPrefs, SubscriberPrefs.person_id == person_id),
            (ConfirmedPhone, ConfirmedPhone.person_id == person_id),
            (SmsSent, SmsSent.person_id == person_id),
            (DataCopy, DataCopy.person_id == person_id),
        )
        for table, where in of_person:
            count += _rows(await s.execute(delete(table).where(where)))
        if openids:
            count += _rows(await s.execute(delete(WeChatWindow).where(WeChatWindow.openid.in_(openids))))
            count += _rows(await s.execute(delete(WeChatGrant).where(WeChatGrant.openid.in_(openids))))
        if pages:
            count += _rows(await s.execute(delete(WebChatPresence).where(WebChatPresence.chat_id.in_(pages))))
            count += _rows(await s.execute(delete(Upload).where(Upload.chat_id.in_(pages))))
        await s.execute(
            update(Conversation)
            .where(Conversation.person_id == person_id)
            .values(interview=None, step=None, state_sealed="", updated_at=now)
        )
        for identity in identities:  # through the session: the turn holds its own chat's identity
            await s.delete(identity)
        await s.flush()
        return count + len(identities)

    # ---- scrubbing a ticket down to what statistics need

    async def erasure(self, ticket_id: int) -> TicketErasure | None:
        return await self.session.get(TicketErasure, ticket_id)

    async def record_erasure(self, erasure: TicketErasure) -> None:
        self.session.add(erasure)
        await self.session.flush()

    async def scrub_ticket_rows(self, ticket: Ticket) -> int:
        """What other tables hold of one ticket's personal data: the events' notes, the follow-ups' parameters (and
        those still due, cancelled), the cluster keys (an employer, an account), and outbox rows that quote it
        (alerts and cards to officers: found by the ticket's number)."""
        s, count = self.session, 0
        count += _rows(
            await s.execute(
                update(TicketEvent)
                .where(
                    TicketEvent.ticket_id == ticket.id,
                    or_(TicketEvent.note.is_not(None), TicketEvent.note_sealed.is_not(None)),
                )
                .values(note=None, note_sealed=None)
            )
        )
        await s.execute(
            update(FollowUp)
            .where(FollowUp.ticket_id == ticket.id, FollowUp.status == "pending")
            .values(status="cancelled")
        )
        count += _rows(await s.execute(update(FollowUp).where(FollowUp.ticket_id == ticket.id).values(params={})))
        count += _rows(await s.execute(delete(ClusterKey).where(ClusterKey.ticket_id == ticket.id)))
        quoting = and_(
            OutboxMessage.created_at >= ticket.created_at,
            cast(OutboxMessage.payload, String).like(f"%{ticket.number}%"),
        )
        await s.execute(
            update(OutboxMessage)
            .where(quoting, OutboxMessage.status.in_(UNSENT))
            .values(status="dropped", last_error="erased")
        )
        count += _rows(await s.execute(update(OutboxMessage).where(quoting).values(payload=EMPTY_PAYLOAD)))
        return count

    # ---- retention (PIPL Art. 19)

    async def expired(
        self, closed_before: datetime, *, kinds: Collection[str] | None = None, other_than: Collection[str] = (),
        limit: int = 200,
    ) -> Sequence[Ticket]:  # fmt: skip
        """Tickets closed before `closed_before` (of `kinds`, or of any kind but `other_than`) whose personal data
        is still there, oldest first."""
        erased = select(TicketErasure.ticket_id).where(TicketErasure.ticket_id == Ticket.id).exists()
        stmt = select(Ticket).where(Ticket.closed_at.is_not(None), Ticket.closed_at < closed_before, ~erased)
        if kinds is not None:
            stmt = stmt.where(Ticket.kind.in_(list(kinds)))
        if other_than:
            stmt = stmt.where(Ticket.kind.not_in(list(other_than)))
        stmt = stmt.order_by(Ticket.closed_at, Ticket.id).limit(limit).with_for_update()
        return (await self.session.execute(stmt)).scalars().all()

    async def forget_inbox(self, before: datetime) -> int:
        return _rows(await self.session.execute(delete(InboxEntry).where(InboxEntry.received_at < before)))

    async def forget_outbox(self, before: datetime) -> int:
        """Settled rows older than `before`: a broadcast's row stays, emptied and without its recipient (the ledger
        counts what a broadcast reached); every other row goes."""
        old = and_(OutboxMessage.created_at < before, OutboxMessage.status.in_(SETTLED))
        emptied = _rows(
            await self.session.execute(
                update(OutboxMessage)
                .where(old, OutboxMessage.broadcast_id.is_not(None), OutboxMessage.recipient != ERASED_RECIPIENT)
                .values(payload=EMPTY_PAYLOAD, recipient=ERASED_RECIPIENT, ladder=None)
            )
        )
        gone = _rows(await self.session.execute(delete(OutboxMessage).where(old, OutboxMessage.broadcast_id.is_(None))))
        return emptied + gone

    async def unattached_uploads(self, before: datetime) -> Sequence[Upload]:
        stmt = select(Upload).where(Upload.attached_at.is_(None), Upload.created_at < before).order_by(Upload.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def forget_uploads(self, ids: Collection[int]) -> None:
        if ids:
            await self.session.execute(delete(Upload).where(Upload.id.in_(list(ids))))

    # ---- the audit trail

    async def trail(
        self,
        *,
        ticket_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Trail]:
        """Audit rows and ticket events (staff's: a citizen's own are not surveillance) of one ticket or of a
        period, oldest first."""
        audit = select(AuditEntry)
        events = select(TicketEvent)
        if ticket_id is not None:
            audit = audit.where(AuditEntry.ticket_id == ticket_id)
            events = events.where(TicketEvent.ticket_id == ticket_id)
        if start is not None:
            audit = audit.where(AuditEntry.created_at >= start)
            events = events.where(TicketEvent.created_at >= start)
        if end is not None:
            audit = audit.where(AuditEntry.created_at < end)
            events = events.where(TicketEvent.created_at < end)
        rows = [
            Trail(a.created_at, a.actor_person_id, a.action, a.ticket_id, "audit", origin=a.origin)
            for a in (await self.session.execute(audit.order_by(AuditEntry.id))).scalars()
        ]
        rows += [
            Trail(e.created_at, e.actor_person_id, e.action, e.ticket_id, "event", e.from_status, e.to_status)
            for e in (await self.session.execute(events.order_by(TicketEvent.id))).scalars()
        ]
        rows.sort(key=lambda r: r.at)
        return rows[-limit:] if limit else rows
