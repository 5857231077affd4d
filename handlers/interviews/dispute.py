"""Dispute for mediation (调解): the People's Mediation Law, Art. 17 — mediation on a party's application."""

from __future__ import annotations

from handlers.engine import Answers, Interview, Step
from handlers.inputs import Phone, Text, options_from
from handlers.places import COUNTY_CHOICE
from handlers.tickets import NewTicket, open_ticket
from handlers.turn import Turn

CATEGORIES = (
    "land",
    "forest",
    "neighbours",
    "family",
    "inheritance",
    "labour",
    "consumer",
    "traffic",
    "other",
)


async def submit(turn: Turn, answers: Answers) -> None:
    await open_ticket(
        turn,
        NewTicket(
            kind="dispute",
            category=answers["category"],
            county=answers["county"],
            summary=answers["description"],
            phone=answers["phone"],
        ),
    )


DISPUTE = Interview(
    name="dispute",
    title="menu.dispute",
    intro="dispute.intro",
    kind="dispute",
    steps=(
        Step("category", ask="dispute.category", expects=options_from(CATEGORIES, "dispute.cat")),
        Step("county", ask="common.county", expects=COUNTY_CHOICE, label="common.county.label"),
        Step("description", ask="dispute.description", expects=Text(min_len=10, max_len=2000)),
        Step("phone", ask="common.phone", expects=Phone(), label="common.phone.label"),
    ),
    on_done=submit,
)
