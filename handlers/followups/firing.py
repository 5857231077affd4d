"""Firing due follow-ups, the rule for each kind: the tick turns due rows into outbox messages in the same transaction
that marks them done, so each fires exactly once, whatever the number of processes ticking."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from handlers.conversation.failures import withheld_traceback
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_FOLLOW_UP
from handlers.conversation.quiet import citizen_not_before
from handlers.conversation.turn import Rules, Subscribers
from handlers.conversation.words import source_text
from handlers.followups.calls import call_citizen
from handlers.followups.digest import digest
from handlers.followups.effects import Fire, Firing, TickReport
from handlers.followups.ladder import (
    CALL_CITIZEN,
    CITIZEN_UPDATE,
    CLAIM_ESCALATION,
    CLAIM_REMINDER,
    CONTACT_CHECK,
    DIGEST,
    DUE_REMINDER,
    OVERDUE_ESCALATION,
    PARENT_ESCALATION,
    SATISFACTION_ASK,
    SATISFACTION_TIMEOUT,
    add,
)
from handlers.followups.satisfaction import treatment_question
from handlers.tickets import lifecycle
from storage.models import FollowUp, Officer, Ticket
from storage.uow import Database

log = logging.getLogger(__name__)

CONTACT_STATUSES: Final = ("mediation_scheduled", "resolved", "rejected")
MAX_ATTEMPTS: Final = 5
BATCH: Final = 100
MAX_BATCHES_PER_TICK: Final = 200


def _unclaimed(ticket: Ticket) -> bool:
    return ticket.status in lifecycle.UNCLAIMED and ticket.officer_id is None


async def _claim_reminder(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or not _unclaimed(ticket) or ticket.unit_id is None:
        return
    officers = await f.uow.officers.of_unit(ticket.unit_id)
    due = ticket.claim_due_at
    sent = await f.to_officers(officers, ticket, "followup.claim_reminder", due=lambda loc: f.when(loc, due),
                               **f.ticket_params(ticket))  # fmt: skip
    await f.note(ticket, "claim_reminded", f"officers={sent}")


async def _claim_escalation(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or not _unclaimed(ticket) or ticket.unit_id is None:
        return
    due = ticket.claim_due_at
    leaders, led = await f.leaders_above(ticket.unit_id)
    if led is not None and led.id != ticket.unit_id:  # the unit has no leader: its parent's leader hears instead
        unit = await f.uow.units.get(ticket.unit_id)
        sent = await f.to_officers(leaders, ticket, "followup.parent_escalation", due=lambda loc: f.when(loc, due),
                                   unit=lambda loc: f.unit_name(loc, unit), **f.ticket_params(ticket))  # fmt: skip
    else:
        sent = await f.to_officers(leaders, ticket, "followup.claim_escalation",
                                   due=lambda loc: f.when(loc, due), **f.ticket_params(ticket))  # fmt: skip
    if not sent:  # nobody up the tree leads: the unit's officers hear that no leader could be told
        officers = await f.uow.officers.of_unit(ticket.unit_id)
        await f.to_officers(officers, ticket, "followup.claim_nobody", due=lambda loc: f.when(loc, due),
                            **f.ticket_params(ticket))  # fmt: skip
    await f.note(ticket, "escalated_to_leader", f"leaders={sent} unit={led.id if led else None}")


async def _parent_escalation(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or not _unclaimed(ticket) or ticket.unit_id is None:
        return
    unit = await f.uow.units.get(ticket.unit_id)
    if unit is None or unit.parent_id is None:
        await f.note(ticket, "escalated_to_parent", "no parent unit")
        return
    due = ticket.claim_due_at
    leaders, led = await f.leaders_above(unit.parent_id)
    sent = await f.to_officers(leaders, ticket, "followup.parent_escalation",
                               due=lambda loc: f.when(loc, due), unit=lambda loc: f.unit_name(loc, unit),
                               **f.ticket_params(ticket))  # fmt: skip
    await f.note(ticket, "escalated_to_parent", f"unit={led.id if led else None} leaders={sent}")


async def _contact_check(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or ticket.status not in lifecycle.OPEN:
        return
    if await f.uow.tickets.contacted(ticket, ticket.created_at, CONTACT_STATUSES):
        return
    if ticket.officer_id is not None:
        officer = await f.uow.officers.get(ticket.officer_id)
        recipients: Sequence[Officer] = [officer] if officer else []
    else:
        recipients = (await f.leaders_above(ticket.unit_id))[0] or await f.uow.officers.of_unit(ticket.unit_id or 0)
    sent = await f.to_officers(recipients, ticket, "followup.contact_overdue", due=lambda loc: f.when(loc, row.due_at),
                               **f.ticket_params(ticket))  # fmt: skip
    await f.note(ticket, "contact_overdue", f"officers={sent}")


async def _due_reminder(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or ticket.status not in lifecycle.OPEN or ticket.officer_id is None:
        return
    officer = await f.uow.officers.get(ticket.officer_id)
    if officer is None:
        return
    due, source = ticket.due_at, f.deadlines.terms(ticket.kind, ticket.category).resolve.source
    await f.to_officers([officer], ticket, "followup.due_reminder", due=lambda loc: f.when(loc, due),
                        source=lambda loc: source_text(f.tr, loc, source), **f.ticket_params(ticket))  # fmt: skip
    await f.note(ticket, "due_reminded")


async def _overdue_escalation(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or ticket.status not in lifecycle.OPEN:
        return
    officer = await f.uow.officers.get(ticket.officer_id) if ticket.officer_id else None
    due = ticket.due_at
    params = {**f.ticket_params(ticket), "due": lambda loc: f.when(loc, due)}
    who = officer.name if officer else "—"
    leaders, led = await f.leaders_above(ticket.unit_id, besides=officer.id if officer else None)
    sent = await f.to_officers(leaders, ticket, "followup.overdue_leader", officer=who, **params)
    if officer is not None:  # the officer hears exactly who was told (never "the leader" when nobody was)
        told = f.told(leaders if sent else [], led)
        await f.to_officers([officer], ticket, "followup.overdue_officer_told", told=told, **params)
    await f.note(ticket, "overdue_escalated", f"leaders={sent} unit={led.id if led else None}")


async def _citizen_update(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or ticket.status not in lifecycle.OPEN:
        return
    days = f.deadlines.terms(ticket.kind, ticket.category).citizen_update_days
    last = max(filter(None, [ticket.created_at, await f.uow.tickets.last_visible_at(ticket.id)]))
    if f.now - last < timedelta(days=days):
        await add(f.uow, ticket, CITIZEN_UPDATE, last + timedelta(days=days), f.now)
        return
    unit = await f.uow.units.get(ticket.unit_id) if ticket.unit_id else None
    due = ticket.due_at

    def render(locale: str) -> Reply:
        return Reply(
            text=f.tr(locale, "followup.still_handling", number=ticket.number, unit=f.unit_name(locale, unit),
                      due=f.when(locale, due))
        )  # fmt: skip

    not_before = citizen_not_before(f.rules.citizen_quiet, f.now, f.zone, urgent=ticket.urgent)
    await f.to_person(ticket.citizen_id, render, not_before=not_before, priority=PRIORITY_FOLLOW_UP, essential=False)
    await lifecycle.record(f.uow, ticket, "update_sent", actor_person_id=None, now=f.now, citizen_visible=True)
    await add(f.uow, ticket, CITIZEN_UPDATE, f.now + timedelta(days=days), f.now)


async def _satisfaction_ask(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or ticket.status != lifecycle.RESOLVED:
        return

    def render(locale: str) -> Reply:
        return treatment_question(f.tr, locale, ticket)

    not_before = citizen_not_before(f.rules.citizen_quiet, f.now, f.zone)
    await f.to_person(ticket.citizen_id, render, not_before=not_before, priority=PRIORITY_FOLLOW_UP)
    await f.note(ticket, "satisfaction_asked")


async def _satisfaction_timeout(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    if ticket is None or ticket.status != lifecycle.RESOLVED or ticket.rating_solved is not None:
        return
    await lifecycle.transition(f.uow, ticket, lifecycle.CLOSED, actor_person_id=None, now=f.now, action="not_rated",
                               note="no answer to the satisfaction callback")  # fmt: skip


FIRE: Final[dict[str, Fire]] = {
    CALL_CITIZEN: call_citizen,
    CLAIM_REMINDER: _claim_reminder,
    CLAIM_ESCALATION: _claim_escalation,
    PARENT_ESCALATION: _parent_escalation,
    CONTACT_CHECK: _contact_check,
    DUE_REMINDER: _due_reminder,
    OVERDUE_ESCALATION: _overdue_escalation,
    CITIZEN_UPDATE: _citizen_update,
    SATISFACTION_ASK: _satisfaction_ask,
    SATISFACTION_TIMEOUT: _satisfaction_timeout,
    DIGEST: digest,
}


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 60))


async def _fire(firing: Firing, row: FollowUp, report: TickReport, busy: list[int]) -> None:
    ticket: Ticket | None = None
    if row.ticket_id is not None:
        ticket = await firing.uow.tickets.lock_if_free(row.ticket_id)
        if ticket is None:  # someone is changing the ticket right now: its row waits for the next round
            busy.append(row.id)
            report.busy += 1
            return
    firing.follow_up_id = row.id
    row.attempts += 1
    before = len(firing.outbox.pending)
    try:
        async with firing.uow.session.begin_nested():
            await FIRE[row.kind](firing, row, ticket)
    except Exception as error:
        # Only the kind and ids are logged: rows carry no personal data, and neither may the log.
        log.error("follow-up %s (%s, ticket %s) failed\n%s", row.id, row.kind, row.ticket_id, withheld_traceback(error))
        firing.outbox.forget_since(before)
        report.failed += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.done_at = "failed", firing.now
        else:
            row.due_at = firing.now + backoff(row.attempts)
        return
    row.status, row.done_at = "done", firing.now
    report.fired += 1


async def tick(
    db: Database,
    translator: Translator,
    rules: Rules,
    now: datetime,
    *,
    subscribers: Subscribers | None = None,
    batch: int = BATCH,
    report: TickReport | None = None,
) -> TickReport:
    """Fire every follow-up due at `now`, a batch per transaction. On PostgreSQL concurrent ticks (other
    processes) take disjoint rows (FOR UPDATE SKIP LOCKED); on SQLite one writer at a time does it all."""
    report = report if report is not None else TickReport()  # counted batch by batch: a cancelled tick still tells
    busy: list[int] = []
    for _ in range(MAX_BATCHES_PER_TICK):
        async with db() as uow:
            rows = await uow.follow_ups.claim_due(now, batch, exclude=busy)
            if not rows:
                break
            firing = Firing(uow, translator, rules, now, subscribers)
            for row in rows:
                await _fire(firing, row, report, busy)
            queued = await firing.outbox.flush()
            await uow.commit()
            report.messages += len(queued)
        if len(rows) < batch:
            break
    return report
