"""The service guide, subscriptions and legal-awareness broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


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
