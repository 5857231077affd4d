"""Recognising danger in the words people use: patterns of who does what to whom, not a list of exact phrases.

A violent verb followed by its victim ("打我", "杀了我", "一直打我", "he is beating me"), the passive ("我被打了",
"I was stabbed"), the disposal form ("把孩子打伤了"), threats ("弄死你", "拿刀"), self-harm ("不想活了", "kill
myself") and domestic violence (a family member doing it: "老公又打我了", or "家暴" said outright). Everyday
compounds that share the characters ("打官司", "杀价", "笑死我了") are masked before anything is matched, and what
follows a verb and its victim can make it something else ("打我电话": call me).

The vocabularies are data (demo/emergency.toml, one table per language, loaded by bot/); DEFAULT_LEXICONS serve only
when none were configured. Latin-script entries match whole words; Chinese ones match anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Final

DANGER: Final = "danger"
DOMESTIC: Final = "domestic"
SELF_HARM: Final = "self_harm"

MAX_ENTRIES = 500
FAMILY_REACH = 6  # Chinese characters before the verb (or inside the passive) where a family member makes it domestic


class EmergencyWordsError(ValueError):
    pass


@dataclass(frozen=True)
class Lexicon:
    """One language's vocabulary of danger."""

    words: tuple[str, ...] = ()  # danger on their own, anywhere: 救命, 绑架, help me
    harmless: tuple[str, ...] = ()  # everyday compounds masked first: 打官司, 杀价, 笑死, kill time
    verbs: tuple[str, ...] = ()  # violent verbs: 打 杀 砍 捅 掐; hit, beat, stabbed
    between: tuple[str, ...] = ()  # what may stand between a verb and its victim: 了 死 伤
    victims: tuple[str, ...] = ()  # 我 我们 孩子; me, us, my child
    not_after: tuple[str, ...] = ()  # after verb + victim, this makes it something else: 打我电话
    passive: tuple[str, ...] = ()  # markers before the verb: 被 挨; was, got
    disposal: tuple[str, ...] = ()  # 把 + victim + verb: 把孩子打伤了
    threats: tuple[str, ...] = ()  # 弄死, 拿刀, threatened to kill
    self_harm: tuple[str, ...] = ()  # 不想活, 自杀, kill myself
    domestic: tuple[str, ...] = ()  # words that name domestic violence: 家暴
    family: tuple[str, ...] = ()  # a family member doing it makes violence domestic: 老公, husband


DEFAULT_LEXICONS: Final[Mapping[str, Lexicon]] = {
    "zh_CN": Lexicon(
        words=("救命", "杀人", "砍人", "着火", "失火", "绑架", "持刀"),
        harmless=("打官司", "打电话", "杀价", "砍价", "笑死", "累死", "气死", "想死你", "跳楼价"),
        verbs=("打", "杀", "砍", "捅", "掐"),
        between=("了", "死", "伤"),
        victims=("我们", "我", "孩子"),
        not_after=("电话", "手机"),
        passive=("被",),
        threats=("弄死", "拿刀"),
        self_harm=("自杀", "跳楼", "轻生", "不想活", "想死"),
        domestic=("家暴", "家庭暴力"),
        family=("老公", "丈夫", "老婆", "妻子"),
    ),
    "en": Lexicon(
        words=("help me", "kidnap", "fire", "knife"),
        verbs=("hit", "hits", "beat", "beats", "beating", "kill", "stab", "stabbed"),
        victims=("me", "us"),
        not_after=("up",),
        passive=("was", "got"),
        self_harm=("suicide", "kill myself", "end my life"),
        domestic=("domestic violence",),
        family=("husband", "wife", "boyfriend", "partner"),
    ),
}


def parse_lexicons(data: Mapping[str, Any]) -> dict[str, Lexicon]:
    """The TOML tables (`[zh_CN] words = [...] verbs = [...]`, …) → language → Lexicon. `words` is required; every
    other list is optional; no entry may be blank."""
    known = {f.name for f in fields(Lexicon)}
    found: dict[str, Lexicon] = {}
    for locale, table in data.items():
        if not isinstance(table, Mapping):
            raise EmergencyWordsError(f'[{locale}] needs words = ["…", …] with no blank entry')
        unknown = set(table) - known
        if unknown:
            raise EmergencyWordsError(f"[{locale}] has unknown lists: {', '.join(sorted(unknown))}")
        lists: dict[str, tuple[str, ...]] = {}
        for name, listed in table.items():
            if not isinstance(listed, list) or not all(isinstance(w, str) and w.strip() for w in listed):
                raise EmergencyWordsError(f'[{locale}] {name} must be ["…", …] with no blank entry')
            if len(listed) > MAX_ENTRIES:
                raise EmergencyWordsError(f"[{locale}] {name} has more than {MAX_ENTRIES} entries")
            lists[name] = tuple(w.strip() for w in listed)
        if not lists.get("words"):
            raise EmergencyWordsError(f'[{locale}] needs words = ["…", …] with no blank entry')
        found[str(locale)] = Lexicon(**lists)
    if not found:
        raise EmergencyWordsError("no word list")
    return found


def _alternatives(entries: tuple[str, ...], *, whole: bool = True) -> str:
    """One regex alternation, longest first; Latin-script entries as whole words (when `whole`)."""
    parts = []
    for entry in sorted(set(entries), key=len, reverse=True):
        escaped = re.escape(entry.casefold()).replace(r"\ ", r"\s+")
        parts.append(rf"(?<![a-z]){escaped}(?![a-z])" if whole and entry.isascii() else escaped)
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


@dataclass(frozen=True)
class _Compiled:
    harmless: re.Pattern[str] | None
    words: re.Pattern[str]
    threats: re.Pattern[str]
    self_harm: re.Pattern[str]
    domestic: re.Pattern[str]
    family: re.Pattern[str]
    violence: tuple[re.Pattern[str], ...]  # active, passive, disposal


@lru_cache(maxsize=16)
def _compile(lexicon: Lexicon) -> _Compiled:
    gap = r"\s*"  # Chinese runs together; English has spaces
    verbs, victims = _alternatives(lexicon.verbs), _alternatives(lexicon.victims)
    between = _alternatives(lexicon.between)
    not_after = rf"(?!{gap}{_alternatives(lexicon.not_after, whole=False)})" if lexicon.not_after else ""
    # The passive may name who did it in between: 被人打, 被我老公打了; I was badly beaten.
    agent = r"(?:[^\s，。！？,.!?]{0,5}|(?:\s+[a-z']+){0,2})"
    # Atomic: "打我们电话" must not pass as "打我" + "们电话".
    violence = [rf"{verbs}(?:{gap}{between}){{0,2}}{gap}(?>{victims}){not_after}"]
    if lexicon.passive:
        violence.append(rf"{_alternatives(lexicon.passive)}{agent}{gap}{verbs}")
    if lexicon.disposal:
        violence.append(rf"{_alternatives(lexicon.disposal)}{gap}{victims}.{{0,3}}?{verbs}")
    harmless = re.compile(_alternatives(lexicon.harmless, whole=False)) if lexicon.harmless else None
    return _Compiled(
        harmless=harmless,
        words=re.compile(_alternatives(lexicon.words)),
        threats=re.compile(_alternatives(lexicon.threats)),
        self_harm=re.compile(_alternatives(lexicon.self_harm)),
        domestic=re.compile(_alternatives(lexicon.domestic)),
        family=re.compile(_alternatives(lexicon.family)),
        violence=tuple(re.compile(p) for p in violence),
    )


def _mask(pattern: re.Pattern[str] | None, text: str) -> str:
    """Everyday compounds become spaces of the same length, so positions stay where they were."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text) if pattern is not None else text


def _kinds(text: str, lexicon: Lexicon) -> set[str]:
    found: set[str] = set()
    c = _compile(lexicon)
    text = _mask(c.harmless, text)
    if c.self_harm.search(text):
        found.add(SELF_HARM)
    if c.domestic.search(text):
        found.add(DOMESTIC)
    if c.words.search(text) or c.threats.search(text):
        found.add(DANGER)
    reach = FAMILY_REACH * 3 if all(v.isascii() for v in lexicon.verbs) else FAMILY_REACH  # words, not characters
    for pattern in c.violence:
        for match in pattern.finditer(text):
            found.add(DANGER)
            window = text[max(0, match.start() - reach) : match.end()]
            if c.family.search(window):
                found.add(DOMESTIC)
    return found


def recognise(text: str | None, lexicons: Mapping[str, Lexicon]) -> frozenset[str]:
    """What a message signals — DANGER, DOMESTIC, SELF_HARM — checked against every language; empty for a command."""
    if not text or text.lstrip().startswith("/"):
        return frozenset()
    folded = text.casefold()
    found: set[str] = set()
    for lexicon in (lexicons or DEFAULT_LEXICONS).values():
        found |= _kinds(folded, lexicon)
    return frozenset(found)
