"""Danger words get the emergency numbers before anything else; the interview stays where it was."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_WORDS: Mapping[str, tuple[str, ...]] = {
    "zh_CN": ("救命", "打人", "杀人", "着火", "失火", "绑架", "自杀", "跳楼", "砍人", "持刀", "要死了"),
    "en": ("help me", "kill", "fire", "kidnap", "suicide", "stabbed", "knife", "dying"),
}


def is_emergency(text: str | None, words: Mapping[str, tuple[str, ...]]) -> bool:
    if not text or text.startswith("/"):
        return False
    folded = text.casefold()
    return any(word.casefold() in folded for group in (words or DEFAULT_WORDS).values() for word in group)
