"""Firing due follow-ups: the tick turns due rows into outbox messages in the same transaction that marks them done,
so each fires exactly once, whatever the number of processes ticking."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import is_landline
from handlers.conversation.messages import Button, Reply
from handlers.conversation.outbox import PRIORITY_ALERT, PRIORITY_FOLLOW_UP, Render
from handlers.conversation.quiet import citizen_not_before, officer_not_before
from handlers.conversation.turn import Effects, Rules, Subscribers
from handlers.conversation.words import deadline_text, kind_label, label, source_text, status_label, unit_label
from handlers.followups.ladder import (
    CALL_CITIZEN,
    CITIZEN_UPDATE,
    CLAIM_ESCALATION,
    CLAIM_REMINDER,
    CONTACT_CHECK,
    DEFAULT_DIGEST_AT,
    DIGEST,
    DUE_REMINDER,
    OVERDUE_ESCALATION,
    PARENT_ESCALATION,
    SATISFACTION_ASK,
    SATISFACTION_TIMEOUT,
    add,
    ensure_digest,
)
from handlers.followups.satisfaction import treatment_question
from handlers.tickets import lifecycle
from handlers.tickets.deadlines import Deadlines
from storage.models import FollowUp, Officer, Ticket, Unit
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

CONTACT_STATUSES: Final = ("mediation_scheduled", "resolved", "rejected")
LEADER_ROLES: Final = ("leader",)
MAX_ATTEMPTS: Final = 5
BATCH: Final = 100
MAX_BATCHES_PER_TICK: Final = 200
DIGEST_SIZE: Final = 5


@dataclass
class TickReport:
    fired: int = 0
    busy: int = 0
    failed: int = 0
    messages: int = 0


class Firing(Effects):
    """What one due row may do: read the ticket's people, queue messages, append events — inside the tick's
    transaction."""

    def __init__(
        self, uow: UnitOfWork, translator: Translator, rules: Rules, now: datetime, subscribers: Subscribers | None
    ) -> None:
        super().__init__(uow, translator, rules, now, subscribers)
        self.tr = translator
        self.zone = rules.zone
        self.follow_up_id: int | None = None

    @property
    def deadlines(self) -> Deadlines:
        return self.rules.deadlines

    def when(self, locale: str, moment: datetime | None) -> str:
        return deadline_text(self.tr, locale, moment, self.zone)

    def label(self, locale: str, msgid: str, fallback: str) -> str:
        return label(self.tr, locale, msgid, fallback)

    def unit_name(self, locale: str, unit: Unit | None) -> str:
        return unit_label(self.tr, locale, unit)

    async def to_person(
        self,
        person_id: int,
        render: Render,
        *,
        not_before: datetime | None,
        priority: int = PRIORITY_ALERT,
        essential: bool = True,
    ) -> bool:
        """Queue for the person's most recently used reachable chat, in their language."""
        return await self.outbox.to_person(
            person_id,
            render,
            kind="follow_up",
            priority=priority,
            essential=essential,
            not_before=not_before,
            follow_up=self.follow_up_id,
        )

    async def to_officers(self, officers: Sequence[Officer], ticket: Ticket | None, msgid: str, **params: Any) -> int:
        """Each officer in their language, after their quiet hours unless the ticket is urgent."""
        urgent = bool(ticket and ticket.urgent)
        sent, seen = 0, set()
        for officer in officers:
            if officer.person_id in seen:
                continue
            seen.add(officer.person_id)

            def render(locale: str, officer: Officer = officer) -> Reply:
                values = {key: value(locale) if callable(value) else value for key, value in params.items()}
                text = self.tr(locale, msgid, name=officer.name, **values)
                return Reply(text=f"{self.tr(locale, 'followup.urgent')}\n{text}" if urgent else text)

            not_before = officer_not_before(officer, self.now, self.zone, urgent=urgent)
            if await self.to_person(officer.person_id, render, not_before=not_before):
                sent += 1
        return sent

    async def leaders_of(self, unit_id: int | None) -> Sequence[Officer]:
        """The unit's leaders; a unit without one falls back to its other officers, so no alert is lost."""
        if unit_id is None:
            return []
        leaders = await self.uow.officers.of_unit(unit_id, LEADER_ROLES)
        return leaders or await self.uow.officers.of_unit(unit_id)

    async def leaders_above(
        self, unit_id: int | None, *, besides: int | None = None
    ) -> tuple[list[Officer], Unit | None]:
        """Who leads: the unit's leaders, or — a unit without one (or whose only leader is `besides`, the officer
        the escalation is about) — its parent's, and so on up the unit tree; and the unit they lead. Nobody and None
        when no unit up the tree has one: then no message may say that a leader was told."""
        seen: set[int] = set()
        while unit_id is not None and unit_id not in seen:
            seen.add(unit_id)
            unit = await self.uow.units.get(unit_id)
            if unit is None:
                break
            leaders = [o for o in await self.uow.officers.of_unit(unit_id, LEADER_ROLES) if o.id != besides]
            if leaders:
                return leaders, unit
            unit_id = unit.parent_id
        return [], None

    def told(self, officers: Sequence[Officer], unit: Unit | None) -> Callable[[str], str]:
        """Exactly who was told, for the message: "李科长（汉台区司法局）", or that nobody could be."""

        def said(locale: str) -> str:
            if not officers or unit is None:
                return self.tr(locale, "followup.told_nobody")
            names = self.tr(locale, "followup.names_sep").join(o.name for o in officers)
            return self.tr(locale, "followup.told", names=names, unit=self.unit_name(locale, unit))

        return said

    def ticket_params(self, ticket: Ticket) -> dict[str, Any]:
        return {"number": ticket.number, "kind": lambda locale: kind_label(self.tr, locale, ticket.kind)}

    async def note(self, ticket: Ticket, action: str, note: str | None = None) -> None:
        await lifecycle.record(self.uow, ticket, action, actor_person_id=None, now=self.now, note=note)


Fire = Callable[[Firing, FollowUp, Ticket | None], Awaitable[None]]


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


async def _digest(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    working = lifecycle.OPEN - lifecycle.UNCLAIMED
    today = f.deadlines.calendar.local(f.now).date()
    for officer in await f.uow.officers.active():
        tickets = await f.uow.tickets.duty_of(officer, working, lifecycle.UNCLAIMED)
        if tickets:
            await _digest_for(f, officer, tickets, today)
    await ensure_digest(f.uow, f.deadlines, f.now, str(row.params.get("at", DEFAULT_DIGEST_AT)))


def _due_of(ticket: Ticket) -> datetime | None:
    return ticket.claim_due_at if ticket.officer_id is None else ticket.due_at


async def _digest_for(f: Firing, officer: Officer, tickets: Sequence[Ticket], today: date) -> None:
    mine = [t for t in tickets if t.officer_id == officer.id]
    overdue = sum(1 for t in mine if t.due_at is not None and t.due_at < f.now)
    due_today = sum(1 for t in mine if t.due_at is not None and f.deadlines.calendar.local(t.due_at).date() == today)
    unclaimed = len(tickets) - len(mine)
    far = datetime.max.replace(tzinfo=f.now.tzinfo)
    soonest = sorted(tickets, key=lambda t: (_due_of(t) or far, t.id))[:DIGEST_SIZE]

    def render(locale: str) -> Reply:
        lines = [
            f.tr(locale, "digest.title", name=officer.name, mine=len(mine), overdue=overdue, today=due_today,
                 unclaimed=unclaimed)
        ]  # fmt: skip
        for t in soonest:
            status = status_label(f.tr, locale, t.status)
            lines.append(f.tr(locale, "digest.line", number=t.number, status=status, due=f.when(locale, _due_of(t))))
        return Reply(text="\n".join(lines))

    await f.to_person(officer.person_id, render, not_before=officer_not_before(officer, f.now, f.zone, urgent=False))


async def _call_citizen(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    """What the ladder could not deliver: the officer holding the ticket (else the unit's leaders) is told why, with
    the masked number and the button that reveals it in full (audited); a landline is said to be one."""
    if ticket is None or ticket.status == lifecycle.CANCELLED:
        return
    if ticket.officer_id is not None:
        officer = await f.uow.officers.get(ticket.officer_id)
        recipients: Sequence[Officer] = [officer] if officer is not None and officer.active else []
    else:
        recipients = await f.leaders_of(ticket.unit_id)
    message = await f.uow.outbox.get(int(row.params.get("outbox") or 0))
    tried = [(str(a["channel"] if a.get("rung") == "chat" else a.get("rung")), str(a.get("outcome")))
             for a in (message.ladder or [])] if message else []  # fmt: skip
    landline = bool(ticket.phone_sealed) and is_landline(f.uow.cipher.decrypt(ticket.phone_sealed or ""))
    for officer in recipients:

        def render(locale: str, officer: Officer = officer) -> Reply:
            lines = [f.tr(locale, "followup.call_citizen", number=ticket.number)]
            lines += [f.tr(locale, "followup.call_citizen.tried", channel=label(f.tr, locale, f"channel.{c}", c),
                           why=why_text(f.tr, locale, why)) for c, why in tried]  # fmt: skip
            if ticket.phone_masked:
                key = "followup.call_citizen.landline" if landline else "followup.call_citizen.phone"
                lines.append(f.tr(locale, key, phone=ticket.phone_masked))
            else:
                lines.append(f.tr(locale, "followup.call_citizen.no_phone"))
            reveal = Button(f.tr(locale, "desk.btn.phone"), f"t:phone:{ticket.id}")
            view = Button(f.tr(locale, "desk.btn.view"), f"t:view:{ticket.id}")
            return Reply(text="\n".join(lines), buttons=((reveal, view) if ticket.phone_sealed else (view,),))

        not_before = officer_not_before(officer, f.now, f.zone, urgent=ticket.urgent)
        await f.to_person(officer.person_id, render, not_before=not_before)
    await f.note(ticket, "call_task", f"officers={len(recipients)}")


def why_text(tr: Translator, locale: str, outcome: str) -> str:
    """An attempt's outcome as an officer reads it ("notnow: window_closed" → "the 48-hour window is closed")."""
    kind, _, rest = outcome.partition(":")
    code = (rest.split() or [kind])[0] if kind == "notnow" else kind
    return label(tr, locale, f"reach.why.{code}", outcome)


FIRE: Final[dict[str, Fire]] = {
    CALL_CITIZEN: _call_citizen,
    CLAIM_REMINDER: _claim_reminder,
    CLAIM_ESCALATION: _claim_escalation,
    PARENT_ESCALATION: _parent_escalation,
    CONTACT_CHECK: _contact_check,
    DUE_REMINDER: _due_reminder,
    OVERDUE_ESCALATION: _overdue_escalation,
    CITIZEN_UPDATE: _citizen_update,
    SATISFACTION_ASK: _satisfaction_ask,
    SATISFACTION_TIMEOUT: _satisfaction_timeout,
    DIGEST: _digest,
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
        log.exception("follow-up %s (%s, ticket %s) failed: %s", row.id, row.kind, row.ticket_id, type(error).__name__)
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
