"""The service guide (便民服务指南): loading it from its data file, searching it, and showing its entries as cards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.conversation.buttons import Data, data
from handlers.conversation.menu import main_menu
from handlers.conversation.messages import Button, Reply
from handlers.conversation.places import COUNTIES
from handlers.conversation.turn import Turn
from handlers.interviews import INTERVIEWS
from handlers.outreach.search import Hit, Vocabulary, index_terms, rank
from storage.models import GuideEntry, GuideWord
from storage.uow import Database, UnitOfWork

PREFIX = "guide"
MAX_QUERY = 200  # characters: what people type to find a service fits many times over
LANGUAGES: Mapping[str, str] = {"zh": "zh_CN", "en": "en"}  # data-file table → locale
REQUIRED = ("title", "what", "unit")
CARD_FIELDS = ("title", "what", "unit", "place", "address", "hours", "access")
CARDS_SHOWN = 3
# A free text is taken as a search only when the best entry is a real match: a score one common word cannot reach,
# and most of the typed words found (or a score so high that a long sentence clearly meant it). Below that, the
# citizen gets the menu as before: "你好" or "有人吗" must not answer with a card.
MIN_SCORE = 4.0
MIN_SHARE = 0.5
SURE_SCORE = 8.0
TAIL = 0.35  # cards scoring under this share of the best one are noise


class GuideDataError(ValueError):
    pass


# ---- loading


def _vocabulary_rows(data: Mapping[str, Any]) -> list[GuideWord]:
    rows = [GuideWord(kind="stop", group="stop", phrase=str(w)) for w in data.get("search", {}).get("stop", [])]
    for number, group in enumerate(data.get("synonyms", [])):
        rows.extend(GuideWord(kind="synonym", group=str(number), phrase=str(w)) for w in group.get("words", []))
    for code, names in data.get("counties", {}).items():
        if code not in COUNTIES:
            raise GuideDataError(f"[counties]: unknown county {code!r}")
        rows.extend(GuideWord(kind="county", group=code, phrase=str(n)) for n in names)
    for category in data.get("category", []):
        for table, locale in LANGUAGES.items():
            rows.append(GuideWord(kind=f"cat:{locale}", group=str(category["code"]), phrase=str(category[table])))
    return rows


def vocabulary_of(rows: Sequence[GuideWord]) -> Vocabulary:
    synonyms: dict[str, list[str]] = {}
    counties: dict[str, list[str]] = {}
    for row in rows:
        if row.kind == "synonym":
            synonyms.setdefault(row.group, []).append(row.phrase)
        elif row.kind == "county":
            counties.setdefault(row.group, []).append(row.phrase)
    stop = [row.phrase for row in rows if row.kind == "stop"]
    return Vocabulary.build(stop, synonyms.values(), counties)


def _entry(raw: Mapping[str, Any], position: int, categories: set[str], now: datetime) -> GuideEntry:
    code = raw.get("code")
    if not isinstance(code, str) or not code or len(code) > 64:
        raise GuideDataError(f"entry #{position + 1}: a code of 1–64 characters is required")
    if raw.get("category") not in categories:
        raise GuideDataError(f"entry {code!r}: unknown category {raw.get('category')!r}")
    county = raw.get("county") or None
    if county is not None and county not in COUNTIES:
        raise GuideDataError(f"entry {code!r}: unknown county {county!r}")
    action = raw.get("action") or None
    if action is not None and not str(action).startswith("menu:"):
        raise GuideDataError(f"entry {code!r}: an action is 'menu:<interview>', not {action!r}")
    content: dict[str, Any] = {"keywords": [str(k) for k in raw.get("keywords", [])]}
    if raw.get("since"):  # when the measure started, and the unit (by code) that runs it: the ledger counts both
        content["since"] = str(raw["since"])
    if raw.get("unit"):
        content["unit_code"] = str(raw["unit"])
    for table, locale in LANGUAGES.items():
        text = raw.get(table)
        if not isinstance(text, Mapping):
            raise GuideDataError(f"entry {code!r}: the [entry.{table}] table is missing")
        missing = [f for f in REQUIRED if not str(text.get(f, "")).strip()]
        if missing:
            raise GuideDataError(f"entry {code!r}: [entry.{table}] needs {', '.join(missing)}")
        content[locale] = {f: str(text[f]).strip() for f in CARD_FIELDS if str(text.get(f, "")).strip()}
    return GuideEntry(
        code=code,
        category=raw["category"],
        county=county,
        phone=str(raw["phone"]) if raw.get("phone") else None,
        action=action,
        position=position,
        content=content,
        updated_at=now,
    )


def _fields(entry: GuideEntry) -> list[tuple[str, str]]:
    fields = [("keywords", keyword) for keyword in entry.content.get("keywords", [])]
    for locale in LANGUAGES.values():
        fields.extend(entry.content.get(locale, {}).items())
    return fields


async def load_guide(db: Database, data: Mapping[str, Any], now: datetime) -> int:
    """Replaces the whole guide with the data file's entries and vocabulary; all or nothing."""
    words = _vocabulary_rows(data)
    categories = {str(c["code"]) for c in data.get("category", [])}
    entries = [_entry(raw, n, categories, now) for n, raw in enumerate(data.get("entry", []))]
    codes = [e.code for e in entries]
    if len(set(codes)) != len(codes):
        raise GuideDataError(f"duplicate entry codes: {sorted({c for c in codes if codes.count(c) > 1})}")
    vocabulary = vocabulary_of(words)
    terms = {entry.code: index_terms(vocabulary, _fields(entry)) for entry in entries}
    async with db() as uow:
        await uow.guide.replace_all(entries, terms, words)
        await uow.commit()
    return len(entries)


async def has_guide(db: Database) -> bool:
    async with db.reading() as uow:
        return await uow.guide.count() > 0


# ---- searching


@dataclass(frozen=True)
class Result:
    entry: GuideEntry
    hit: Hit


async def search(uow: UnitOfWork, text: str, *, home_county: str | None = None) -> list[Result]:
    vocabulary = vocabulary_of(await uow.guide.words())
    query = vocabulary.query(text)
    postings = await uow.guide.postings(query.terms)
    if not postings:
        return []
    entries = await uow.guide.entries(e for e, _, _ in postings)
    hits = rank(
        query,
        postings,
        await uow.guide.count(),
        {entry_id: entry.county for entry_id, entry in entries.items()},
        wanted_counties=vocabulary.counties_in(text),
        home_county=home_county,
    )
    return [Result(entries[h.entry_id], h) for h in hits if h.entry_id in entries]


def convincing(results: Sequence[Result]) -> list[Result]:
    """The results worth showing for a free text, best first; none when the text is not a search at all."""
    if not results:
        return []
    top = results[0].hit
    if top.score < MIN_SCORE or (top.matched < MIN_SHARE and top.score < SURE_SCORE):
        return []
    best = results[0].hit.score
    return [r for r in results[:CARDS_SHOWN] if r.hit.score >= best * TAIL]


# ---- showing


def _text(turn: Turn, entry: GuideEntry) -> dict[str, str]:
    text: dict[str, str] = entry.content.get(turn.locale) or entry.content.get("zh_CN") or {}
    return text


def open_button(turn: Turn, entry: GuideEntry) -> Button | None:
    """The interview a card leads to, when that interview exists in this deployment."""
    if not entry.action:
        return None
    name = entry.action.partition(":")[2]
    interview = INTERVIEWS.get(name)
    if interview is None:
        return None
    return turn.button("guide.card.open", data("menu", name), title=turn.t(interview.title))


def card(turn: Turn, entry: GuideEntry) -> Reply:
    text = _text(turn, entry)
    lines = [turn.t("guide.card.title", title=text.get("title", entry.code)), text.get("what", "")]
    lines.append(turn.t("guide.card.unit", unit=text.get("unit", ""), place=text.get("place", "")))
    if text.get("address"):
        lines.append(turn.t("guide.card.address", address=text["address"]))
    if text.get("hours"):
        lines.append(turn.t("guide.card.hours", hours=text["hours"]))
    if entry.phone:
        lines.append(turn.t("guide.card.phone", phone=entry.phone))
    if text.get("access"):
        lines.append(turn.t("guide.card.access", access=text["access"]))
    button = open_button(turn, entry)
    # Lasting: the menu that follows search results must not retire their "do it here".
    return Reply(text="\n".join(line for line in lines if line), buttons=((button,),) if button else (), lasting=True)


async def asked(turn: Turn, entry: GuideEntry, way: str) -> None:
    """A citizen asked for this convenience measure (opened its card, or found it by a search): counted per local
    day for the ledger."""
    await turn.uow.ledger.record_ask(entry.code, f"{turn.local(turn.now):%Y-%m-%d}", way)


async def home(turn: Turn) -> None:
    rows = [w for w in await turn.uow.guide.words() if w.kind == f"cat:{turn.locale}"]
    if not rows:
        turn.reply(main_menu(turn, lead=turn.t("guide.empty")))
        return
    cells = [Button(row.phrase, data(PREFIX, "c", row.group)) for row in rows]
    buttons = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    buttons.append((turn.button("guide.menu", data(PREFIX, "menu")),))
    turn.reply(Reply(text=turn.t("guide.home"), buttons=tuple(buttons)))


async def show_category(turn: Turn, code: str) -> None:
    entries = await turn.uow.guide.in_category(code)
    if not entries:
        await home(turn)
        return
    buttons: list[tuple[Button, ...]] = [
        (Button(_text(turn, e).get("title", e.code)[:60], data(PREFIX, "e", e.code)),) for e in entries
    ]
    buttons.append((turn.button("guide.back", data(PREFIX, "home")), turn.button("guide.menu", data(PREFIX, "menu"))))
    turn.reply(Reply(text=turn.t("guide.category"), buttons=tuple(buttons)))


async def show_entry(turn: Turn, code: str) -> None:
    entry = await turn.uow.guide.by_code(code)
    if entry is None:
        await home(turn)
        return
    shown = card(turn, entry)
    await asked(turn, entry, "view")
    rows = (
        *shown.buttons,
        (turn.button("guide.back", data(PREFIX, "home")), turn.button("guide.menu", data(PREFIX, "menu"))),
    )
    turn.reply(Reply(text=shown.text, buttons=rows))


async def take_text(turn: Turn) -> bool:
    """Free text outside an interview that reads like a search gets the guide's cards, then the menu. A text longer
    than MAX_QUERY is a story, not a search: it is not searched (and so costs nothing to send)."""
    text = turn.incoming.text
    if not text or turn.incoming.choice is not None or len(text) > MAX_QUERY:
        return False
    return await answer_query(turn, text)


async def answer_query(turn: Turn, text: str) -> bool:
    """Shows the cards a free text finds, then the menu; False when the text is not a search (nothing shown)."""
    home_county = await turn.uow.subscriptions.county_of(turn.person.id)
    results = convincing(await search(turn.uow, text, home_county=home_county))
    if not results:
        return False
    for result in results:
        turn.reply(card(turn, result.entry))
        await asked(turn, result.entry, "search")
    turn.reply(main_menu(turn, lead=turn.t("guide.more", count=len(results))))
    return True


async def on_button(turn: Turn, pressed: Data) -> None:
    """Buttons `guide:home`, `guide:c:<category>`, `guide:e:<entry>`, `guide:menu`."""
    kind, value = pressed.part(0), pressed.rest(1)
    if kind == "c":
        await show_category(turn, value)
    elif kind == "e":
        await show_entry(turn, value)
    elif kind == "menu":
        turn.reply(main_menu(turn))
    else:
        await home(turn)


async def command(turn: Turn, args: str) -> None:
    """`/guide` opens the guide; `/guide 新车上户 西乡` searches it."""
    if args.strip() and len(args) <= MAX_QUERY and await answer_query(turn, args):
        return
    if args.strip():
        turn.say("guide.nothing")
    await home(turn)
