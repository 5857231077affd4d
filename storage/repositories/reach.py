"""What reaching a person needs to remember (issue #14): links between chats and their codes, web push
subscriptions, the phone confirmed for SMS and the SMS sent, open web chat pages, and the rows waiting for the
person's next message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import (
    ChatIdentity,
    ConfirmedPhone,
    LinkCode,
    OutboxMessage,
    PersonLink,
    PushSubscription,
    SmsSent,
    Subscription,
    Ticket,
    WebChatPresence,
    WeChatGrant,
    WeChatWindow,
)


@dataclass(frozen=True)
class Way:
    """One chat of a person as the ladder and the ticket card see it."""

    channel: str
    external_id: str
    reachable: bool
    window_until: datetime | None = None  # WeChat: the customer-service window, when it is open
    granted: bool = False  # WeChat: a subscription notification the follower accepted
    present: bool = False  # web chat: a page open now


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class ReachRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    # ---- the ways to a person, as of now

    async def ways(self, person_id: int, now: datetime) -> list[Way]:
        """Every chat of the person, most recently used first, with what can deliver to it now."""
        stmt = (
            select(ChatIdentity.channel, ChatIdentity.external_id, ChatIdentity.unreachable_at)
            .where(ChatIdentity.person_id == person_id)
            .order_by(ChatIdentity.last_seen_at.desc(), ChatIdentity.id.desc())
        )
        chats = (await self.session.execute(stmt)).all()
        openids = [c[1] for c in chats if c[0] == "wechat"]
        pages = [c[1] for c in chats if c[0] == "webchat"]
        windows: dict[str, datetime] = {}
        granted: set[str] = set()
        present: set[str] = set()
        if openids:
            rows = await self.session.execute(
                select(WeChatWindow.openid, WeChatWindow.until).where(
                    WeChatWindow.openid.in_(openids), WeChatWindow.until > now, WeChatWindow.sends_left > 0
                )
            )
            windows = {openid: until for openid, until in rows.all()}
            grants = await self.session.execute(
                select(WeChatGrant.openid).where(
                    WeChatGrant.openid.in_(openids), or_(WeChatGrant.remaining.is_(None), WeChatGrant.remaining > 0)
                )
            )
            granted = set(grants.scalars())
        if pages:
            present = await self.present(pages, now)
        return [
            Way(channel, external_id, unreachable is None, windows.get(external_id), external_id in granted,
                external_id in present)
            for channel, external_id, unreachable in chats
        ]  # fmt: skip

    # ---- open web chat pages

    async def mark_present(self, chat_id: str, until: datetime) -> None:
        await self.session.execute(
            insert_for(self.dialect, WebChatPresence)
            .values(chat_id=chat_id, until=until)
            .on_conflict_do_update(index_elements=["chat_id"], set_={"until": until})
        )

    async def mark_gone(self, chat_id: str) -> None:
        await self.session.execute(delete(WebChatPresence).where(WebChatPresence.chat_id == chat_id))

    async def present(self, chat_ids: Sequence[str], now: datetime) -> set[str]:
        if not chat_ids:
            return set()
        stmt = select(WebChatPresence.chat_id).where(
            WebChatPresence.chat_id.in_(list(chat_ids)), WebChatPresence.until > now
        )
        return set((await self.session.execute(stmt)).scalars())

    # ---- rows waiting for the person's next message

    async def release_waiting(self, person_id: int, channel: str, recipient: str, now: datetime) -> int:
        """The person wrote on (channel, recipient): whatever waited for them goes there now, in order."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "waiting",
                or_(
                    OutboxMessage.person_id == person_id,
                    and_(OutboxMessage.channel == channel, OutboxMessage.recipient == recipient),
                ),
            )
            .values(status="pending", rung="chat", channel=channel, recipient=recipient, not_before=now,
                    lease_until=None, attempts=0)
        )  # fmt: skip
        return _rows(result)

    # ---- link codes and links

    async def add_code(self, code: LinkCode) -> None:
        self.session.add(code)
        await self.session.flush()

    async def code(self, code_hash: str, now: datetime) -> LinkCode | None:
        """An unused, unexpired code, locked till commit."""
        stmt = (
            select(LinkCode)
            .where(LinkCode.code_hash == code_hash, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_link(self, link: PersonLink) -> PersonLink:
        self.session.add(link)
        await self.session.flush()
        return link

    async def link(self, link_id: int) -> PersonLink | None:
        return await self.session.get(PersonLink, link_id, with_for_update=True)

    async def link_of(self, identity_id: int) -> PersonLink | None:
        """The link that brought this chat into its person, while it holds."""
        stmt = select(PersonLink).where(PersonLink.identity_id == identity_id, PersonLink.unlinked_at.is_(None))
        return (await self.session.execute(stmt.order_by(PersonLink.id.desc()).limit(1))).scalar_one_or_none()

    async def links_into(self, person_id: int) -> Sequence[PersonLink]:
        stmt = select(PersonLink).where(PersonLink.person_id == person_id, PersonLink.unlinked_at.is_(None))
        return (await self.session.execute(stmt.order_by(PersonLink.id))).scalars().all()

    async def add_identity(self, person_id: int, channel: str, external_id: str, now: datetime) -> ChatIdentity:
        identity = ChatIdentity(person_id=person_id, channel=channel, external_id=external_id, created_at=now,
                                last_seen_at=now)  # fmt: skip
        self.session.add(identity)
        await self.session.flush()
        return identity

    async def move_identity(self, identity_id: int, person_id: int) -> None:
        await self.session.execute(
            update(ChatIdentity).where(ChatIdentity.id == identity_id).values(person_id=person_id)
        )

    async def ticket_ids_of(self, person_id: int) -> list[int]:
        stmt = select(Ticket.id).where(Ticket.citizen_id == person_id).order_by(Ticket.id)
        return [int(i) for i in (await self.session.execute(stmt)).scalars()]

    async def move_tickets(self, ticket_ids: Sequence[int], from_person: int, to_person: int) -> None:
        if ticket_ids:
            await self.session.execute(
                update(Ticket)
                .where(Ticket.id.in_(list(ticket_ids)), Ticket.citizen_id == from_person)
                .values(citizen_id=to_person)
            )

    async def copy_subscriptions(self, from_person: int, to_person: int, now: datetime) -> None:
        topics = await self.session.execute(select(Subscription.topic).where(Subscription.person_id == from_person))
        rows = [{"person_id": to_person, "topic": topic, "created_at": now} for topic in topics.scalars()]
        if rows:
            await self.session.execute(
                insert_for(self.dialect, Subscription)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["person_id", "topic"])
            )

    # ---- web push subscriptions

    async def subscribe(self, identity_id: int, endpoint_hash: str, info_sealed: str, now: datetime) -> None:
        await self.session.execute(
            insert_for(self.dialect, PushSubscription)
            .values(identity_id=identity_id, endpoint_hash=endpoint_hash, info_sealed=info_sealed, created_at=now)
            .on_conflict_do_update(
                index_elements=["endpoint_hash"], set_={"identity_id": identity_id, "info_sealed": info_sealed}
            )
        )

    async def subscriptions(self, person_id: int) -> Sequence[PushSubscription]:
        """The person's push subscriptions, newest first."""
        stmt = (
            select(PushSubscription)
            .join(ChatIdentity, ChatIdentity.id == PushSubscription.identity_id)
            .where(ChatIdentity.person_id == person_id)
            .order_by(PushSubscription.id.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def drop_subscription(self, subscription_id: int) -> None:
        await self.session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))

    async def pushed(self, subscription_id: int, now: datetime) -> None:
        await self.session.execute(
            update(PushSubscription).where(PushSubscription.id == subscription_id).values(last_ok_at=now)
        )

    # ---- the phone for SMS

    async def phone(self, person_id: int, *, for_update: bool = False) -> ConfirmedPhone | None:
        return await self.session.get(ConfirmedPhone, person_id, with_for_update=for_update)

    async def set_phone(self, phone: ConfirmedPhone) -> ConfirmedPhone:
        merged = await self.session.merge(phone)
        await self.session.flush()
        return merged

    async def sms_count(self, day: str, *, person_id: int | None = None, ticket_number: str | None = None,
                        kind: str = "notice") -> int:  # fmt: skip
        stmt = select(func.count()).select_from(SmsSent).where(SmsSent.day == day, SmsSent.kind == kind)
        if person_id is not None:
            stmt = stmt.where(SmsSent.person_id == person_id)
        if ticket_number is not None:
            stmt = stmt.where(SmsSent.ticket_number == ticket_number)
        return int((await self.session.execute(stmt)).scalar_one())

    async def record_sms(self, sent: SmsSent) -> bool:
        """False when this outbox row was recorded before (it is being sent, or was)."""
        stmt = (
            insert_for(self.dialect, SmsSent)
            .values(person_id=sent.person_id, outbox_id=sent.outbox_id, ticket_number=sent.ticket_number,
                    kind=sent.kind, day=sent.day, created_at=sent.created_at)
            .on_conflict_do_nothing(index_elements=["outbox_id"])
            .returning(SmsSent.id)
        )  # fmt: skip
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None
