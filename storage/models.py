"""Typed declarative models: every table the desk keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Stored in UTC, always returned timezone-aware (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    """Anyone who talks to the desk: a citizen, and an officer is a person too."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    locale: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    consent_declined: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChatIdentity(Base):
    """One chat of a person on one channel (a Telegram chat, a web chat session, a WeChat OpenID)."""

    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_chat_identities_channel_external"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    unreachable_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Conversation(Base):
    """Where a person is in an interview; the answers are sealed because they hold personal data."""

    __tablename__ = "conversations"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    interview: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    state_sealed: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InboxEntry(Base):
    """Every platform update key seen, so that a repeat changes nothing."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "update_key", name="uq_inbox_channel_update_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """One message on its way out. Replies and alerts (low priority number) go before broadcasts."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "channel", "status", "priority", "not_before"),
        Index("ix_outbox_recipient", "channel", "recipient", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=10)
    essential: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(16), default="reply")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set just before the request of a sent-at-most-once row (a broadcast) goes out, cleared when its outcome is in:
    # a crash leaves uncertain only these, and every row claimed but not yet started is sent after all.
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Parts of a long message (over 4096 characters, or a photo and its text) that already went out: a retry, in this
    # process or after a restart, sends only the rest.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    broadcast_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class Upload(Base):
    """A file a web chat citizen uploaded: whose chat, from which address (a keyed hash), how big. The quotas per
    chat, per address and overall count these rows; a file no ticket holds after a day is removed with its row."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_address_created", "address", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)
    address: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # a ticket holds it: kept


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160))
    county: Mapped[str | None] = mapped_column(String(32), index=True)
    township: Mapped[str | None] = mapped_column(String(48))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoutingRule(Base):
    """ticket kind × category × county / township → unit; blanks match anything, the most specific wins."""

    __tablename__ = "routing_rules"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    county: Mapped[str | None] = mapped_column(String(32))
    township: Mapped[str | None] = mapped_column(String(48))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))


class Officer(Base):
    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[str] = mapped_column(String(5), default="22:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="07:30")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Invite(Base):
    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(12))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TicketCounter(Base):
    """The last public number handed out per day; bumped in one statement so numbers never repeat."""

    __tablename__ = "ticket_counters"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    county: Mapped[str | None] = mapped_column(String(32))
    township: Mapped[str | None] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(24), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claim_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    rating_treatment: Mapped[int | None] = mapped_column(Integer)
    rating_solved: Mapped[str | None] = mapped_column(String(8))
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TicketEvent(Base):
    """Append-only: who did what to a ticket, when, from which status to which."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    citizen_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FollowUp(Base):
    """A timed action on a ticket; the database, not the scheduler, holds it."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)  # set when a follow-up must exist once


class AuditEntry(Base):
    """Who saw personal data in full, and why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GuideEntry(Base):
    """One convenience measure of the service guide (便民服务指南): what can be done, where, when, how to reach it."""

    __tablename__ = "guide_entries"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    county: Mapped[str | None] = mapped_column(String(32), index=True)
    phone: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"zh_CN": {...}, "en": {...}}
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GuideTerm(Base):
    """The search index of the guide: a term (CJK bigram or English word) of an entry, with its weight × 100."""

    __tablename__ = "guide_terms"
    entry_id: Mapped[int] = mapped_column(ForeignKey("guide_entries.id"), primary_key=True)
    term: Mapped[str] = mapped_column(String(48), primary_key=True, index=True)
    weight: Mapped[int] = mapped_column(Integer)


class GuideWord(Base):
    """Search vocabulary from the guide's data file: synonym groups, county names, stop words."""

    __tablename__ = "guide_words"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # synonym | county | stop | category
    group: Mapped[str] = mapped_column(String(48))
    phrase: Mapped[str] = mapped_column(String(64))


class Subscription(Base):
    """A citizen asked to hear about one topic. No row, no broadcast."""

    __tablename__ = "subscriptions"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(24), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SubscriberPrefs(Base):
    """The county a subscriber wants county-level news from (none: only city-wide broadcasts)."""

    __tablename__ = "subscriber_prefs"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    county: Mapped[str | None] = mapped_column(String(32), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Broadcast(Base):
    """A legal-awareness message (普法宣传): composed by one admin, approved by another, fanned out in batches."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    topic: Mapped[str] = mapped_column(String(24))
    county: Mapped[str | None] = mapped_column(String(32))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(255))
    send_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)
    approved_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fanout_cursor: Mapped[int] = mapped_column(BigInteger, default=0)  # the last person id fanned out
    fanned_out: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # counted when sending starts
    progress_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BroadcastDelivery(Base):
    """One recipient of one broadcast: the primary key is what stops a resumed fan-out sending anyone twice."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (Index("ix_broadcast_deliveries_person_day", "person_id", "day"),)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # local date it is scheduled for, for the daily cap
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WeChatToken(Base):
    """The WeChat access token every process shares (issue #13): one row per AppID. `version` moves with each new
    token, so a refresh is a compare-and-set; `refreshing_until` is the lease of the one process fetching it."""

    __tablename__ = "wechat_tokens"
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sealed: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)
    refreshing_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WeChatWindow(Base):
    """How long, and how many more, customer-service messages WeChat lets us send a follower (an OpenID) after their
    last message, menu click, follow or scan."""

    __tablename__ = "wechat_windows"
    openid: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    sends_left: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WeChatGrant(Base):
    """A follower accepted a subscription-notification template: `remaining` sends (one per acceptance), or None for
    a long-term template, which holds until they refuse it."""

    __tablename__ = "wechat_grants"
    openid: Mapped[str] = mapped_column(String(128), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    remaining: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WeChatHeld(Base):
    """An outbox row waiting for the follower to write again (their window closed, no notification granted)."""

    __tablename__ = "wechat_held"
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    openid: Mapped[str] = mapped_column(String(128), index=True)
    held_at: Mapped[datetime] = mapped_column(UtcDateTime)
