"""Danger words get the emergency numbers before anything else; the interview stays where it was.

The word lists are data (demo/emergency.toml, loaded by bot/ into `Rules.emergency_words`); DEFAULT_WORDS only
serves when none were configured. Words in Latin script match whole words ("fire" does not match "fired");
Chinese words match anywhere in the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from handlers.conversation import engine
from handlers.conversation.turn import Turn

DEFAULT_WORDS: Mapping[str, tuple[str, ...]] = {
    "zh_CN": ("救命", "打人", "杀人", "着火", "失火", "绑架", "自杀", "跳楼", "砍人", "持刀", "要死了"),
    "en": ("help me", "kill", "fire", "kidnap", "suicide", "stabbed", "knife", "dying"),
}

MAX_WORDS = 500


class EmergencyWordsError(ValueError):
    pass


def parse_words(data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """`{"zh_CN": {"words": [...]}, "en": {"words": [...]}}` (the TOML tables) → locale → words."""
    words: dict[str, tuple[str, ...]] = {}
    for locale, table in data.items():
        listed = table.get("words") if isinstance(table, Mapping) else None
        if not isinstance(listed, list) or not listed or not all(isinstance(w, str) and w.strip() for w in listed):
            raise EmergencyWordsError(f'[{locale}] needs words = ["…", …] with no blank entry')
        if len(listed) > MAX_WORDS:
            raise EmergencyWordsError(f"[{locale}] has more than {MAX_WORDS} words")
        words[str(locale)] = tuple(w.strip() for w in listed)
    if not words:
        raise EmergencyWordsError("no word list")
    return words


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        escaped = re.escape(word.casefold())
        parts.append(rf"(?<!\w){escaped}(?!\w)" if word.isascii() else escaped)
    return re.compile("|".join(parts))


def is_emergency(text: str | None, words: Mapping[str, tuple[str, ...]]) -> bool:
    if not text or text.startswith("/"):
        return False
    every = tuple(word for group in (words or DEFAULT_WORDS).values() for word in group)
    return bool(every) and _pattern(every).search(text.casefold()) is not None


def first_aid(turn: Turn) -> bool:
    """Say the emergency numbers first; mark the running interview urgent. True when the text signalled danger."""
    if not is_emergency(turn.incoming.text, turn.rules.emergency_words):
        return False
    turn.say("emergency.call")
    engine.mark_urgent(turn)
    return True
