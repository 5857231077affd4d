"""The citizen's side of the satisfaction callback (回访): their answers to how they were treated and whether the
problem is solved, an optional comment, and what a "not solved" answer sets going (reopened, leaders told)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from handlers.conversation.messages import Button, Reply
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.turn import Turn
from handlers.followups.satisfaction import COMMENT, PREFIX, SOLVED, SOLVED_ANSWERS, TREAT, solved_question
from handlers.tickets import lifecycle
from storage.models import Officer, Ticket
from storage.uow import UnitOfWork

COMMENT_KEY: Final = "rating_comment"
COMMENT_WINDOW: Final = timedelta(hours=24)
MAX_COMMENT: Final = 1000


def comment_invite(turn: Turn, ticket: Ticket, lead: str) -> Reply:
    skip = Button(turn.t("rate.comment_skip"), f"{PREFIX}:{ticket.id}:{COMMENT}:skip")
    return Reply(text=f"{lead}\n\n{turn.t('rate.comment_invite')}", buttons=((skip,),))


async def on_press(turn: Turn, arg: str) -> None:
    """`rate:<ticket>:<field>:<value>` — only the citizen who owns the ticket may rate it, once per resolution."""
    ticket_id, _, rest = arg.partition(":")
    field, _, value = rest.partition(":")
    ticket = await turn.uow.tickets.get_for_update(int(ticket_id)) if ticket_id.isdigit() else None
    if ticket is None or ticket.citizen_id != turn.person.id:
        turn.say("rate.not_yours")
        return
    if field == COMMENT:
        turn.state.extra.pop(COMMENT_KEY, None)
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
        lead = turn.t("rate.reopened", number=ticket.number)
    until = turn.now + COMMENT_WINDOW
    turn.state.extra[COMMENT_KEY] = {"ticket": ticket.id, "until": until.isoformat()}
    turn.reply(comment_invite(turn, ticket, lead))


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
        if await turn.send_to_person(officer.person_id, render, not_before=not_before):
            sent += 1
    return sent


async def take_comment(turn: Turn) -> bool:
    """The free text right after a rating is its comment (for 24 hours, outside an interview)."""
    pending = turn.state.extra.get(COMMENT_KEY)
    if not isinstance(pending, dict):
        return False
    if datetime.fromisoformat(str(pending.get("until"))) < turn.now:
        turn.state.extra.pop(COMMENT_KEY, None)
        return False
    text = turn.incoming.text
    if turn.state.interview is not None or turn.incoming.choice is not None or text is None:
        return False
    ticket = await turn.uow.tickets.get(int(pending.get("ticket", 0)))
    if ticket is None or ticket.citizen_id != turn.person.id:
        turn.state.extra.pop(COMMENT_KEY, None)
        return False
    comment = text.strip()
    if not comment or len(comment) > MAX_COMMENT:
        reason = turn.t("input.blank") if not comment else turn.t("input.too_long", max=MAX_COMMENT, got=len(comment))
        turn.reply(comment_invite(turn, ticket, reason))
        return True
    await lifecycle.record(turn.uow, ticket, "rating_comment", actor_person_id=turn.person.id, now=turn.now,
                           note=comment)  # fmt: skip
    turn.state.extra.pop(COMMENT_KEY, None)
    turn.say("rate.comment_thanks")
    return True
