"""The relay: an officer writes to the citizen through the desk, the citizen answers (with the reply button, or
simply by writing while the conversation is open), and both sides' words go on the ticket's record."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from handlers.conversation import engine
from handlers.conversation.buttons import data
from handlers.conversation.inputs import Accepted, Rejected
from handlers.conversation.interview import Answers, Step
from handlers.conversation.messages import Button, Reply
from handlers.conversation.personal import conceal
from handlers.conversation.turn import Turn
from handlers.staff.context import PREFIX, WORKING, Ctx, load, not_found, reply_row, tell_citizen
from handlers.staff.forms import MESSAGE_TEXT, asks, open_form, ticket_form
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action
from storage.models import Ticket

RELAY_TTL: Final = timedelta(days=7)
RELAY_EVENTS: Final = ("message_out", "message_in", "reassigned", "relay_closed")


async def _send(ctx: Ctx, answers: Answers) -> None:
    ticket, text = ctx.ticket, str(answers["text"])
    if ticket.status not in WORKING or ticket.officer_id != ctx.actor.officer_id:
        ctx.say("desk.message.closed", number=ticket.number)
        return
    await lifecycle.record(
        ctx.turn.uow, ticket, "message_out", actor_person_id=ctx.actor.person_id, now=ctx.now, note=conceal(text)[0],
        citizen_visible=True, original=text,
    )  # fmt: skip
    delivered = await tell_citizen(
        ctx,
        "desk.tell.message",
        extra=lambda locale: {"text": text},
        buttons=lambda locale: reply_row(ctx, locale),
        notice="message",
        sensitive=True,  # the officer's words as written: sealed at rest, like the citizen's
    )
    ctx.say("desk.message.sent" if delivered else "desk.message.unreachable", number=ticket.number)


MESSAGE: Final = ticket_form(
    "desk_message", Action.MESSAGE, (Step("text", ask=asks("desk.ask.message"), expects=MESSAGE_TEXT),), _send
)


async def message(ctx: Ctx, arg: str) -> None:
    if ctx.ticket.status not in WORKING or ctx.ticket.officer_id != ctx.actor.officer_id:
        ctx.say("desk.message.closed", number=ctx.ticket.number)
        return
    open_form(ctx, MESSAGE)


async def citizen_message(ctx: Ctx, text: str, *, relayed: bool = False) -> None:
    """The citizen's words go on the ticket's record and to the officer who holds it now."""
    ticket, turn = ctx.ticket, ctx.turn
    if ticket.status not in WORKING or ticket.officer_id is None:
        ctx.say("desk.tell.reply_closed", number=ticket.number)
        return
    await lifecycle.record(
        turn.uow, ticket, "message_in", actor_person_id=ctx.actor.person_id, now=ctx.now, note=conceal(text)[0],
        citizen_visible=True, original=text,
    )  # fmt: skip
    officer = await turn.uow.officers.get(ticket.officer_id)
    if officer is not None and officer.active:
        tr = turn.translator

        def render(locale: str) -> Reply:
            return Reply(
                text=tr(locale, "desk.message.from_citizen", number=ticket.number, text=text),
                sensitive=True,  # the citizen's words as written: sealed at rest
                buttons=(
                    (
                        Button(tr(locale, "desk.btn.message"), data(PREFIX, "msg", ticket.id)),
                        Button(tr(locale, "desk.btn.view"), data(PREFIX, "view", ticket.id)),
                        Button(tr(locale, "desk.btn.hush"), data(PREFIX, "hush", ticket.id)),
                    ),
                ),
                lasting=True,
            )

        await turn.outbox.to_person(officer.person_id, render)
    if not relayed:
        ctx.say("desk.tell.reply_sent", number=ticket.number)
        return
    # Free text went to the officer: say so, and how to stop, so nobody talks to an officer without knowing.
    stop = Button(turn.t("desk.btn.stop_reply"), data(PREFIX, "leave", ticket.id))
    said = (
        f"{turn.t('desk.tell.reply_sent', number=ticket.number)}\n{turn.t('desk.tell.relay_on', number=ticket.number)}"
    )
    turn.reply(Reply(text=said, buttons=((stop,),), lasting=True))


async def leave(ctx: Ctx, arg: str) -> None:
    """The citizen's stop button: what they type next goes to the desk again, not to the officer."""
    engine.leave_relay(ctx.turn)
    ctx.say("desk.tell.relay_left", number=ctx.ticket.number)


async def _reply(ctx: Ctx, answers: Answers) -> None:
    await citizen_message(ctx, str(answers["text"]))


REPLY: Final = ticket_form(
    "desk_reply", Action.MESSAGE, (Step("text", ask=asks("desk.tell.ask.reply"), expects=MESSAGE_TEXT),), _reply
)


async def reply(ctx: Ctx, arg: str) -> None:
    if ctx.ticket.status not in WORKING or ctx.ticket.officer_id is None:
        ctx.say("desk.tell.reply_closed", number=ctx.ticket.number)
        return
    open_form(ctx, REPLY)


async def open_relay(turn: Turn) -> Ticket | None:
    """The citizen's ticket an officer last wrote about, while that conversation is still open: not ended by the
    officer, the ticket still being worked, and the citizen not turned to something else since (/menu, the guide,
    a new interview, the stop button)."""
    best: tuple[int, Ticket] | None = None
    left = engine.relay_left_at(turn)
    for ticket in await turn.uow.tickets.open_of_citizen(turn.person.id, WORKING):
        if ticket.officer_id is None:
            continue
        last = await turn.uow.tickets.last_event(ticket.id, RELAY_EVENTS)
        if last is None or last.action not in ("message_out", "message_in"):
            continue
        if last.created_at < turn.now - RELAY_TTL or (left is not None and last.created_at < left):
            continue
        if best is None or last.id > best[0]:
            best = (last.id, ticket)
    return best[1] if best else None


async def take_text(turn: Turn) -> bool:
    """Free text outside any form, while an officer's conversation with this citizen is open, goes to that officer."""
    incoming = turn.incoming
    if engine.current(turn) is not None or incoming.text is None or incoming.choice is not None:
        return False
    found = await open_relay(turn)
    if found is None:
        return False
    ctx = await load(turn, found.id, Action.MESSAGE)
    if ctx is None:
        return False
    parsed = MESSAGE_TEXT.parse(turn, incoming)
    if isinstance(parsed, Rejected):
        turn.say(parsed.msgid, **parsed.params)
        return True
    assert isinstance(parsed, Accepted)
    await citizen_message(ctx, str(parsed.value), relayed=True)
    return True


async def hush(ctx: Ctx, arg: str) -> None:
    if ctx.ticket.officer_id != ctx.actor.officer_id:
        not_found(ctx.turn)
        return
    await lifecycle.record(ctx.turn.uow, ctx.ticket, "relay_closed", actor_person_id=ctx.actor.person_id, now=ctx.now)
    ctx.say("desk.relay_closed", number=ctx.ticket.number)


FORMS: Final = (MESSAGE, REPLY)
