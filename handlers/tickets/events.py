"""What happened to a ticket, recorded on the unit of work; subscribers (the follow-up ladder, staff alerts) run
before the commit, in the same transaction. Events are past tense; nothing here knows who listens."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Ticket, Unit


@dataclass(frozen=True)
class TicketOpened:
    ticket: Ticket
    unit: Unit | None


@dataclass(frozen=True)
class StatusChanged:
    ticket: Ticket
    from_status: str
    to_status: str
    actor_person_id: int | None


Event = TicketOpened | StatusChanged
