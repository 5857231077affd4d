"""Handing a ticket on: to another unit (with the reason and, if known, who receives it), or to another officer of
the same unit (leaders)."""

from __future__ import annotations

from typing import Final

from handlers.conversation.buttons import as_id, data
from handlers.conversation.inputs import Text
from handlers.conversation.interview import Answers, Step
from handlers.conversation.messages import Button, Reply
from handlers.conversation.personal import conceal
from handlers.conversation.words import unit_label
from handlers.staff.alerts import alert_unit
from handlers.staff.context import PREFIX, WORKING, Ctx, can_move, illegal, move, tell_citizen, tell_officer, unit_of
from handlers.staff.forms import REASON_TEXT, asks, open_form, ticket_form
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action
from handlers.tickets.units import POLITICAL_LEGAL, TAKES, takes
from storage.models import Unit

UNIT: Final = "_unit"
# Cross-agency handoff: the units of the ticket's county, then those of the city, in this order of kinds; a unit
# outside the political-legal system (labour inspection) only for the tickets it takes (handlers/tickets/units.py).
TRANSFER_KINDS: Final = (*POLITICAL_LEGAL, *TAKES)


def _abort_row(ctx: Ctx) -> tuple[Button, ...]:
    return (ctx.turn.button("nav.cancel", data(PREFIX, "abort", ctx.ticket.id)),)


async def transfer_targets(ctx: Ctx) -> list[Unit]:
    uow, ticket = ctx.turn.uow, ctx.ticket
    local = list(await uow.units.units_in(ticket.county)) if ticket.county else []
    city = list(await uow.units.units_in(None))
    order = {kind: i for i, kind in enumerate(TRANSFER_KINDS)}
    local.sort(key=lambda u: (order.get(u.kind, 99), u.id))
    city.sort(key=lambda u: (order.get(u.kind, 99), u.id))
    return [u for u in local + city if u.id != ticket.unit_id and takes(u.kind, ticket.kind, ticket.category)]


async def transfer(ctx: Ctx, arg: str) -> None:
    if not can_move(ctx, lifecycle.TRANSFERRED):
        return
    turn, locale = ctx.turn, ctx.turn.locale
    cells = [
        Button(unit_label(turn.translator, locale, unit), data(PREFIX, "to", ctx.ticket.id, unit.id))
        for unit in await transfer_targets(ctx)
    ]
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append(_abort_row(ctx))
    turn.reply(Reply(text=turn.t("desk.ask.transfer_unit", number=ctx.ticket.number), buttons=tuple(rows)))


async def _target(ctx: Ctx, unit_id: int | None) -> Unit | None:
    target = await ctx.turn.uow.units.get(unit_id) if unit_id is not None else None
    if target is None or not target.active or target.id == ctx.ticket.unit_id:
        return None
    if not takes(target.kind, ctx.ticket.kind, ctx.ticket.category):
        return None
    return target


async def transfer_to(ctx: Ctx, arg: str) -> None:
    if not can_move(ctx, lifecycle.TRANSFERRED):
        return
    target = await _target(ctx, as_id(arg))
    if target is None:
        await transfer(ctx, "")
        return
    open_form(ctx, TRANSFER, **{UNIT: target.id})


async def _hand_over(ctx: Ctx, answers: Answers) -> None:
    uow, ticket = ctx.turn.uow, ctx.ticket
    unit_id = answers.get(UNIT)
    target = await _target(ctx, unit_id if isinstance(unit_id, int) else None)
    reason, receiver = str(answers["reason"]), answers.get("receiver")
    if target is None:
        await transfer(ctx, "")
        return
    source = await unit_of(ctx)
    if not await move(ctx, lifecycle.TRANSFERRED):
        return
    # The reason is for the receiving unit, not for the citizen's story of the ticket.
    note = reason if not receiver else f"{reason} / {receiver}"
    await lifecycle.record(uow, ticket, "transfer_reason", actor_person_id=ctx.actor.person_id, now=ctx.now,
                           note=conceal(note)[0], original=note)  # fmt: skip
    ticket.unit_id, ticket.officer_id = target.id, None
    tr = ctx.turn.translator
    await alert_unit(
        ctx.turn,
        ticket,
        target,
        lead="desk.alert.transferred",
        lead_params=lambda locale: {
            "from_unit": unit_label(tr, locale, source),
            "reason": reason,
            "receiver": receiver or "—",
        },
    )
    ctx.say("desk.transferred", number=ticket.number, unit=unit_label(tr, ctx.turn.locale, target))
    await tell_citizen(ctx, "desk.tell.transferred")


TRANSFER: Final = ticket_form(
    "desk_transfer",
    Action.TRANSFER,
    (
        Step("reason", ask=asks("desk.ask.transfer_reason"), expects=REASON_TEXT),
        Step(
            "receiver",
            ask=asks("desk.ask.transfer_receiver"),
            expects=Text(min_len=1, max_len=120),
            optional=True,
        ),
    ),
    _hand_over,
)


async def reassign(ctx: Ctx, arg: str) -> None:
    turn, ticket = ctx.turn, ctx.ticket
    if ticket.unit_id is None or ticket.status not in WORKING | lifecycle.UNCLAIMED:
        illegal(ctx, lifecycle.CLAIMED)
        return
    cells = [
        Button(
            officer.name + (" ✓" if officer.id == ticket.officer_id else ""),
            data(PREFIX, "assign", ticket.id, officer.id),
        )
        for officer in await turn.uow.officers.of_unit(ticket.unit_id)
    ]
    if not cells:
        ctx.say("desk.assign.nobody")
        return
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append(_abort_row(ctx))
    turn.reply(Reply(text=turn.t("desk.ask.assignee", number=ticket.number), buttons=tuple(rows)))


async def assign(ctx: Ctx, arg: str) -> None:
    uow, ticket = ctx.turn.uow, ctx.ticket
    officer_id = as_id(arg)
    officer = await uow.officers.get(officer_id) if officer_id is not None else None
    if officer is None or not officer.active or officer.unit_id != ticket.unit_id:
        await reassign(ctx, "")
        return
    if officer.id == ticket.officer_id:
        ctx.say("desk.assign.same", name=officer.name)
        return
    if ticket.status in lifecycle.UNCLAIMED:
        if not await move(ctx, lifecycle.CLAIMED, action="assigned"):
            return
        await tell_citizen(ctx, "desk.tell.accepted")
    elif ticket.status in WORKING:
        before = await uow.officers.get(ticket.officer_id) if ticket.officer_id else None
        await lifecycle.record(
            uow, ticket, "reassigned", actor_person_id=ctx.actor.person_id, now=ctx.now,
            note=f"{before.name if before else '—'} → {officer.name}",
        )  # fmt: skip
    else:
        illegal(ctx, lifecycle.CLAIMED)
        return
    previous, ticket.officer_id = ticket.officer_id, officer.id
    ctx.say("desk.assign.done", number=ticket.number, name=officer.name)
    await tell_officer(ctx, officer.id, "desk.assigned_to_you")
    await tell_officer(ctx, previous, "desk.assigned_away", name=officer.name)


FORMS: Final = (TRANSFER,)
