"""The ticket card: what a ticket is, where it stands and its history, with the buttons its viewer may press — a
button shows only when the policy and the state machine both agree."""

from __future__ import annotations

from typing import Final

from handlers.conversation.buttons import data
from handlers.conversation.messages import Button, Reply
from handlers.conversation.turn import Turn
from handlers.conversation.words import (
    category_label,
    kind_label,
    label,
    place_label,
    short,
    stamp,
    status_label,
    unit_label,
)
from handlers.staff.answers import answer_lines
from handlers.staff.context import PREFIX, WORKING, Ctx, unit_of
from handlers.staff.reachability import reachability
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Actor, allows
from storage.models import Ticket

HISTORY: Final = 8
# A ticket its citizen closed says so on a line of its own, not only in its history (#16).
WITHDRAWALS: Final = {
    lifecycle.WITHDRAWN_ERASED: "desk.card.withdrawn_erased",
    lifecycle.CANCELLED_BY_CITIZEN: "desk.card.withdrawn",
}

# (verb, action, status it leads to, label)
CARD: Final[tuple[tuple[str, Action, str | None, str], ...]] = (
    ("claim", Action.CLAIM, lifecycle.CLAIMED, "desk.btn.claim"),
    ("phone", Action.REVEAL_PHONE, None, "desk.btn.phone"),
    ("files", Action.VIEW_SENSITIVE, None, "desk.btn.files"),
    ("original", Action.REVEAL_PHONE, None, "desk.btn.original"),
    ("msg", Action.MESSAGE, None, "desk.btn.message"),
    ("note", Action.NOTE, None, "desk.btn.note"),
    ("work", Action.START_WORK, lifecycle.IN_PROGRESS, "desk.btn.work"),
    ("mediate", Action.SCHEDULE_MEDIATION, lifecycle.MEDIATION_SCHEDULED, "desk.btn.mediate"),
    ("resolve", Action.RESOLVE, lifecycle.RESOLVED, "desk.btn.resolve"),
    ("transfer", Action.TRANSFER, lifecycle.TRANSFERRED, "desk.btn.transfer"),
    ("reject", Action.REJECT, lifecycle.REJECTED, "desk.btn.reject"),
    ("reassign", Action.REASSIGN, None, "desk.btn.reassign"),
    ("close", Action.CLOSE, lifecycle.CLOSED, "desk.btn.close"),
    ("reopen", Action.REOPEN, lifecycle.REOPENED, "desk.btn.reopen"),
    ("reply", Action.MESSAGE, None, "desk.btn.reply"),
    ("cancel", Action.CANCEL, lifecycle.CANCELLED, "desk.btn.withdraw"),
)


def staff_view(actor: Actor, ticket: Ticket) -> bool:
    return actor.is_officer and ticket.citizen_id != actor.person_id


def offered(actor: Actor, ticket: Ticket, verb: str, action: Action, to_status: str | None) -> bool:
    if not allows(actor, action, ticket):
        return False
    if to_status is not None and not lifecycle.allowed(ticket.status, to_status):
        return False
    staff = staff_view(actor, ticket)
    if verb == "claim":
        return ticket.officer_id is None
    if verb == "msg":
        return staff and ticket.status in WORKING and ticket.officer_id == actor.officer_id
    if verb == "reply":
        return not staff and ticket.status in WORKING and ticket.officer_id is not None
    if verb == "phone":
        return ticket.phone_sealed is not None
    if verb == "files":
        return staff and bool(ticket.attachments)
    if verb == "original":
        return staff and ticket.details_sealed is not None
    if verb == "reassign":
        return ticket.status in WORKING | lifecycle.UNCLAIMED
    return staff or verb in ("cancel", "reopen")


def card_buttons(turn: Turn, actor: Actor, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    cells = [
        turn.button(msgid, data(PREFIX, verb, ticket.id))
        for verb, action, to_status, msgid in CARD
        if offered(actor, ticket, verb, action, to_status)
    ]
    return tuple(tuple(cells[i : i + 3]) for i in range(0, len(cells), 3))


async def card(ctx: Ctx, *, lead: str | None = None) -> Reply:
    turn, ticket, tr, locale, zone = ctx.turn, ctx.ticket, ctx.turn.translator, ctx.turn.locale, ctx.turn.rules.zone
    unit = await unit_of(ctx)
    staff = staff_view(ctx.actor, ticket)
    lines = [lead] if lead else []
    lines.append(turn.t("desk.card.title", number=ticket.number, status=status_label(tr, locale, ticket.status)))
    lines.append(
        turn.t(
            "desk.card.what",
            kind=kind_label(tr, locale, ticket.kind),
            category=category_label(tr, locale, ticket.kind, ticket.category),
            place=place_label(tr, locale, ticket),
        )
    )
    lines.append(turn.t("desk.card.unit", unit=unit_label(tr, locale, unit)))
    if staff and ticket.status == lifecycle.CANCELLED:
        withdrawal = await turn.uow.tickets.last_event(ticket.id, tuple(WITHDRAWALS))
        if withdrawal is not None:
            lines.append(turn.t(WITHDRAWALS[withdrawal.action], at=stamp(withdrawal.created_at, zone)))
    if staff:
        holder = await turn.uow.officers.get(ticket.officer_id) if ticket.officer_id else None
        lines.append(turn.t("desk.card.officer", officer=holder.name) if holder else turn.t("desk.card.unclaimed"))
        lines.append(turn.t("desk.card.created", at=stamp(ticket.created_at, zone)))
        if ticket.officer_id is None and ticket.claim_due_at:
            lines.append(turn.t("desk.card.claim_due", at=stamp(ticket.claim_due_at, zone)))
        if ticket.due_at:
            lines.append(turn.t("desk.card.due", at=stamp(ticket.due_at, zone)))
        lines.append(turn.t("desk.card.phone", phone=ticket.phone_masked or turn.t("desk.phone.none")))
        lines.append(await reachability(turn, ticket))
        lines.extend(await answer_lines(ctx))
    mediation = (ticket.details or {}).get("mediation")
    if isinstance(mediation, dict):
        lines.append(turn.t("desk.card.mediation", when=mediation.get("at", ""), place=mediation.get("place", "")))
    if ticket.outcome:
        lines.append(turn.t("desk.card.outcome", outcome=turn.t(f"desk.outcome.{ticket.outcome}")))
    events = await turn.uow.tickets.events(ticket.id, citizen_visible_only=not staff)
    if events:
        lines.append(turn.t("desk.card.history"))
        for event in list(events)[-HISTORY:]:
            shown_note = staff or event.action in ("message_out", "message_in", "rejected")
            note = f" — {short(event.note, 120)}" if event.note and shown_note else ""  # masked: `original` shows it
            action = label(tr, locale, f"desk.event.{event.action}", event.action)
            lines.append(f"• {stamp(event.created_at, zone)} {action}{note}")
    # An officer's card carries the citizen's answers: its outbox row is sealed at rest.
    return Reply(text="\n".join(lines), buttons=card_buttons(turn, ctx.actor, ticket), lasting=True, sensitive=staff)


async def view(ctx: Ctx, arg: str) -> None:
    ctx.turn.reply(await card(ctx))


async def show_card(ctx: Ctx, msgid: str, **params: object) -> None:
    ctx.turn.reply(await card(ctx, lead=ctx.turn.t(msgid, number=ctx.ticket.number, **params)))
