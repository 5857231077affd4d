"""People, their chat identities, their conversations, the inbox and the outbox: a chat's way in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


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
        Index("ix_outbox_rung_due", "rung", "status", "not_before"),
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
    # The delivery ladder (issue #14): a message to a person (not a reply to the chat that wrote) names them and the
    # notice it is; `rung` is how it is on its way (chat → notice → push → sms → wait: a WeChat notification, a web
    # push, an SMS, the person's next message), `ladder` every rung tried and what came of it.
    person_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    notice: Mapped[str | None] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    rung: Mapped[str] = mapped_column(String(8), default="chat", server_default="chat")
    ladder: Mapped[list[Any] | None] = mapped_column(JSON)


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
