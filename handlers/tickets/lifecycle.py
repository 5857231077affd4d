"""The ticket state machine: which status may follow which, and the append-only event every change leaves."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from handlers.tickets.events import StatusChanged
from storage.models import Ticket, TicketEvent
from storage.uow import UnitOfWork

NEW: Final = "new"
CLAIMED: Final = "claimed"
IN_PROGRESS: Final = "in_progress"
MEDIATION_SCHEDULED: Final = "mediation_scheduled"
RESOLVED: Final = "resolved"
CLOSED: Final = "closed"
TRANSFERRED: Final = "transferred"
REJECTED: Final = "rejected"
CANCELLED: Final = "cancelled"
REOPENED: Final = "reopened"

# The events of a ticket its citizen closed: withdrawn from their list, or withdrawn because they asked for erasure.
CANCELLED_BY_CITIZEN: Final = "cancelled_by_citizen"
WITHDRAWN_ERASED: Final = "withdrawn_erased"

STATUSES: Final = (
    NEW,
    CLAIMED,
    IN_PROGRESS,
    MEDIATION_SCHEDULED,
    RESOLVED,
    CLOSED,
    TRANSFERRED,
    REJECTED,
    CANCELLED,
    REOPENED,
)

# From each status, the statuses it may move to. A transferred ticket waits, like a new one, for the receiving
# unit to claim it; a reopened one goes back to work. Closed, rejected and cancelled are final.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    NEW: frozenset({CLAIMED, TRANSFERRED, REJECTED, CANCELLED}),
    TRANSFERRED: frozenset({CLAIMED, TRANSFERRED, REJECTED, CANCELLED}),
    CLAIMED: frozenset({IN_PROGRESS, MEDIATION_SCHEDULED, RESOLVED, TRANSFERRED, REJECTED, CANCELLED}),
    IN_PROGRESS: frozenset({MEDIATION_SCHEDULED, RESOLVED, TRANSFERRED, REJECTED, CANCELLED}),
    MEDIATION_SCHEDULED: frozenset({MEDIATION_SCHEDULED, IN_PROGRESS, RESOLVED, TRANSFERRED, CANCELLED}),
    REOPENED: frozenset({CLAIMED, IN_PROGRESS, MEDIATION_SCHEDULED, RESOLVED, TRANSFERRED, CANCELLED}),
    RESOLVED: frozenset({CLOSED, REOPENED}),
    CLOSED: frozenset(),
    REJECTED: frozenset(),
    CANCELLED: frozenset(),
}

OPEN: Final = frozenset({NEW, TRANSFERRED, CLAIMED, IN_PROGRESS, MEDIATION_SCHEDULED, REOPENED})
UNCLAIMED: Final = frozenset({NEW, TRANSFERRED})
FINAL: Final = frozenset({CLOSED, REJECTED, CANCELLED})


class IllegalTransition(Exception):
    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"{from_status} -> {to_status}")
        self.from_status, self.to_status = from_status, to_status


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


async def transition(
    uow: UnitOfWork,
    ticket: Ticket,
    to_status: str,
    *,
    actor_person_id: int | None,
    now: datetime,
    action: str | None = None,
    note: str | None = None,
    citizen_visible: bool = True,
    original: str | None = None,
) -> TicketEvent:
    """Move a ticket to `to_status` or raise IllegalTransition; the event is appended and StatusChanged recorded.
    `original`: the note as written, when `note` holds it with numbers masked — kept sealed beside it."""
    from_status = ticket.status
    if not allowed(from_status, to_status):
        raise IllegalTransition(from_status, to_status)
    ticket.status = to_status
    ticket.updated_at = now
    if to_status == CLAIMED:
        ticket.claimed_at = now
    elif to_status == RESOLVED:
        ticket.resolved_at = now
    elif to_status in FINAL:
        ticket.closed_at = now
    event = await _append(uow, ticket, action or to_status, from_status, actor_person_id, now, note, citizen_visible)
    if original is not None and original != note:
        event.note_sealed = uow.cipher.encrypt(original)
    await uow.record(StatusChanged(ticket, from_status, to_status, actor_person_id))
    return event


async def record(
    uow: UnitOfWork,
    ticket: Ticket,
    action: str,
    *,
    actor_person_id: int | None,
    now: datetime,
    note: str | None = None,
    citizen_visible: bool = False,
    original: str | None = None,
) -> TicketEvent:
    """An event that changes no status: a note, a message, a revealed phone, added information. `original`: the
    note as written, when `note` holds it with numbers masked — kept sealed beside it."""
    ticket.updated_at = now
    event = await _append(uow, ticket, action, ticket.status, actor_person_id, now, note, citizen_visible)
    if original is not None and original != note:
        event.note_sealed = uow.cipher.encrypt(original)
    return event


async def _append(
    uow: UnitOfWork,
    ticket: Ticket,
    action: str,
    from_status: str | None,
    actor_person_id: int | None,
    now: datetime,
    note: str | None,
    citizen_visible: bool,
) -> TicketEvent:
    """The append-only record: who, what, when, from which status to which (the ticket's status now)."""
    return await uow.tickets.append_event(
        TicketEvent(ticket_id=ticket.id, actor_person_id=actor_person_id, action=action, from_status=from_status,
                    to_status=ticket.status, note=note, citizen_visible=citizen_visible, created_at=now)
    )  # fmt: skip
