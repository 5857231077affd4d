"""Reaching a person after they left the chat (issue #14): their chats linked into one person, web push
subscriptions, the phone they confirmed for SMS, the SMS sent (for the caps), and which web chat pages are open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


class PersonLink(Base):
    """A chat identity that joined another person (by a link code, or by WeChat OAuth from the OA's menu): the person
    it had before and the tickets it brought, so unlinking and "this isn't me" give both back."""

    __tablename__ = "person_links"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("chat_identities.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)  # the person it joined
    from_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))  # the person it had before
    tickets: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ids of the tickets it brought
    how: Mapped[str] = mapped_column(String(12))  # code | oauth
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unlinked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unlinked_how: Mapped[str | None] = mapped_column(String(12))  # unlink | not_me


class LinkCode(Base):
    """A one-time code a person asked for in one chat, to be entered (or opened as a link) in another."""

    __tablename__ = "link_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("chat_identities.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PushSubscription(Base):
    """A browser's Web Push subscription, per chat identity (a web chat session); sealed: its endpoint and keys are
    the browser's address. Dropped when the push service says it is gone (404, 410)."""

    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("chat_identities.id"), index=True)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    info_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ConfirmedPhone(Base):
    """The one phone a person gets SMS on: sealed, confirmed with a one-time code first. A landline is kept only to
    tell officers to call: SMS cannot reach it."""

    __tablename__ = "phones"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    phone_sealed: Mapped[str] = mapped_column(Text)
    phone_masked: Mapped[str] = mapped_column(String(20))
    landline: Mapped[bool] = mapped_column(Boolean, default=False)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    code_tries: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SmsSent(Base):
    """One SMS requested from the gateway: the caps per ticket and day and per person and day count these."""

    __tablename__ = "sms_sent"
    __table_args__ = (Index("ix_sms_sent_person_day", "person_id", "day"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    outbox_id: Mapped[int | None] = mapped_column(Id, unique=True)
    ticket_number: Mapped[str | None] = mapped_column(String(24), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # notice | code
    day: Mapped[str] = mapped_column(String(10))  # local date
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebChatPresence(Base):
    """A web chat page that is open now (a socket or a long poll), whichever process serves it: the ladder's first
    rung for a web chat person is "the page is open"."""

    __tablename__ = "webchat_presence"
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
