"""Follow-ups of a ticket: what is scheduled when its status changes, and what is cancelled."""

from __future__ import annotations

from datetime import datetime

from storage.models import Ticket
from storage.uow import UnitOfWork

FINAL_STATUSES = frozenset({"closed", "rejected", "cancelled"})


async def on_status_change(uow: UnitOfWork, ticket: Ticket, from_status: str, to_status: str, now: datetime) -> None:
    """A ticket that ends takes its pending follow-ups with it; the deadline ladder (issue #6) extends this."""
    if to_status in FINAL_STATUSES:
        await uow.follow_ups.cancel_for_ticket(ticket.id)
