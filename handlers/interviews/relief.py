"""Judicial relief (司法救助) for victims of crime or accidents left in serious hardship without compensation.

Basis: the Opinions on Establishing and Improving the National Judicial Relief System (Trial), 2014, and the
procuratorates' and courts' rules on national judicial relief. The authority handling the case decides: a case
before a court goes to the county court (category "court"), anything else to the county procuratorate.
"""

from __future__ import annotations

from handlers.conversation.inputs import Text, options_from
from handlers.conversation.interview import Answers, Interview, Step
from handlers.conversation.places import COUNTY_CHOICE
from handlers.interviews.contact import PHONE
from handlers.interviews.submit import Opens, submitting

STAGES = ("investigation", "prosecution", "trial", "enforcement", "closed")
AUTHORITIES = ("police", "procuratorate", "court", "unknown")
FAMILY = ("lost_breadwinner", "medical_costs", "no_income", "other_hardship")
COURT_STAGES = ("trial", "enforcement")
CATEGORIES = ("court", "procuratorate")


def relief_category(answers: Answers) -> str:
    """ "court" when a court handles the case (or, not knowing, when it is at trial or enforcement)."""
    authority = answers.get("authority")
    if authority == "court" or (authority == "unknown" and answers.get("stage") in COURT_STAGES):
        return "court"
    return "procuratorate"


RELIEF = Interview(
    name="relief",
    title="menu.relief",
    intro="relief.intro",
    kind="relief",
    steps=(
        Step("county", ask="common.county", expects=COUNTY_CHOICE, label="common.county.label"),
        Step("description", ask="relief.description", expects=Text(min_len=10, max_len=2000)),
        Step("stage", ask="relief.stage", expects=options_from(STAGES, "relief.stage", columns=1)),
        Step("authority", ask="relief.authority", expects=options_from(AUTHORITIES, "relief.authority")),
        Step(
            "family",
            ask="relief.family",
            expects=options_from(FAMILY, "relief.family", columns=1),
            optional=True,
            sensitive=True,
        ),
        PHONE,
    ),
    on_done=submitting(Opens("relief", category=relief_category)),
)
