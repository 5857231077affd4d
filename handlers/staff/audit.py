"""Who saw or changed what on a ticket (PIPL Art. 51, 54: a record of access to personal data): `/audit HZ-…` for
admins lists the audit rows (reveals, sensitive answers seen, files opened, copies and exports) and the ticket's
events (claims, transfers, notes, status changes) with who and when; looking is itself audited. `export_trail`
serves `python -m bot audit export` (CSV or JSON lines) over a period."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from handlers.conversation.turn import Turn
from handlers.conversation.words import label, stamp
from handlers.tickets.policy import Action, actor_for, allows
from storage.repositories.rights import Trail
from storage.uow import Database, UnitOfWork

NUMBER: Final = re.compile(r"[A-Za-z]{1,8}-\d{8}-\d{4,6}")
VIEWED: Final = "audit_viewed"
SHOWN: Final = 60  # the latest lines in chat; the CLI exports all
FIELDS: Final = ("at", "source", "action", "ticket", "actor_person_id", "actor", "role", "from_status", "to_status")


Names = dict[int, tuple[str, str]]  # person id → (name, role), looked up once per listing


async def _who(uow: UnitOfWork, person_id: int | None, citizen_id: int | None, cache: Names) -> tuple[str, str]:
    """(name, role) of an actor: an officer by name and role, the citizen, or the desk itself."""
    if person_id is None:
        return "", "desk"
    if person_id not in cache:
        officer = await uow.officers.of_person_any(person_id)
        if officer is not None:
            cache[person_id] = (officer.name, officer.role)
        else:
            cache[person_id] = ("", "citizen" if person_id == citizen_id else "person")
    return cache[person_id]


async def show_trail(turn: Turn, args: str = "") -> None:
    actor = await actor_for(turn.uow, turn.person.id)
    if not allows(actor, Action.AUDIT):
        turn.say("desk.command_refused")
        return
    number = args.strip().upper()
    if not NUMBER.fullmatch(number):
        turn.say("audit.usage")
        return
    ticket = await turn.uow.tickets.by_number(number)
    if ticket is None:
        turn.say("audit.not_found", number=number)
        return
    trail = await turn.uow.rights.trail(ticket_id=ticket.id)
    await turn.uow.audit.add(turn.person.id, VIEWED, ticket.id, turn.now)
    tr, locale, zone = turn.translator, turn.locale, turn.rules.zone
    cache: Names = {}
    lines = [turn.t("audit.title", number=ticket.number, count=len(trail))]
    for row in trail[-SHOWN:]:
        name, role = await _who(turn.uow, row.actor_person_id, ticket.citizen_id, cache)
        who = label(tr, locale, f"audit.role.{role}", role) + (f" {name}" if name else "")
        what = label(
            tr, locale, f"audit.action.{row.action}", label(tr, locale, f"desk.event.{row.action}", row.action)
        )
        move = f" ({row.from_status} → {row.to_status})" if row.to_status and row.from_status != row.to_status else ""
        lines.append(f"• {stamp(row.at, zone)} {who}: {what}{move}")
    if len(trail) > SHOWN:
        lines.append(turn.t("audit.more", count=len(trail) - SHOWN))
    turn.say_sensitive("audit.text", text="\n".join(lines))


async def export_trail(
    db: Database, start: datetime, end: datetime, number: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Every audit row and ticket event in [start, end), of one ticket or of all; the export is audited."""
    async with db() as uow:
        ticket_id, citizen_id = None, None
        if number:
            ticket = await uow.tickets.by_number(number.upper())
            if ticket is None:
                raise LookupError(number)
            ticket_id, citizen_id = ticket.id, ticket.citizen_id
        trail = await uow.rights.trail(ticket_id=ticket_id, start=start, end=end)
        numbers: dict[int, str] = {}
        cache: Names = {}
        rows = []
        for row in trail:
            rows.append(await _row(uow, row, numbers, cache, citizen_id))
        await uow.audit.add(None, "audit_exported", ticket_id, now, origin="cli")
        await uow.commit()
    return rows


async def _row(
    uow: UnitOfWork, row: Trail, numbers: dict[int, str], cache: Names, citizen_id: int | None
) -> dict[str, Any]:
    number = ""
    if row.ticket_id is not None:
        if row.ticket_id not in numbers:
            found = await uow.tickets.get(row.ticket_id)
            numbers[row.ticket_id] = found.number if found else ""
            citizen_id = found.citizen_id if found else citizen_id
        number = numbers[row.ticket_id]
    name, role = await _who(uow, row.actor_person_id, citizen_id, cache)
    return {
        "at": row.at.isoformat(),
        "source": row.source,
        "action": row.action,
        "ticket": number,
        "actor_person_id": row.actor_person_id,
        "actor": name,
        "role": role,
        "from_status": row.from_status,
        "to_status": row.to_status,
    }
