"""What every officer action stands on: the acting officer and the ticket (loaded locked, the policy asked first),
the one answer to "not found or not yours", status moves that say why they cannot happen, and telling the other side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from handlers.conversation.buttons import data
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply
from handlers.conversation.personal import conceal
from handlers.conversation.turn import Turn
from handlers.conversation.words import status_label, unit_label
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Actor, actor_for, allows
from storage.models import Ticket, Unit

PREFIX: Final = "t"  # every ticket button: t:<verb>:<ticket id>[:<arg>]
WORKING: Final = frozenset(
    {lifecycle.CLAIMED, lifecycle.IN_PROGRESS, lifecycle.MEDIATION_SCHEDULED, lifecycle.REOPENED}
)


def ticket_button(turn: Turn, msgid: str, verb: str, ticket_id: int, *args: str | int, **params: object) -> Button:
    return turn.button(msgid, data(PREFIX, verb, ticket_id, *args), **params)


@dataclass
class Ctx:
    turn: Turn
    actor: Actor
    ticket: Ticket

    @property
    def now(self) -> datetime:
        return self.turn.now

    def say(self, msgid: str, **params: object) -> None:
        self.turn.say(msgid, **params)


def not_found(turn: Turn) -> None:
    """The one answer to a missing ticket AND to a forbidden one: same text, same (no) buttons."""
    turn.reply(Reply(text=turn.t("desk.not_found")))


async def load(turn: Turn, ticket_id: int | None, action: Action) -> Ctx | None:
    """The ticket, locked, when the policy lets this person do `action` to it; None otherwise (not_found)."""
    if ticket_id is None:
        return None
    actor = await actor_for(turn.uow, turn.person.id)
    ticket = await turn.uow.tickets.get_for_update(ticket_id)
    if ticket is None or not allows(actor, action, ticket):
        return None
    return Ctx(turn, actor, ticket)


def illegal(ctx: Ctx, to_status: str) -> None:
    tr, locale = ctx.turn.translator, ctx.turn.locale
    ctx.say(
        "desk.illegal",
        number=ctx.ticket.number,
        status=status_label(tr, locale, ctx.ticket.status),
        to=status_label(tr, locale, to_status),
    )


def can_move(ctx: Ctx, to_status: str) -> bool:
    if lifecycle.allowed(ctx.ticket.status, to_status):
        return True
    illegal(ctx, to_status)
    return False


async def move(
    ctx: Ctx, to_status: str, *, action: str | None = None, note: str | None = None, visible: bool = True
) -> bool:
    try:
        await lifecycle.transition(
            ctx.turn.uow,
            ctx.ticket,
            to_status,
            actor_person_id=ctx.actor.person_id,
            now=ctx.now,
            action=action,
            note=conceal(note)[0] if note else None,  # a result or a reason typed by the officer: numbers masked
            citizen_visible=visible,
            original=note,
        )
    except lifecycle.IllegalTransition:
        illegal(ctx, to_status)
        return False
    return True


async def unit_of(ctx: Ctx) -> Unit | None:
    return await ctx.turn.uow.units.get(ctx.ticket.unit_id) if ctx.ticket.unit_id else None


async def tell_citizen(
    ctx: Ctx,
    msgid: str,
    extra: Callable[[str], Mapping[str, object]] | None = None,
    buttons: Callable[[str], tuple[tuple[Button, ...], ...]] | None = None,
    notice: str | None = None,
    sensitive: bool = False,
) -> bool:
    """A citizen-visible change, in the citizen's own language, on their latest reachable chat. `notice` names a
    change that matters (accepted, message, decision): it may then reach them by a notification, a push or an SMS.
    `sensitive` seals the row at rest (an officer's own words may carry a number)."""
    tr, ticket, unit = ctx.turn.translator, ctx.ticket, await unit_of(ctx)

    def render(locale: str) -> Reply:
        params: dict[str, object] = {"number": ticket.number, "unit": unit_label(tr, locale, unit)}
        if extra:
            params.update(extra(locale))
        return Reply(
            text=tr(locale, msgid, **params),
            buttons=buttons(locale) if buttons else (),
            notice=notice,
            facts=notice_facts(tr, locale, ticket, notice),
            sensitive=sensitive,
        )

    return await ctx.turn.outbox.to_person(ticket.citizen_id, render, kind="update", urgent=ticket.urgent)


def notice_facts(tr: Translator, locale: str, ticket: Ticket, notice: str | None) -> dict[str, str]:
    """What a notification, a push or an SMS may say in a message's place: the number and a short status."""
    if notice is None:
        return {}
    return {"number": ticket.number, "status": tr(locale, f"notice.status.{notice}")}


def reply_row(ctx: Ctx, locale: str) -> tuple[tuple[Button, ...], ...]:
    """The citizen's way to answer an officer's message."""
    return ((Button(ctx.turn.translator(locale, "desk.btn.reply"), data(PREFIX, "reply", ctx.ticket.id)),),)


async def tell_officer(ctx: Ctx, officer_id: int | None, msgid: str, **params: object) -> None:
    if officer_id is None:
        return
    officer = await ctx.turn.uow.officers.get(officer_id)
    if officer is None or not officer.active or officer.person_id == ctx.actor.person_id:
        return
    tr, ticket = ctx.turn.translator, ctx.ticket

    def render(locale: str) -> Reply:
        view = Button(tr(locale, "desk.btn.view"), data(PREFIX, "view", ticket.id))
        return Reply(text=tr(locale, msgid, number=ticket.number, **params), buttons=((view,),), lasting=True)

    await ctx.turn.outbox.to_person(officer.person_id, render)


def refuse_command(turn: Turn) -> None:
    turn.say("desk.command_refused")
