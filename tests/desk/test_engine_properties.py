"""Random conversations against the real Desk on SQLite (hypothesis): texts, button presses (fresh and stale),
commands, photos, voice notes, contacts and locations in any order. Whatever comes, the desk never fails, always
answers, keeps a valid state, and opens a ticket only when a finished interview is submitted.

More examples: SHISHI_PROPERTY_EXAMPLES=500 .venv/bin/pytest tests/test_engine_properties.py (add
SHISHI_PROPERTY_SHRINK=1 to let hypothesis shrink a failure).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import DEMO_EMERGENCY_WORDS, read_emergency_words
from handlers.citizen.mytickets import Note
from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import Address, Choice, Day, IdNumber, Media, Phone, Text, YesNo
from handlers.conversation.interview import CONFIRM, EDIT
from handlers.conversation.messages import Attachment, Contact, Incoming, Location, Reply
from handlers.conversation.numbers import Amount, Count
from handlers.conversation.places import TOWNSHIPS, TownshipChoice
from handlers.conversation.turn import Rules, State
from handlers.desk import Desk
from handlers.router import INTERVIEWS
from storage.models import Conversation, Person, Ticket
from storage.repositories.outbox import open_payload
from storage.uow import Database
from tests.conftest import FakeClock, open_db
from tests.support.intake_walks import VALID_ID, leaked_ids, load_demo_units

EXAMPLES = int(os.environ.get("SHISHI_PROPERTY_EXAMPLES", "12"))
# Shrinking a 40-message conversation takes minutes; the labelled draws of a failure are readable as they are.
PHASES = tuple(Phase) if os.environ.get("SHISHI_PROPERTY_SHRINK") else (Phase.explicit, Phase.reuse, Phase.generate)

GOOD_TEXTS = (
    "邻居把界桩往我家地里挪了两米，协商了几次都不成",
    "My landlord kept the deposit and will not answer the phone",
    "13800138000",
    "+86 139 1234 5678",
    "2026-11-20",
    "2026/06/01",
    "1.5万",
    "5000",
    "30",
    "约30人",
    VALID_ID,
    "（2025）陕0702执123号",
    "汉台区北关街道滨江小区3号楼",
    "1",
    "2",
    "3",
    "同意提供",
    "Yes",
)
BAD_TEXTS = ("", "   ", "😀", "x" * 2500, "2099-01-01", "110105194912310021", "12345", "0", "abc", "99")
DANGER = ("救命！有人打人", "help me, he has a knife", "我不想活了")
COMMANDS = (
    "/start",
    "/menu",
    "/help",
    "/cancel",
    "/back",
    "/lang",
    "/lang en",
    "/lang zh",
    "/status",
    "/status HZ-20261127-0001",
    "/frobnicate",
    "/guide",
)
STALE = (
    "menu:dispute",
    "menu:concern",
    "menu:legal_aid",
    "menu:relief",
    "menu:service",
    "menu:dispute:new",
    "menu:continue",
    "menu:status",
    "menu:nothing",
    "nav:submit",
    "nav:edit",
    "nav:back",
    "nav:skip",
    "nav:cancel",
    "nav:summary",
    "edit:phone",
    "edit:county",
    "edit:nothing",
    "consent:agree",
    "consent:decline",
    "sensitive:agree",
    "sensitive:decline",
    "lang:en",
    "lang:xx",
    "help:person",
    "my:open:1",
    "my:add:1",
    "my:cancel:1",
    "my:list",
    "my:open:x",
    "done",
    "today",
    "yes",
    "hantai",
    "fraud",
    "x:y",
    "t:claim:1",
    "::",
)


def check_state(state: State) -> None:
    """What a valid conversation state is: a known interview at one of its applicable steps, answers by step key."""
    assert state.pending is None or state.pending in INTERVIEWS
    assert state.fails >= 0
    if state.interview is None:
        assert state.answers == {} and state.trail == []
        return
    interview = INTERVIEWS[state.interview]
    keys = {s.key for s in interview.steps}
    assert set(state.answers) <= keys, state.answers
    assert set(state.trail) <= keys | {CONFIRM}, state.trail
    if state.step in (CONFIRM, EDIT):
        assert all(s.key in state.answers or s.optional for s in interview.applicable(state.answers))
    else:
        assert state.step in keys, state.step
        assert interview.step(state.step).applies(state.answers)


async def read_state(db: Database, chat_person: int | None) -> tuple[State, Person | None]:
    async with db.reading() as uow:
        if chat_person is None:
            return State(), None
        row = await uow.session.get(Conversation, chat_person)
        state = State.from_json(uow.conversations.unseal(row)) if row is not None else State()
        return state, await uow.people.get(chat_person)


def helpful(data: st.DataObject, state: State, person: Person | None) -> dict[str, Any]:
    """What a citizen who means it would send now: agree, pick an interview, a valid answer, submit."""
    if state.interview is None or state.interview not in INTERVIEWS:
        if person is None or person.consent_at is None:
            return {"choice": "consent:agree"}
        name = data.draw(st.sampled_from([i.name for i in INTERVIEWS.values() if i.in_menu]), label="start")
        return {"choice": f"menu:{name}"}
    interview = INTERVIEWS[state.interview]
    if state.step == CONFIRM:
        return {"choice": "nav:submit"}
    if state.step == EDIT or state.step is None:
        return {"choice": "nav:summary"}
    step = interview.step(state.step)
    if step.sensitive and person is not None and person.sensitive_consent_at is None:
        return {"choice": data.draw(st.sampled_from(["sensitive:agree", "sensitive:decline"]), label="sensitive")}
    expects = step.expects
    if isinstance(expects, Choice):
        return {"choice": data.draw(st.sampled_from([o.value for o in expects.options]), label="option")}
    if isinstance(expects, YesNo):
        return {"choice": data.draw(st.sampled_from(["yes", "no"]), label="yes/no")}
    if isinstance(expects, TownshipChoice):
        codes = TOWNSHIPS.get(str(state.answers.get("county")), ())
        return {"choice": codes[0]} if codes else {"choice": "nav:skip"}
    answers: dict[type, dict[str, Any]] = {
        Phone: {"text": "13800138000"},
        Day: {"choice": "today"},
        Amount: {"text": "5000"},
        Count: {"text": "12"},
        IdNumber: {"text": VALID_ID},
        Address: {"text": "汉台区北关街道滨江小区3号楼"},
        Media: {"choice": "nav:skip"},
    }
    return answers.get(type(expects), {"text": GOOD_TEXTS[0]} if isinstance(expects, Text | Note) else {})


async def person_of(db: Database, chat_id: str) -> int | None:
    async with db.reading() as uow:
        identity = await uow.people.identity("webchat", chat_id)
        return identity.person_id if identity else None


async def ticket_count(db: Database, person: int | None) -> int:
    if person is None:
        return 0
    async with db.reading() as uow:
        stmt = select(func.count()).select_from(Ticket).where(Ticket.citizen_id == person)
        return int((await uow.session.execute(stmt)).scalar_one())


def incoming_strategy(data: st.DataObject, buttons: list[str], state: State, person: Person | None) -> dict[str, Any]:
    kinds = ["text", "bad", "command", "stale", "media", "danger"] + ["button"] * (6 if buttons else 0)
    kinds += ["good"] * 2 + ["helpful"] * 10
    kind = data.draw(st.sampled_from(kinds), label="kind")
    if kind == "helpful":
        return helpful(data, state, person) or {"choice": "nav:cancel"}
    if kind == "button":
        return {"choice": data.draw(st.sampled_from(buttons), label="button")}
    if kind == "good":
        return {"text": data.draw(st.sampled_from(GOOD_TEXTS), label="good")}
    if kind == "bad":
        return {"text": data.draw(st.sampled_from(BAD_TEXTS), label="bad")}
    if kind == "danger":
        return {"text": data.draw(st.sampled_from(DANGER), label="danger")}
    if kind == "command":
        return {"text": data.draw(st.sampled_from(COMMANDS), label="command")}
    if kind == "stale":
        return {"choice": data.draw(st.sampled_from(STALE), label="stale")}
    if kind == "text":
        return {"text": data.draw(st.text(max_size=40), label="text")}
    what = data.draw(st.sampled_from(["photo", "voice", "contact", "stranger", "location", "caption"]), label="media")
    if what == "contact":
        return {"contact": Contact(data.draw(st.sampled_from(["+8613800138000", "12345"])), own=True)}
    if what == "stranger":
        return {"contact": Contact("+8613800138000", own=False)}
    if what == "location":
        return {"location": Location(33.07, 107.03)}
    attachment = Attachment(kind="voice" if what == "voice" else "photo", ref=f"file-{what}")
    return {"attachments": (attachment,), "text": "看这张照片" if what == "caption" else None}


def test_random_conversations_keep_the_desk_sound(sqlite_url: str, translator: Translator) -> None:
    runner = asyncio.Runner()
    db = runner.run(open_db(sqlite_url))
    runner.run(load_demo_units(db))
    clock = FakeClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    rules = Rules(emergency_words=read_emergency_words(DEMO_EMERGENCY_WORDS), max_tickets_per_day=1000)
    desk = Desk(db, translator, rules, clock)
    chats = itertools.count()
    apology = {translator(locale, "error.internal") for locale in ("zh_CN", "en")}
    seen = {"tickets": 0, "turns": 0}

    async def converse(data: st.DataObject) -> None:
        chat_id = f"prop-{next(chats)}"
        language = data.draw(st.sampled_from(["zh-CN", "en"]), label="language")
        buttons: list[str] = []
        person = await person_of(db, chat_id)
        for n in range(data.draw(st.integers(1, 40), label="length")):
            before, someone = await read_state(db, person)
            fields = incoming_strategy(data, buttons, before, someone)
            tickets_before = await ticket_count(db, person)
            handled = await desk.handle(
                Incoming(channel="webchat", chat_id=chat_id, update_key=f"{chat_id}-{n}", language=language, **fields)
            )
            seen["turns"] += 1
            assert not handled.duplicate
            replies = [Reply.from_payload(open_payload(db.cipher, m.payload)) for m in handled.messages
                       if m.recipient == chat_id]  # fmt: skip
            assert replies, f"no reply to {fields}"
            for reply in replies:
                assert reply.text not in apology, f"the desk failed on {fields} at {before}"
                assert not leaked_ids(reply.text), reply.text
            buttons = [b.data for b in replies[-1].all_buttons()]
            person = person or await person_of(db, chat_id)
            after, _ = await read_state(db, person)
            check_state(after)
            opened = await ticket_count(db, person) - tickets_before
            assert opened in (0, 1)
            if opened:
                seen["tickets"] += 1
                assert fields.get("choice") == "nav:submit" and before.step == CONFIRM, (fields, before)
                assert before.interview is not None and INTERVIEWS[before.interview].kind is not None
                assert after.interview is None

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        phases=PHASES,
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        runner.run(converse(data))

    try:
        run()
    finally:
        runner.run(db.dispose())
        runner.close()
    print(f"{EXAMPLES} conversations, {seen['turns']} messages, {seen['tickets']} tickets")
    assert seen["turns"] >= EXAMPLES
