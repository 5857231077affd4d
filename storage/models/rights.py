"""The citizen's data rights (issue #16): copies of what is held about a person, handed out once (PIPL Art. 45),
and the tickets whose personal data was erased — at the person's request (Art. 47) or when their term ran out
(Art. 19) — with the one record the law still requires kept sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime
from storage.models.tickets import Ticket

# The daily retention job asks, per ticket kind, for the tickets closed before that kind's term began.
RETENTION_INDEX = Index("ix_tickets_kind_closed", Ticket.kind, Ticket.closed_at)


class DataCopy(Base):
    """A copy of everything held about one person (JSON), sealed: fetched by a one-time link (web chat, WeChat) or
    uploaded as a document (Telegram). Only a keyed hash of its token is kept; forgotten when it expires."""

    __tablename__ = "data_copies"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    body_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TicketErasure(Base):
    """A ticket whose personal data is gone: `why` is `deleted` (the citizen asked) or `retention` (its term ran
    out). Kind, county, dates, status and outcome stay on the ticket for the ledger. `kept_sealed` is the one record
    a law requires to be kept (a legal-aid decision, a judicial-relief payment), sealed, and `kept_basis` its law."""

    __tablename__ = "ticket_erasures"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    why: Mapped[str] = mapped_column(String(12))
    kept_sealed: Mapped[str | None] = mapped_column(Text)
    kept_basis: Mapped[str | None] = mapped_column(String(120))
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
