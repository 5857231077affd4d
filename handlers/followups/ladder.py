"""The deadline ladder of a ticket: the rungs each event schedules or cancels (subscribers of TicketOpened and
StatusChanged), the morning digest row, and the promise the citizen is told at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Final

from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Effects
from handlers.conversation.words import deadline_text, source_text
from handlers.tickets import lifecycle
from handlers.tickets.deadlines import Deadlines
from handlers.tickets.events import StatusChanged, TicketOpened
from storage.models import FollowUp, Ticket
from storage.uow import UnitOfWork

CLAIM_REMINDER: Final = "claim_reminder"
CLAIM_ESCALATION: Final = "claim_escalation"
PARENT_ESCALATION: Final = "parent_escalation"
CONTACT_CHECK: Final = "contact_check"
DUE_REMINDER: Final = "due_reminder"
OVERDUE_ESCALATION: Final = "overdue_escalation"
CITIZEN_UPDATE: Final = "citizen_update"
SATISFACTION_ASK: Final = "satisfaction_ask"
SATISFACTION_TIMEOUT: Final = "satisfaction_timeout"
DIGEST: Final = "digest"
CALL_CITIZEN: Final = "call_citizen"  # nothing reaches the citizen: the delivery ladder asks the officer to call

CLAIM_LADDER: Final = (CLAIM_REMINDER, CLAIM_ESCALATION, PARENT_ESCALATION)
WORK_LADDER: Final = (DUE_REMINDER, OVERDUE_ESCALATION)
SATISFACTION: Final = (SATISFACTION_ASK, SATISFACTION_TIMEOUT)
DEFAULT_DIGEST_AT: Final = "08:00"


async def add(uow: UnitOfWork, ticket: Ticket, kind: str, due: datetime, now: datetime) -> FollowUp:
    return await uow.follow_ups.add(
        FollowUp(ticket_id=ticket.id, kind=kind, due_at=max(due, now), status="pending", attempts=0, params={},
                 created_at=now)
    )  # fmt: skip


async def _claim_ladder(uow: UnitOfWork, deadlines: Deadlines, ticket: Ticket, now: datetime) -> None:
    plan = deadlines.claim(ticket.kind, ticket.category, ticket.urgent, now)
    ticket.claim_due_at = plan.due_at
    await add(uow, ticket, CLAIM_REMINDER, plan.remind_at, now)
    await add(uow, ticket, CLAIM_ESCALATION, plan.due_at, now)
    await add(uow, ticket, PARENT_ESCALATION, plan.parent_at, now)


async def _work_ladder(uow: UnitOfWork, deadlines: Deadlines, ticket: Ticket, start: datetime, now: datetime) -> None:
    if ticket.due_at is None:
        ticket.due_at, _ = deadlines.resolve_by(ticket.kind, ticket.category, start)
    plan = deadlines.work(ticket.kind, ticket.category, start, ticket.due_at)
    await add(uow, ticket, DUE_REMINDER, plan.remind_at, now)
    await add(uow, ticket, OVERDUE_ESCALATION, plan.due_at, now)


async def schedule_update(
    uow: UnitOfWork, deadlines: Deadlines, ticket: Ticket, since: datetime, now: datetime
) -> None:
    days = deadlines.terms(ticket.kind, ticket.category).citizen_update_days
    await add(uow, ticket, CITIZEN_UPDATE, since + timedelta(days=days), now)


def set_deadlines(deadlines: Deadlines, ticket: Ticket, now: datetime) -> None:
    """A new ticket's claim and resolution deadlines, set before it is first written (on_ticket_opened arrives at
    the same values, so the row is not written twice)."""
    ticket.due_at, _ = deadlines.resolve_by(ticket.kind, ticket.category, now)
    ticket.claim_due_at = deadlines.claim(ticket.kind, ticket.category, ticket.urgent, now).due_at


async def on_ticket_opened(fx: Effects, event: TicketOpened) -> None:
    """A new ticket gets its deadlines (claim, first contact, resolution) and the first rungs of its ladder."""
    uow, deadlines, ticket, now = fx.uow, fx.rules.deadlines, event.ticket, fx.now
    set_deadlines(deadlines, ticket, now)
    await _claim_ladder(uow, deadlines, ticket, now)
    await add(uow, ticket, CONTACT_CHECK, deadlines.first_contact(ticket.kind, ticket.category, now), now)
    await schedule_update(uow, deadlines, ticket, now, now)


def promise(tr: Translator, locale: str, deadlines: Deadlines, ticket: Ticket) -> str:
    """What the citizen is told at once: by when the ticket is claimed and resolved, and on what authority."""
    zone = deadlines.calendar.zone
    terms = deadlines.terms(ticket.kind, ticket.category)
    claim = terms.claim_urgent if ticket.urgent else terms.claim
    return tr(
        locale,
        "deadline.promise",
        claim_by=deadline_text(tr, locale, ticket.claim_due_at, zone),
        claim_source=source_text(tr, locale, claim.source),
        due_by=deadline_text(tr, locale, ticket.due_at, zone),
        source=source_text(tr, locale, terms.resolve.source),
    )


async def on_status_changed(fx: Effects, event: StatusChanged) -> None:
    """Every rung that no longer fits the new status cancels itself; the rungs the new status needs are added."""
    uow, deadlines, ticket, now, to_status = fx.uow, fx.rules.deadlines, event.ticket, fx.now, event.to_status
    if to_status in lifecycle.FINAL:
        await uow.follow_ups.cancel_for_ticket(ticket.id)
    elif to_status == lifecycle.CLAIMED:
        await uow.follow_ups.cancel_for_ticket(ticket.id, (*CLAIM_LADDER, *WORK_LADDER))
        await _work_ladder(uow, deadlines, ticket, ticket.created_at, now)
    elif to_status == lifecycle.TRANSFERRED:
        await uow.follow_ups.cancel_for_ticket(ticket.id, (*CLAIM_LADDER, *WORK_LADDER))
        await _claim_ladder(uow, deadlines, ticket, now)
    elif to_status == lifecycle.RESOLVED:
        await uow.follow_ups.cancel_for_ticket(ticket.id)
        days = deadlines.terms(ticket.kind, ticket.category).satisfaction_days
        await add(uow, ticket, SATISFACTION_ASK, now, now)
        await add(uow, ticket, SATISFACTION_TIMEOUT, now + timedelta(days=days), now)
    elif to_status == lifecycle.REOPENED:
        await uow.follow_ups.cancel_for_ticket(ticket.id)
        ticket.due_at, _ = deadlines.resolve_by(ticket.kind, ticket.category, now)
        if ticket.officer_id is None:
            await _claim_ladder(uow, deadlines, ticket, now)
        else:
            await _work_ladder(uow, deadlines, ticket, now, now)
        await schedule_update(uow, deadlines, ticket, now, now)


async def ensure_digest(uow: UnitOfWork, deadlines: Deadlines, now: datetime, at: str = DEFAULT_DIGEST_AT) -> bool:
    """The next morning digest as a keyed row: however many processes ask, one row per working day exists."""
    calendar = deadlines.calendar
    hour, minute = (int(part) for part in at.split(":"))
    today = calendar.local(now).date()
    day = calendar.next_workday(today, include=True)
    if day == today and calendar.local(now).time() >= time(hour, minute):
        day = calendar.next_workday(today, include=False)
    due = datetime.combine(day, time(hour, minute), calendar.zone)
    return await uow.follow_ups.add_once(
        FollowUp(ticket_id=None, kind=DIGEST, due_at=due, status="pending", attempts=0, params={"at": at},
                 created_at=now, key=f"digest:{day.isoformat()}")
    )  # fmt: skip
