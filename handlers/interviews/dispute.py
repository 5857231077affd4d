"""Dispute for mediation (调解): the People's Mediation Law, Art. 17 — mediation on a party's application."""

from __future__ import annotations

from handlers.conversation.engine import URGENT
from handlers.conversation.inputs import Media, Text, options_from
from handlers.conversation.interview import Answers, Interview, Step
from handlers.conversation.places import COUNTY_CHOICE, TownshipChoice, has_townships, township_of
from handlers.conversation.turn import Turn
from handlers.interviews.contact import CONTACT_TIME, PHONE, details
from handlers.interviews.submit import NewTicket, open_ticket

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
            township=township_of(answers["county"], answers.get("township")),
            summary=answers["description"],
            phone=answers["phone"],
            details=details(answers, "other_party", "contact_time"),
            attachments=list(answers.get("evidence") or []),
            urgent=bool(answers.get(URGENT)),
        ),
    )


DISPUTE = Interview(
    name="dispute",
    title="menu.dispute",
    intro="dispute.intro",
    kind="dispute",
    steps=(
        Step("category", ask="dispute.category", expects=options_from(CATEGORIES, "dispute.cat")),
        Step("county", ask="common.county", expects=COUNTY_CHOICE, label="common.county.label", clears=("township",)),
        Step(
            "township",
            ask="common.township",
            expects=TownshipChoice(),
            optional=True,
            when=has_townships,
            label="common.township.label",
        ),
        Step("description", ask="dispute.description", expects=Text(min_len=10, max_len=2000)),
        Step("other_party", ask="dispute.other_party", expects=Text(min_len=2, max_len=200), optional=True),
        Step("evidence", ask="dispute.evidence", expects=Media(max_items=5), optional=True),
        PHONE,
        CONTACT_TIME,
    ),
    on_done=submit,
)
