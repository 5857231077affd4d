"""What an officer does to a ticket they hold or may take: claim it, reveal the phone, note, start work, schedule
mediation, resolve with an outcome, reject, close, reopen — and the citizen's own withdrawal from the card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from handlers.conversation.buttons import data
from handlers.conversation.inputs import Moment
from handlers.conversation.interview import Answers, Step
from handlers.conversation.messages import Reply
from handlers.conversation.personal import conceal
from handlers.conversation.words import status_label
from handlers.staff.card import show_card
from handlers.staff.context import PREFIX, Ctx, can_move, move, reply_row, tell_citizen, tell_officer
from handlers.staff.forms import MESSAGE_TEXT, REASON_TEXT, asks, open_form, ticket_form
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action

OUTCOME: Final = "_outcome"  # the form's context: the outcome chosen before the result is written
OUTCOMES: Final = (
    "mediation_agreement",
    "referred_to_court",
    "legal_aid_granted",
    "relief_granted",
    "advice_given",
    "not_handled",
)


async def claim(ctx: Ctx, arg: str) -> None:
    """The ticket row is locked (SELECT … FOR UPDATE; SQLite serialises writers): the second presser sees the first."""
    ticket = ctx.ticket
    if ticket.officer_id is not None:
        holder = await ctx.turn.uow.officers.get(ticket.officer_id)
        if holder is not None and holder.id == ctx.actor.officer_id:
            await show_card(ctx, "desk.claim.yours")
        else:
            ctx.say("desk.claim.taken", number=ticket.number, by=holder.name if holder else "—")
        return
    if not await move(ctx, lifecycle.CLAIMED):
        return
    ticket.officer_id = ctx.actor.officer_id
    await show_card(ctx, "desk.claim.won")
    await tell_citizen(ctx, "desk.tell.accepted", notice="accepted")


async def phone(ctx: Ctx, arg: str) -> None:
    ticket = ctx.ticket
    if not ticket.phone_sealed:
        ctx.say("desk.phone.none")
        return
    number = ctx.turn.uow.cipher.decrypt(ticket.phone_sealed)
    await ctx.turn.uow.audit.add(ctx.actor.person_id, "reveal_phone", ticket.id, ctx.now)
    await lifecycle.record(ctx.turn.uow, ticket, "phone_revealed", actor_person_id=ctx.actor.person_id, now=ctx.now)
    ctx.turn.say_sensitive("desk.phone.full", number=ticket.number, phone=number)


async def _save_note(ctx: Ctx, answers: Answers) -> None:
    await lifecycle.record(
        ctx.turn.uow, ctx.ticket, "note", actor_person_id=ctx.actor.person_id, now=ctx.now,
        note=conceal(answers["text"])[0], original=answers["text"],
    )  # fmt: skip
    await show_card(ctx, "desk.note.saved")


NOTE: Final = ticket_form(
    "desk_note", Action.NOTE, (Step("text", ask=asks("desk.ask.note"), expects=MESSAGE_TEXT),), _save_note
)


async def note(ctx: Ctx, arg: str) -> None:
    open_form(ctx, NOTE)


async def work(ctx: Ctx, arg: str) -> None:
    if await move(ctx, lifecycle.IN_PROGRESS):
        status = status_label(ctx.turn.translator, ctx.turn.locale, lifecycle.IN_PROGRESS)
        await show_card(ctx, "desk.status.changed", status=status)
        await tell_citizen(ctx, "desk.tell.in_progress")


async def _schedule(ctx: Ctx, answers: Answers) -> None:
    when, place = str(answers["when"]), str(answers["place"])
    if not await move(ctx, lifecycle.MEDIATION_SCHEDULED, note=f"{when} @ {place}"):
        return
    ctx.ticket.details = {**(ctx.ticket.details or {}), "mediation": {"at": when, "place": place}}
    await show_card(ctx, "desk.mediation.set", when=when, place=place)
    await tell_citizen(
        ctx,
        "desk.tell.mediation",
        extra=lambda locale: {"when": when, "place": place},
        buttons=lambda locale: reply_row(ctx, locale),
        notice="message",
    )


MEDIATION: Final = ticket_form(
    "desk_mediation",
    Action.SCHEDULE_MEDIATION,
    (
        Step("when", ask=asks("desk.ask.mediation_when"), expects=Moment()),
        Step("place", ask=asks("desk.ask.mediation_place"), expects=REASON_TEXT),
    ),
    _schedule,
)


async def mediate(ctx: Ctx, arg: str) -> None:
    if can_move(ctx, lifecycle.MEDIATION_SCHEDULED):
        open_form(ctx, MEDIATION)


async def resolve(ctx: Ctx, arg: str) -> None:
    if not can_move(ctx, lifecycle.RESOLVED):
        return
    turn = ctx.turn
    cells = [turn.button(f"desk.outcome.{code}", data(PREFIX, "outcome", ctx.ticket.id, code)) for code in OUTCOMES]
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append((turn.button("nav.cancel", data(PREFIX, "abort", ctx.ticket.id)),))
    turn.reply(Reply(text=turn.t("desk.ask.outcome", number=ctx.ticket.number), buttons=tuple(rows)))


async def _not_handled(ctx: Ctx, answers: Answers) -> None:
    await finish(ctx, "not_handled", str(answers["reason"]))


NOT_HANDLED: Final = ticket_form(
    "desk_not_handled",
    Action.RESOLVE,
    (Step("reason", ask=asks("desk.ask.not_handled"), expects=REASON_TEXT),),
    _not_handled,
)


async def _resolved(ctx: Ctx, answers: Answers) -> None:
    code = str(answers.get(OUTCOME) or "")
    if code not in OUTCOMES:
        await resolve(ctx, "")
        return
    await finish(ctx, code, None, result=str(answers["result"]))


# What was done, in the officer's words: the citizen's resolution notice carries it.
RESULT: Final = ticket_form(
    "desk_result",
    Action.RESOLVE,
    (Step("result", ask=asks("desk.ask.result"), expects=MESSAGE_TEXT),),
    _resolved,
)


async def outcome(ctx: Ctx, code: str) -> None:
    if code not in OUTCOMES:
        await resolve(ctx, "")
        return
    if not can_move(ctx, lifecycle.RESOLVED):
        return
    if code == "not_handled":
        open_form(ctx, NOT_HANDLED)
        return
    open_form(ctx, RESULT, **{OUTCOME: code})


async def finish(ctx: Ctx, code: str, reason: str | None, *, result: str | None = None) -> None:
    if not await move(ctx, lifecycle.RESOLVED, note=result or reason):
        return
    ctx.ticket.outcome = code
    tr = ctx.turn.translator

    def extra(locale: str) -> Mapping[str, object]:
        said = tr(locale, f"desk.outcome.{code}")
        law = tr(locale, f"desk.tell.outcome.{code}", reason=reason or "")
        lines = [tr(locale, "desk.tell.result", result=result)] if result else []
        if law != f"desk.tell.outcome.{code}":
            lines.append(law)
        return {"outcome": said, "more": "\n".join(lines)}

    await show_card(ctx, "desk.status.changed", status=status_label(tr, ctx.turn.locale, lifecycle.RESOLVED))
    await tell_citizen(ctx, "desk.tell.resolved", extra=extra, notice="decision")


async def _reject(ctx: Ctx, answers: Answers) -> None:
    reason, elsewhere = str(answers["reason"]), answers.get("elsewhere")
    if not await move(ctx, lifecycle.REJECTED, note=reason if not elsewhere else f"{reason} / {elsewhere}"):
        return
    ctx.say("desk.rejected", number=ctx.ticket.number)
    tr = ctx.turn.translator

    def extra(locale: str) -> Mapping[str, object]:
        where = str(elsewhere) if elsewhere else tr(locale, "desk.reject.hotlines")
        return {"reason": f"{reason}\n{tr(locale, 'desk.tell.elsewhere', where=where)}"}

    await tell_citizen(ctx, "desk.tell.rejected", extra=extra, notice="decision")


# A rejection says why and where else to turn: the unit or hotline the officer names, else the public hotlines.
REJECT: Final = ticket_form(
    "desk_reject",
    Action.REJECT,
    (
        Step("reason", ask=asks("desk.ask.reject"), expects=REASON_TEXT),
        Step("elsewhere", ask=asks("desk.ask.elsewhere"), expects=REASON_TEXT, optional=True),
    ),
    _reject,
)


async def reject(ctx: Ctx, arg: str) -> None:
    if can_move(ctx, lifecycle.REJECTED):
        open_form(ctx, REJECT)


async def close(ctx: Ctx, arg: str) -> None:
    if await move(ctx, lifecycle.CLOSED):
        ctx.say("desk.closed", number=ctx.ticket.number)
        await tell_citizen(ctx, "desk.tell.closed")


async def reopen(ctx: Ctx, arg: str) -> None:
    if not await move(ctx, lifecycle.REOPENED):
        return
    if ctx.ticket.citizen_id == ctx.actor.person_id:
        ctx.say("desk.tell.reopened_ack", number=ctx.ticket.number)
        await tell_officer(ctx, ctx.ticket.officer_id, "desk.reopened_by_citizen")
    else:
        status = status_label(ctx.turn.translator, ctx.turn.locale, lifecycle.REOPENED)
        await show_card(ctx, "desk.status.changed", status=status)
        await tell_citizen(ctx, "desk.tell.reopened")


async def withdraw(ctx: Ctx, arg: str) -> None:
    if not await move(ctx, lifecycle.CANCELLED, action="withdrawn"):
        return
    ctx.say("desk.tell.withdrawn", number=ctx.ticket.number)
    await tell_officer(ctx, ctx.ticket.officer_id, "desk.withdrawn_by_citizen")


FORMS: Final = (NOTE, MEDIATION, NOT_HANDLED, RESULT, REJECT)
