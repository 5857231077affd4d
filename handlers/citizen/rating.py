"""The citizen's side of the satisfaction callback (回访): their answers to how they were treated and whether the
problem is solved, an optional comment, and what a "not solved" answer sets going (reopened, leaders told)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from handlers.conversation import engine
from handlers.conversation.buttons import Data, data
from handlers.conversation.inputs import Accepted, Parsed, Rejected
from handlers.conversation.interview import Answers, Step, form
from handlers.conversation.messages import Button, Incoming, Reply, Request
from handlers.conversation.personal import conceal
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.turn import Turn
from handlers.followups.satisfaction import COMMENT, PREFIX, SOLVED, SOLVED_ANSWERS, TREAT, solved_question
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Actor, allows
from storage.models import Officer, Ticket
from storage.uow import UnitOfWork

COMMENT_WINDOW: Final = timedelta(hours=24)  # the free text right after a rating is its comment for a day
MAX_COMMENT: Final = 1000
TICKET: Final = "_ticket"


@dataclass(frozen=True)
class CommentText:
    """The optional comment after a rating; its only button skips it."""

    request: Request | None = None
    typed: bool = True  # the skip button is not a choice: a typed "1" is a comment

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = (incoming.text or "").strip()
        if incoming.choice is not None or incoming.attachments or incoming.location or incoming.contact:
            return Rejected("input.text_expected")
        if not text:
            return Rejected("input.blank")
        if len(text) > MAX_COMMENT:
            return Rejected("input.too_long", {"max": MAX_COMMENT, "got": len(text)})
        return Accepted(text)

    def buttons(self, turn: Turn) -> list[list[Button]]:
        ticket = engine.context(turn).get(TICKET, "")
        return [[Button(turn.t("rate.comment_skip"), data(PREFIX, str(ticket), COMMENT, "skip"))]]

    def show(self, turn: Turn, value: Any) -> str:
        return str(value)


async def _save_comment(turn: Turn, answers: Answers) -> None:
    ticket = await turn.uow.tickets.get(int(answers.get(TICKET) or 0))
    if ticket is None or ticket.citizen_id != turn.person.id:
        turn.say("rate.not_yours")
        return
    await lifecycle.record(turn.uow, ticket, "rating_comment", actor_person_id=turn.person.id, now=turn.now,
                           note=conceal(answers["comment"])[0], original=answers["comment"])  # fmt: skip
    turn.say("rate.comment_thanks")


COMMENT_FORM: Final = form(
    "rate_comment",
    (Step("comment", ask="rate.comment_invite", expects=CommentText()),),
    _save_comment,
    ttl=COMMENT_WINDOW,
    nav=False,
)


async def on_button(turn: Turn, pressed: Data) -> None:
    """`rate:<ticket>:<field>:<value>` — only the citizen who owns the ticket may rate it, once per resolution."""
    ticket_id, field, value = pressed.id(0), pressed.part(1), pressed.part(2)
    ticket = await turn.uow.tickets.get_for_update(ticket_id) if ticket_id is not None else None
    if ticket is None or not allows(Actor(person_id=turn.person.id), Action.RATE, ticket):
        turn.say("rate.not_yours")
        return
    if field == COMMENT:
        turn.say("rate.comment_thanks")
        return
    if ticket.status != lifecycle.RESOLVED:
        turn.say("rate.closed", number=ticket.number)
        return
    if field == TREAT and value in {"1", "2", "3", "4", "5"}:
        ticket.rating_treatment, ticket.rated_at = int(value), turn.now
        await lifecycle.record(turn.uow, ticket, "rated_treatment", actor_person_id=turn.person.id, now=turn.now,
                               note=value)  # fmt: skip
        turn.reply(solved_question(turn.translator, turn.locale, ticket))
    elif field == SOLVED and value in SOLVED_ANSWERS:
        await _rate_solved(turn, ticket, value)
    else:
        turn.say("input.stale_button")


async def _rate_solved(turn: Turn, ticket: Ticket, answer: str) -> None:
    ticket.rating_solved, ticket.rated_at = answer, turn.now
    await lifecycle.record(turn.uow, ticket, "rated_solved", actor_person_id=turn.person.id, now=turn.now, note=answer)
    if answer == "yes":
        await lifecycle.transition(turn.uow, ticket, lifecycle.CLOSED, actor_person_id=turn.person.id, now=turn.now,
                                   action="closed_solved")  # fmt: skip
        lead = turn.t("rate.thanks_closed", number=ticket.number)
    else:
        await lifecycle.transition(turn.uow, ticket, lifecycle.REOPENED, actor_person_id=turn.person.id, now=turn.now,
                                   note=answer)  # fmt: skip
        alerted = await alert_reopened(turn, ticket, answer)
        await lifecycle.record(turn.uow, ticket, "leader_alerted", actor_person_id=None, now=turn.now,
                               note=f"officers={alerted}")  # fmt: skip
        # Say exactly who heard: the unit's leader, else its officers; never "the leader" when there is none.
        leaders = await turn.uow.officers.of_unit(ticket.unit_id, ("leader",)) if ticket.unit_id else []
        told = "rate.reopened" if leaders else "rate.reopened_officers" if alerted else "rate.reopened_nobody"
        lead = turn.t(told, number=ticket.number)
    engine.begin(turn, COMMENT_FORM, context={TICKET: ticket.id}, lead=lead)


async def _recipients(uow: UnitOfWork, ticket: Ticket) -> list[Officer]:
    if ticket.unit_id is None:
        return []
    leaders = list(await uow.officers.of_unit(ticket.unit_id, ("leader",)))
    if not leaders:
        leaders = list(await uow.officers.of_unit(ticket.unit_id))
    if ticket.officer_id is not None and all(o.id != ticket.officer_id for o in leaders):
        officer = await uow.officers.get(ticket.officer_id)
        if officer is not None:
            leaders.append(officer)
    return leaders


async def alert_reopened(turn: Turn, ticket: Ticket, answer: str) -> int:
    """The unit's leaders (and the officer who had it) hear that the citizen says it is not solved."""
    sent = 0
    for officer in await _recipients(turn.uow, ticket):

        def render(locale: str, officer: Officer = officer) -> Reply:
            kind = turn.translator(locale, f"kind.{ticket.kind}")
            return Reply(
                text=turn.translator(locale, "rate.reopened_alert", name=officer.name, number=ticket.number,
                                     kind=kind, answer=turn.translator(locale, f"rate.solved.{answer}"))
            )  # fmt: skip

        not_before = officer_not_before(officer, turn.now, turn.rules.zone, urgent=ticket.urgent)
        if await turn.outbox.to_person(officer.person_id, render, not_before=not_before):
            sent += 1
    return sent
