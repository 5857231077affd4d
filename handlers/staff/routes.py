"""What the officer desk answers: the staff commands, every `t:` ticket button (each verb names one policy action
and nothing reaches a verb without the policy's yes), the relay's free text, and the officers' forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from handlers.conversation import engine
from handlers.conversation.buttons import Data
from handlers.conversation.routes import Command, Routes
from handlers.conversation.turn import Turn
from handlers.staff import actions, answers, audit, joining, lists, relay, transfer
from handlers.staff.card import view
from handlers.staff.context import PREFIX, Ctx, load, not_found
from handlers.tickets.policy import Action


@dataclass(frozen=True)
class Verb:
    action: Action
    run: Callable[[Ctx, str], Awaitable[None]]


VERBS: Final[dict[str, Verb]] = {
    "view": Verb(Action.VIEW, view),
    "claim": Verb(Action.CLAIM, actions.claim),
    "phone": Verb(Action.REVEAL_PHONE, actions.phone),
    "files": Verb(Action.VIEW_SENSITIVE, answers.open_attachments),
    "original": Verb(Action.REVEAL_PHONE, answers.reveal_originals),
    "msg": Verb(Action.MESSAGE, relay.message),
    "reply": Verb(Action.MESSAGE, relay.reply),
    "hush": Verb(Action.MESSAGE, relay.hush),
    "leave": Verb(Action.MESSAGE, relay.leave),
    "note": Verb(Action.NOTE, actions.note),
    "work": Verb(Action.START_WORK, actions.work),
    "mediate": Verb(Action.SCHEDULE_MEDIATION, actions.mediate),
    "resolve": Verb(Action.RESOLVE, actions.resolve),
    "outcome": Verb(Action.RESOLVE, actions.outcome),
    "transfer": Verb(Action.TRANSFER, transfer.transfer),
    "to": Verb(Action.TRANSFER, transfer.transfer_to),
    "reject": Verb(Action.REJECT, actions.reject),
    "reassign": Verb(Action.REASSIGN, transfer.reassign),
    "assign": Verb(Action.REASSIGN, transfer.assign),
    "close": Verb(Action.CLOSE, actions.close),
    "reopen": Verb(Action.REOPEN, actions.reopen),
    "cancel": Verb(Action.CANCEL, actions.withdraw),
}

FORMS: Final = (*actions.FORMS, *relay.FORMS, *transfer.FORMS, joining.ASK_NAME)


async def on_button(turn: Turn, pressed: Data) -> None:
    """`t:<verb>:<ticket id>[:<arg>]`. A refused verb is answered exactly like a missing ticket."""
    name = pressed.part(0)
    if name == "abort":  # a form's cancel, or the cancel row under a choice of outcomes, units or officers
        resumed = engine.current(turn)  # the router has left the form: what it had paused is back
        if resumed is not None:
            engine.reask(turn, resumed, lead=turn.t("desk.aborted"))
        else:
            turn.say("desk.aborted")
        return
    verb = VERBS.get(name)
    ctx = await load(turn, pressed.id(1), verb.action) if verb else None
    if verb is None or ctx is None:
        not_found(turn)
        return
    await verb.run(ctx, pressed.rest(2))


ROUTES: Final = Routes(
    commands=(
        Command("join", joining.join, Action.JOIN),  # in /help of whoever may join; in no chat's menu
        Command("duty", lists.duty, Action.DUTY),
        Command("overview", lists.overview, Action.OVERVIEW),
        Command("invite", joining.invite, Action.INVITE),
        Command("audit", audit.show_trail, Action.AUDIT),
    ),
    buttons={PREFIX: on_button},
    text=(relay.take_text,),
    interviews=FORMS,
)
