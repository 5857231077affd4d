"""Danger gets the emergency numbers before anything else; the interview stays where it was.

What counts as danger is recognised by patterns (handlers/conversation/danger.py) from data (demo/emergency.toml).
Danger → 110 / 120 / 119. Domestic violence → 110, the police warning letter and the personal safety protection
order, and the ticket of the running interview goes to the police and the court as urgent. Self-harm → the national
psychological assistance hotline 12356 and 120, said warmly. An officer typing into one of their own forms (a note,
a message, a reason) is describing someone else's case: that never sets the citizen's warning off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.conversation import engine
from handlers.conversation.danger import (
    DANGER,
    DEFAULT_LEXICONS,
    DOMESTIC,
    SELF_HARM,
    EmergencyWordsError,
    Lexicon,
    parse_lexicons,
    recognise,
)
from handlers.conversation.turn import Turn

__all__ = ["DEFAULT_LEXICONS", "EmergencyWordsError", "first_aid", "is_emergency", "parse_words", "recognise"]


def parse_words(data: Mapping[str, Any]) -> dict[str, Lexicon]:
    """The TOML tables of demo/emergency.toml → language → Lexicon (bot/ loads the file)."""
    return parse_lexicons(data)


def is_emergency(text: str | None, lexicons: Mapping[str, Lexicon]) -> bool:
    return bool(recognise(text, lexicons))


async def _officer_in_own_form(turn: Turn) -> bool:
    """A staff member filling in a short form of their own (a note about a case, a message to a citizen)."""
    running = engine.current(turn)
    return running is not None and running.transient and await turn.uow.officers.of_person(turn.person.id) is not None


def first_aid_text(turn: Turn, kinds: frozenset[str]) -> str:
    parts = []
    if DOMESTIC in kinds:
        parts.append(turn.t("emergency.domestic"))
    elif DANGER in kinds:
        parts.append(turn.t("emergency.call"))
    if SELF_HARM in kinds:
        parts.append(turn.t("emergency.self_harm"))
    if engine.current(turn) is not None:
        parts.append(turn.t("emergency.kept"))  # only when there is a form whose answers are kept
    return "\n\n".join(parts)


async def first_aid(turn: Turn) -> bool:
    """Say what to do now, first; mark the running interview urgent (and domestic). True when the text signalled
    danger."""
    kinds = recognise(turn.incoming.text, turn.rules.emergency_words)
    if not kinds or await _officer_in_own_form(turn):
        return False
    turn.reply(first_aid_text(turn, kinds))
    engine.mark_urgent(turn)
    if DOMESTIC in kinds:
        engine.mark_domestic(turn)
    return True
