"""Legal aid (法律援助): the matter (Legal Aid Law Art. 31), the circumstances and groups that decide eligibility
(Art. 32, 42), else the hardship questions (Art. 34, 41); the rules themselves live in handlers/legal_aid.py."""

from __future__ import annotations

from typing import Any

from handlers.conversation.inputs import IdNumber, Text, YesNo, options_from
from handlers.conversation.interview import Answers, Interview, Step, if_
from handlers.conversation.messages import Reply
from handlers.conversation.places import COUNTY_CHOICE
from handlers.conversation.turn import Turn
from handlers.interviews.contact import PHONE
from handlers.interviews.submit import Opens, submitting
from handlers.tickets.legal_aid import (
    AGES,
    GROUP_CHOICES,
    INCOMES,
    MATTERS,
    SPECIAL_CHOICES,
    asks_hardship,
    asks_income,
    assess,
)

ASSESSMENT = "assessment"  # sealed with the answers it is read from


def assessment(answers: Answers) -> dict[str, Any]:
    """The assessment the legal-aid centre sees beside the answers."""
    return {ASSESSMENT: assess(answers).to_details()}


def tell_outcome(turn: Turn, answers: Answers) -> None:
    """Sealed at rest: its reasons repeat sensitive answers (age, group, income)."""
    turn.reply(Reply(text=outcome_text(turn, answers), sensitive=True))


def outcome_text(turn: Turn, answers: Answers) -> str:
    """The citizen's answer: likely eligible because … (article), or the centre will review; what to bring; when."""
    result = assess(answers)
    parts = [turn.t(f"legal_aid.outcome.{result.outcome}", reason=turn.t(result.reason))]
    parts.append(turn.t("legal_aid.bring") + "\n" + "\n".join(f"• {turn.t(doc)}" for doc in result.documents))
    parts.append(turn.t("legal_aid.deadline"))
    if result.guardian:
        parts.append(turn.t("legal_aid.guardian_note"))
    return "\n\n".join(parts)


LEGAL_AID = Interview(
    name="legal_aid",
    title="menu.legal_aid",
    intro="legal_aid.intro",
    kind="legal_aid",
    steps=(
        Step("matter", ask="legal_aid.matter", expects=options_from(tuple(MATTERS), "legal_aid.cat", columns=1)),
        Step("county", ask="common.county", expects=COUNTY_CHOICE, label="common.county.label"),
        Step("description", ask="legal_aid.description", expects=Text(min_len=10, max_len=2000)),
        Step("special", ask="legal_aid.special", expects=options_from(SPECIAL_CHOICES, "legal_aid.special", columns=1)),
        Step(
            "age",
            ask="legal_aid.age",
            expects=options_from(AGES, "legal_aid.age", columns=1),
            optional=True,
            sensitive=True,
            notes=(("under18", "legal_aid.guardian_note"),),
        ),
        Step("guardian", ask="legal_aid.guardian", expects=YesNo(), when=if_(age="under18")),
        Step(
            "group",
            ask="legal_aid.group",
            expects=options_from(GROUP_CHOICES, "legal_aid.group", columns=1),
            when=if_(special="none"),
            optional=True,
            sensitive=True,
        ),
        Step("card", ask="legal_aid.card", expects=YesNo(), when=asks_hardship, optional=True, sensitive=True),
        Step(
            "income",
            ask="legal_aid.income",
            expects=options_from(INCOMES, "legal_aid.income", columns=1),
            when=asks_income,
            optional=True,
            sensitive=True,
        ),
        Step("id_number", ask="legal_aid.id_number", expects=IdNumber(), optional=True, sensitive=True),
        PHONE,
    ),
    on_done=submitting(Opens("legal_aid", category="matter", more=assessment, then=tell_outcome)),
)
