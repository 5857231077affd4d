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
    # A leader's unit and every unit below it (a county bureau and its township offices): the unit tree.
    tree = await uow.units.subtree(actor.unit_id)
    ids = [u.id for u in tree]
    counts = await uow.tickets.status_counts(among=ids)
    lines = [turn.t("desk.overview.title", unit=unit_label(tr, locale, tree[0] if tree else None))]
    summed: dict[str, int] = {}
    in_tree: dict[int | None, dict[str, int]] = {}
    for unit_id, status, n in counts:
        summed[status] = summed.get(status, 0) + n
        in_tree.setdefault(unit_id, {})[status] = n
    for status, n in sorted(
        summed.items(), key=lambda c: lifecycle.STATUSES.index(c[0]) if c[0] in lifecycle.STATUSES else 99
    ):
        lines.append(turn.t("desk.overview.status_line", status=status_label(tr, locale, status), count=n))
    lines.append(turn.t("desk.overview.overdue", count=sum(overdue.get(u, 0) for u in ids)))
    if len(tree) > 1:
        lines.append(turn.t("desk.overview.tree", count=len(tree) - 1))
        for unit in tree:
            mine = in_tree.get(unit.id, {})
            lines.append(
                turn.t(
                    "desk.overview.unit_line",
                    unit=unit_label(tr, locale, unit),
                    open=sum(n for s, n in mine.items() if s in open_statuses),
                    unclaimed=sum(n for s, n in mine.items() if s in lifecycle.UNCLAIMED),
                    overdue=overdue.get(unit.id, 0),
                    total=sum(mine.values()),
                )
            )
    tickets = await uow.tickets.of_units(ids, open_statuses)
    names: dict[int, Officer] = {o.id: o for u in ids for o in await uow.officers.of_unit(u)}
    units = {u.id: u for u in tree}
    rows: list[tuple[Button, ...]] = []
    for ticket in tickets[:SHOWN]:
        holder = names.get(ticket.officer_id) if ticket.officer_id else None
        line = _line(turn, ticket, holder.name if holder else turn.t("desk.card.unclaimed"))
        if ticket.unit_id != actor.unit_id:  # a unit below: its own leader acts on it; here it is counted and named
            lines.append(f"{line} · {unit_label(tr, locale, units.get(ticket.unit_id or 0))}")
            continue
        lines.append(line)
        rows.append(
            (
                ticket_button(turn, "desk.btn.open", "view", ticket.id, number=ticket.number),
                ticket_button(turn, "desk.btn.reassign", "reassign", ticket.id),
            )
        )
    if len(tickets) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(tickets) - SHOWN))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows), lasting=True))
