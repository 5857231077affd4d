"""Dispute for mediation (调解): the People's Mediation Law, Art. 17 — mediation on a party's application."""

from __future__ import annotations

from handlers.conversation.inputs import Media, Text, options_from
from handlers.conversation.interview import Interview, Step
from handlers.conversation.places import COUNTY_CHOICE, TownshipChoice, has_townships
from handlers.interviews.contact import CONTACT_TIME, PHONE
from handlers.interviews.submit import Opens, submitting

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
    on_done=submitting(Opens("dispute", attachments="evidence", township=True)),
)
