"""Searching the service guide in plain Chinese or English: CJK bigrams and English words, synonyms, counties.

No segmenter is needed: a Chinese query is cut into overlapping character pairs (新车上户 → 新车 车上 上户), which
match the same pairs in the entries; the pair that straddles two words (车上) rarely occurs in an entry, and when it
does the inverse document frequency makes it count for little. Synonym groups from the data file bridge the words
citizens use and the words units write (上户 ≈ 注册登记), and a county named in the query lifts that county's entries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[a-z0-9]+")
MAX_TERM = 48

SYNONYM_WEIGHT = 0.8  # a word the citizen did not type counts for less than one they did
FIELD_WEIGHTS: Mapping[str, float] = {
    "title": 3.0,
    "keywords": 2.5,
    "access": 1.5,
    "what": 1.0,
    "unit": 1.0,
    "place": 1.0,
    "address": 0.3,
}
COUNTY_MATCH, COUNTY_OTHER, HOME_COUNTY = 1.6, 0.3, 1.15
SATURATION = 1.2  # BM25's k1: the fifth mention of a word adds little


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def stem(word: str) -> str:
    """Enough English stemming for a guide: plurals and the common verb endings."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words_of(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(normalise(text))]


@dataclass(frozen=True)
class Vocabulary:
    """The search words of the data file: stop words, synonym groups, and the names of each county."""

    stop_phrases: tuple[str, ...] = ()  # Chinese: cut out of the text before it is split
    stop_words: frozenset[str] = frozenset()  # English, after stemming
    synonyms: tuple[tuple[str, ...], ...] = ()
    counties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        stop: Iterable[str],
        synonyms: Iterable[Iterable[str]],
        counties: Mapping[str, Iterable[str]],
    ) -> Vocabulary:
        stops = [normalise(s).strip() for s in stop if s.strip()]
        return cls(
            stop_phrases=tuple(sorted((s for s in stops if CJK.search(s)), key=len, reverse=True)),
            stop_words=frozenset(stem(s) for s in stops if not CJK.search(s)),
            synonyms=tuple(tuple(normalise(p) for p in group if p.strip()) for group in synonyms),
            counties={code: tuple(normalise(n) for n in names) for code, names in counties.items()},
        )

    def terms(self, text: str, *, drop_stops: bool = True) -> Counter[str]:
        """Bigrams of every CJK run (a single character stands alone) and the stemmed English words."""
        text = normalise(text)
        if drop_stops:
            for phrase in self.stop_phrases:
                text = text.replace(phrase, " ")
        found: Counter[str] = Counter()
        for run in CJK.findall(text):
            if len(run) == 1:
                found[run] += 1
            else:
                found.update(run[i : i + 2] for i in range(len(run) - 1))
        for word in WORD.findall(text):
            stemmed = stem(word)
            if stemmed not in self.stop_words and len(stemmed) <= MAX_TERM:
                found[stemmed] += 1
        return found

    def counties_in(self, text: str) -> set[str]:
        found = Mentions(text)
        return {code for code, names in self.counties.items() if any(found(n) for n in names)}

    def query(self, text: str) -> Query:
        """What was typed, and the synonym groups it calls up (each remembering which typed terms called it)."""
        typed = tuple(self.terms(text))
        mentioned = Mentions(text)
        groups = []
        for group in self.synonyms:
            triggers = [phrase for phrase in group if mentioned(phrase)]
            if triggers:
                called_by = frozenset(t for phrase in triggers for t in self.terms(phrase, drop_stops=False))
                phrases = tuple(tuple(self.terms(phrase, drop_stops=False)) for phrase in group)
                groups.append(SynonymGroup(called_by & set(typed), tuple(p for p in phrases if p)))
        return Query(typed, tuple(groups))


class Mentions:
    """Does the text mention a phrase — a CJK phrase anywhere, an English phrase as whole words? The text is read
    once, however many phrases are asked about: the cost is the text's length plus the phrases', never their product.
    """

    def __init__(self, text: str) -> None:
        self.plain = normalise(text)
        self.words = f" {' '.join(words_of(self.plain))} "

    def __call__(self, phrase: str) -> bool:
        if CJK.search(phrase):
            return phrase in self.plain
        wanted = " ".join(words_of(phrase))
        return bool(wanted) and f" {wanted} " in self.words


@dataclass(frozen=True)
class SynonymGroup:
    triggers: frozenset[str]  # the typed terms that called the group up
    phrases: tuple[tuple[str, ...], ...]  # each phrase of the group as its terms


@dataclass(frozen=True)
class Query:
    typed: tuple[str, ...]
    groups: tuple[SynonymGroup, ...] = ()

    @property
    def terms(self) -> set[str]:
        return set(self.typed) | {t for g in self.groups for p in g.phrases for t in p}


def index_terms(vocabulary: Vocabulary, fields: Iterable[tuple[str, str]]) -> dict[str, int]:
    """An entry's terms with their weights × 100: where a word stands (title, keywords…) says how much it counts."""
    weights: Counter[str] = Counter()
    for name, text in fields:
        factor = FIELD_WEIGHTS.get(name, 0.0)
        if not factor or not text:
            continue
        for term, count in vocabulary.terms(text, drop_stops=False).items():
            weights[term] += round(100 * factor * min(count, 2))
    return dict(weights)


@dataclass(frozen=True)
class Hit:
    entry_id: int
    score: float
    matched: float  # the share of the typed terms this entry contains


def rank(
    query: Query,
    postings: Sequence[tuple[int, str, int]],
    total_entries: int,
    county_of: Mapping[int, str | None],
    *,
    wanted_counties: set[str] | frozenset[str] = frozenset(),
    home_county: str | None = None,
) -> list[Hit]:
    """BM25-like scores. Each typed term counts once; a synonym group adds only its best-matching phrase, at a lower
    weight, so a group of many phrases does not outweigh what was typed. A county named in the query lifts its
    entries and sinks other counties' ones."""
    if not query.typed or not postings:
        return []
    df: Counter[str] = Counter(term for _, term, _ in postings)
    strength: dict[int, dict[str, float]] = {}
    for entry_id, term, weight in postings:
        idf = math.log(1 + (total_entries - df[term] + 0.5) / (df[term] + 0.5))
        tf = weight / 100
        strength.setdefault(entry_id, {})[term] = idf * tf * (1 + SATURATION) / (tf + SATURATION)
    hits = []
    for entry_id, found in strength.items():
        score = sum(found.get(t, 0.0) for t in query.typed)
        covered = {t for t in query.typed if t in found}
        for group in query.groups:
            best = max(sum(found.get(t, 0.0) for t in phrase) for phrase in group.phrases)
            if best > 0:
                score += SYNONYM_WEIGHT * best
                covered |= group.triggers
        if score <= 0:
            continue
        county = county_of.get(entry_id)
        if wanted_counties:
            score *= COUNTY_MATCH if county in wanted_counties else (1.0 if county is None else COUNTY_OTHER)
        elif home_county is not None and county == home_county:
            score *= HOME_COUNTY
        hits.append(Hit(entry_id, score, len(covered) / len(query.typed)))
    hits.sort(key=lambda h: (-h.score, h.entry_id))
    return hits
