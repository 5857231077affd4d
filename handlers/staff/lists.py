"""Lists for staff: an officer's duty list (履职清单) and the overview of a unit (leaders) or of every unit (admins)."""

from __future__ import annotations

from typing import Final

from handlers.conversation.messages import Button, Reply
from handlers.conversation.turn import Turn
from handlers.conversation.words import kind_label, stamp, status_label, unit_label
from handlers.staff.context import WORKING, refuse_command, ticket_button
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Role, actor_for, allows
from storage.models import Officer, Ticket

SHOWN: Final = 10


def _due(turn: Turn, ticket: Ticket) -> str:
    moment = ticket.due_at if ticket.officer_id is not None else (ticket.claim_due_at or ticket.due_at)
    return stamp(moment, turn.rules.zone)


def _line(turn: Turn, ticket: Ticket, holder: str | None = None) -> str:
    tr, locale = turn.translator, turn.locale
    text = turn.t(
        "desk.duty.line",
        number=ticket.number,
        kind=kind_label(tr, locale, ticket.kind),
        status=status_label(tr, locale, ticket.status),
        due=_due(turn, ticket),
    )
    if ticket.urgent:
        text = f"❗{text}"
    return f"{text} · {holder}" if holder else text


async def duty(turn: Turn, args: str = "") -> None:
    """履职清单: my open tickets by deadline, then my unit's unclaimed ones, most urgent first."""
    uow = turn.uow
    actor = await actor_for(uow, turn.person.id)
    if not allows(actor, Action.DUTY) or actor.officer_id is None or actor.unit_id is None:
        refuse_command(turn)
        return
    mine = await uow.tickets.assigned(actor.officer_id, WORKING)
    waiting = await uow.tickets.unclaimed(actor.unit_id, lifecycle.UNCLAIMED)
    lines = [turn.t("desk.duty.title", name=actor.name or "")]
    rows: list[tuple[Button, ...]] = []
    lines.append(turn.t("desk.duty.mine", count=len(mine)))
    for ticket in mine[:SHOWN]:
        lines.append(_line(turn, ticket))
        rows.append((ticket_button(turn, "desk.btn.open", "view", ticket.id, number=ticket.number),))
    if len(mine) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(mine) - SHOWN))
    lines.append(turn.t("desk.duty.unclaimed", count=len(waiting)))
    for ticket in waiting[:SHOWN]:
        lines.append(_line(turn, ticket))
        rows.append(
            (
                ticket_button(turn, "desk.btn.open", "view", ticket.id, number=ticket.number),
                ticket_button(turn, "desk.btn.claim", "claim", ticket.id),
            )
        )
    if len(waiting) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(waiting) - SHOWN))
    if not mine and not waiting:
        lines.append(turn.t("desk.duty.empty"))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows), lasting=True))


async def overview(turn: Turn, args: str = "") -> None:
    """Leaders: their unit's counts and open tickets. Admins: every unit's counts."""
    uow = turn.uow
    actor = await actor_for(uow, turn.person.id)
    if not allows(actor, Action.OVERVIEW) or actor.unit_id is None:
        refuse_command(turn)
        return
    tr, locale = turn.translator, turn.locale
    open_statuses = lifecycle.OPEN
    overdue = await uow.tickets.overdue_counts(turn.now, open_statuses)
    if actor.role == Role.ADMIN:
        counts = await uow.tickets.status_counts(None)
        units = await uow.units.by_ids({u for u, _, _ in counts if u is not None})
        per_unit: dict[int | None, dict[str, int]] = {}
        for unit_id, status, n in counts:
            per_unit.setdefault(unit_id, {})[status] = n
        lines = [turn.t("desk.overview.all_title")]
        total_open = total_unclaimed = 0
        for unit_id, by_status in sorted(per_unit.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            n_open = sum(n for s, n in by_status.items() if s in open_statuses)
            n_unclaimed = sum(n for s, n in by_status.items() if s in lifecycle.UNCLAIMED)
            total_open, total_unclaimed = total_open + n_open, total_unclaimed + n_unclaimed
            lines.append(
                turn.t(
                    "desk.overview.unit_line",
                    unit=unit_label(tr, locale, units.get(unit_id) if unit_id else None),
                    open=n_open,
                    unclaimed=n_unclaimed,
                    overdue=overdue.get(unit_id, 0),
                    total=sum(by_status.values()),
                )
            )
        lines.append(
            turn.t("desk.overview.totals", open=total_open, unclaimed=total_unclaimed, overdue=sum(overdue.values()))
        )
        turn.reply(Reply(text="\n".join(lines)))
        return
    unit = await uow.units.get(actor.unit_id)
    counts = await uow.tickets.status_counts(actor.unit_id)
    lines = [turn.t("desk.overview.title", unit=unit_label(tr, locale, unit))]
    for _, status, n in sorted(
        counts, key=lambda c: lifecycle.STATUSES.index(c[1]) if c[1] in lifecycle.STATUSES else 99
    ):
        lines.append(turn.t("desk.overview.status_line", status=status_label(tr, locale, status), count=n))
    lines.append(turn.t("desk.overview.overdue", count=overdue.get(actor.unit_id, 0)))
    tickets = await uow.tickets.of_unit(actor.unit_id, open_statuses)
    names: dict[int, Officer] = {o.id: o for o in await uow.officers.of_unit(actor.unit_id)}
    rows: list[tuple[Button, ...]] = []
    for ticket in tickets[:SHOWN]:
        holder = names.get(ticket.officer_id) if ticket.officer_id else None
        lines.append(_line(turn, ticket, holder.name if holder else turn.t("desk.card.unclaimed")))
        rows.append(
            (
                ticket_button(turn, "desk.btn.open", "view", ticket.id, number=ticket.number),
                ticket_button(turn, "desk.btn.reassign", "reassign", ticket.id),
            )
        )
    if len(tickets) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(tickets) - SHOWN))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows), lasting=True))
