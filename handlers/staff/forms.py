"""Officers' short forms (a note, a reason, a message, a mediation session) are ordinary interviews: opened from a
ticket's button, about that ticket, transient (they pause whatever the chat was filling in and give it back), and
checked against the policy again when they are done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from handlers.conversation import engine
from handlers.conversation.buttons import data
from handlers.conversation.inputs import Text
from handlers.conversation.interview import Answers, Interview, Step, form
from handlers.conversation.turn import Turn
from handlers.staff.context import PREFIX, Ctx, load, not_found
from handlers.tickets.policy import Action

TICKET: Final = "_ticket"
NUMBER: Final = "_number"
FORM_TTL: Final = timedelta(minutes=30)  # a form nobody answered for half an hour is left
REASON_TEXT: Final = Text(min_len=2, max_len=500)
MESSAGE_TEXT: Final = Text(min_len=1, max_len=2000)

Run = Callable[[Ctx, Answers], Awaitable[None]]
ACTIONS: dict[str, Action] = {}  # form name → the policy action its ticket is loaded with again when it is done


def asks(msgid: str) -> Callable[[Turn, Answers], str]:
    """A question that names the ticket the form is about."""

    def ask(turn: Turn, answers: Answers) -> str:
        return turn.t(msgid, number=engine.context(turn).get(NUMBER, ""))

    return ask


def _abort(turn: Turn) -> str:
    """The form's cancel button is the desk's own `t:abort:<ticket>`: it just says the form was dropped."""
    return data(PREFIX, "abort", engine.context(turn).get(TICKET, 0))


def ticket_form(name: str, action: Action, steps: tuple[Step, ...], run: Run) -> Interview:
    """A form about one ticket; when it is done the ticket is loaded again, locked, and the policy asked again."""

    async def done(turn: Turn, answers: Answers) -> None:
        ticket_id = answers.get(TICKET)
        ctx = await load(turn, ticket_id if isinstance(ticket_id, int) else None, action)
        if ctx is None:
            not_found(turn)
            return
        await run(ctx, answers)

    ACTIONS[name] = action
    return form(name, steps, done, ttl=FORM_TTL, cancel=_abort)


def open_form(ctx: Ctx, form: Interview, **context: object) -> None:
    engine.begin(ctx.turn, form, context={TICKET: ctx.ticket.id, NUMBER: ctx.ticket.number, **context})
