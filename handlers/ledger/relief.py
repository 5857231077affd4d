"""Relief amounts for the ledger: when a judicial-relief ticket is resolved, whoever resolved it is asked how much
was granted (a button, then a short form); the amount is kept on the ticket and summed by the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from handlers.conversation import engine
from handlers.conversation.buttons import Data, data
from handlers.conversation.interview import Answers, Step, form
from handlers.conversation.messages import Button, Reply
from handlers.conversation.numbers import Amount
from handlers.conversation.turn import Effects, Turn
from handlers.tickets import lifecycle
from handlers.tickets.events import StatusChanged
from handlers.tickets.policy import Action, actor_for, allows
from storage.models import Ticket

PREFIX: Final = "lg"
TICKET: Final = "_ticket"
NUMBER: Final = "_number"


async def on_status_changed(fx: Effects, event: StatusChanged) -> None:
    """A relief ticket resolved: its resolver gets the button to record the amount (once it is known)."""
    ticket = event.ticket
    if ticket.kind != "relief" or event.to_status != lifecycle.RESOLVED or event.actor_person_id is None:
        return
    tr = fx.translator

    def render(locale: str) -> Reply:
        button = Button(tr(locale, "ledger.relief.button"), data(PREFIX, "relief", ticket.id))
        return Reply(text=tr(locale, "ledger.relief.ask", number=ticket.number), buttons=((button,),))

    await fx.outbox.to_person(event.actor_person_id, render)


async def _may_record(turn: Turn, ticket_id: object) -> Ticket | None:
    ticket = await turn.uow.tickets.get_for_update(ticket_id) if isinstance(ticket_id, int) else None
    actor = await actor_for(turn.uow, turn.person.id)
    if ticket is None or ticket.kind != "relief" or not allows(actor, Action.RESOLVE, ticket):
        return None
    return ticket


async def _save(turn: Turn, answers: Answers) -> None:
    ticket = await _may_record(turn, answers.get(TICKET))
    if ticket is None:
        turn.say("desk.not_found")
        return
    amount = Decimal(str(answers["amount"]))
    ticket.details = {**(ticket.details or {}), "relief_amount": f"{amount:.2f}"}
    await lifecycle.record(turn.uow, ticket, "relief_amount", actor_person_id=turn.person.id, now=turn.now,
                           note=f"{amount:.2f}")  # fmt: skip
    turn.say("ledger.relief.saved", number=ticket.number, amount=f"{amount:,.2f}")


def _ask(turn: Turn, answers: Answers) -> str:
    return turn.t("ledger.relief.amount", number=engine.context(turn).get(NUMBER, ""))


AMOUNT: Final = form("ledger_relief", (Step("amount", ask=_ask, expects=Amount()),), _save)


async def on_button(turn: Turn, pressed: Data) -> bool:
    """`lg:relief:<ticket id>`: the amount form, for whoever may work the ticket."""
    if pressed.part(0) != "relief":
        return False
    ticket = await _may_record(turn, pressed.id(1))
    if ticket is None:
        turn.say("desk.not_found")
        return True
    engine.begin(turn, AMOUNT, context={TICKET: ticket.id, NUMBER: ticket.number})
    return True
