"""The officers' morning digest: what each has on their list, what is overdue or due today, the soonest five."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Final

from handlers.conversation.messages import Reply
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.words import status_label
from handlers.followups.effects import Firing
from handlers.followups.ladder import DEFAULT_DIGEST_AT, ensure_digest
from handlers.tickets import lifecycle
from storage.models import FollowUp, Officer, Ticket

DIGEST_SIZE: Final = 5


async def digest(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
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
