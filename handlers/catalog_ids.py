"""The message ids the code builds at run time (`f"county.{code}"`, a step's label, an option of a table), listed
from the tables themselves so the catalog check and `make i18n` see them as well as the literal ones."""

from __future__ import annotations

import itertools

from handlers.citizen.mytickets import CITIZEN_EVENTS
from handlers.conversation.engine import SENSITIVE_CHOICE, label_of
from handlers.conversation.inputs import Choice, Day, Media, YesNo
from handlers.conversation.interview import Interview
from handlers.conversation.places import COUNTIES, COURTS, TOWNSHIPS, TownshipChoice, township_label
from handlers.interviews import CATEGORIES
from handlers.router import COMMANDS, INTERVIEWS
from handlers.tickets import lifecycle
from handlers.tickets.legal_aid import AGES, GROUP_CHOICES, INCOMES, MATTERS, SPECIAL_CHOICES, assess


def interview_ids(interview: Interview) -> set[str]:
    ids = {interview.title}
    if interview.intro:
        ids.add(interview.intro)
    for step in interview.steps:
        ids.add(label_of(interview, step))
        if isinstance(step.ask, str):
            ids.add(step.ask)
        ids.update(note for _, note in step.notes)
        expects = step.expects
        if expects.request:
            ids.add(f"request.{expects.request}")
        if isinstance(expects, Choice):
            ids.update(option.label for option in expects.options)
        elif isinstance(expects, YesNo):
            ids.update(("common.yes", "common.no"))
        elif isinstance(expects, TownshipChoice):
            ids.update(township_label(c, t) for c, codes in TOWNSHIPS.items() for t in codes)
        elif isinstance(expects, Day):
            ids.update(("input.today", "input.yesterday"))
        elif isinstance(expects, Media):
            ids.update(("input.done", "input.media_count", "input.media_received", "input.media_full"))
        if step.sensitive:
            ids.update(option.label for option in SENSITIVE_CHOICE.options)
    return ids


def legal_aid_ids() -> set[str]:
    ids = {"legal_aid.outcome.likely", "legal_aid.outcome.review"}
    for matter, special, age, group, card, income in itertools.product(
        MATTERS, SPECIAL_CHOICES, (*AGES, None), (*GROUP_CHOICES, None), ("yes", "no", None), (*INCOMES, None)
    ):
        result = assess(
            {"matter": matter, "special": special, "age": age, "group": group, "card": card, "income": income}
        )
        ids.add(result.reason)
        ids.update(result.documents)
    return ids


def dynamic_ids() -> set[str]:
    ids: set[str] = set()
    for interview in INTERVIEWS.values():
        ids |= interview_ids(interview)
        if interview.kind:
            ids.add(f"kind.{interview.kind}")
    ids.update(f"county.{code}" for code in COUNTIES)
    ids.update(f"court.{code}" for code in COURTS)
    ids.update(f"{kind}.cat.{code}" for kind, codes in CATEGORIES.items() for code in codes)
    ids.update(f"status.{status}" for status in lifecycle.STATUSES)
    ids.update(f"command.{command.name}" for command in COMMANDS if command.listed)
    ids.update(f"event.{action}" for action in CITIZEN_EVENTS)
    return ids | legal_aid_ids()
