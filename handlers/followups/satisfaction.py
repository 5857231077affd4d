"""The questions of the satisfaction callback (回访) the ladder sends after a ticket is resolved: how the citizen was
treated (1–5), then whether the problem is solved (yes / partly / no). The answers are the citizen's to give
(handlers/citizen/rating.py)."""

from __future__ import annotations

from typing import Final

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply
from storage.models import Ticket

PREFIX: Final = "rate"
TREAT: Final = "treat"
SOLVED: Final = "solved"
COMMENT: Final = "comment"
SOLVED_ANSWERS: Final = ("yes", "partly", "no")


def treatment_question(tr: Translator, locale: str, ticket: Ticket) -> Reply:
    rows = tuple(
        (Button(tr(locale, f"rate.treat.{score}"), f"{PREFIX}:{ticket.id}:{TREAT}:{score}"),)
        for score in range(5, 0, -1)
    )
    facts = {"number": ticket.number, "status": tr(locale, "notice.status.callback")}
    return Reply(
        text=tr(locale, "rate.ask_treatment", number=ticket.number), buttons=rows, notice="callback", facts=facts
    )


def solved_question(tr: Translator, locale: str, ticket: Ticket) -> Reply:
    row = tuple(Button(tr(locale, f"rate.solved.{a}"), f"{PREFIX}:{ticket.id}:{SOLVED}:{a}") for a in SOLVED_ANSWERS)
    return Reply(text=tr(locale, "rate.ask_solved", number=ticket.number), buttons=(row,))
