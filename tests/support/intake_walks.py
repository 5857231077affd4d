"""Helpers for the intake tests: scripted walks through interviews, demo units, and checks on every reply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.app import DEMO_UNITS, read_units_file
from bot.i18n import load_catalogs
from handlers.conversation.messages import Attachment, Location, Reply
from handlers.tickets.units import load_units
from storage.models import Ticket, Unit
from storage.uow import Database
from tests.conftest import Chat, DeskDriver

CATALOGS = load_catalogs()
NAMESPACES = {msgid.split(".", 1)[0] for msgid in CATALOGS["zh_CN"] if "." in msgid}
ID_LIKE = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b")
VALID_ID = "11010519491231002X"  # the GB 11643-1999 example number
LANGUAGES = {"zh_CN": "zh-CN", "en": "en-GB"}


async def load_demo_units(db: Database) -> None:
    units, rules = read_units_file(DEMO_UNITS)
    await load_units(db, units, rules)


def leaked_ids(text: str) -> list[str]:
    """Message ids that reached a citizen untranslated."""
    return [m for m in ID_LIKE.findall(text) if m.split(".", 1)[0] in NAMESPACES]


def check_reply(driver: DeskDriver, locale: str, reply: Reply) -> None:
    assert reply.text.strip(), "an empty message"
    assert reply.text != driver.t(locale, "error.internal"), "the desk apologised for a failure"
    assert not leaked_ids(reply.text), f"untranslated ids in {reply.text!r}"
    for button in reply.all_buttons():
        assert button.label.strip() and not leaked_ids(button.label), f"button {button}"


Action = tuple[Any, ...]


@dataclass
class Walk:
    driver: DeskDriver
    chat: Chat
    locale: str
    transcript: list[list[Reply]] = field(default_factory=list)

    async def do(self, action: Action) -> list[Reply]:
        verb, *args = action
        if verb == "press":
            replies = await self.driver.press(self.chat, args[0])
        elif verb == "say":
            replies = await self.driver.say(self.chat, args[0])
        elif verb == "photo":
            replies = await self.driver.send(self.chat, attachments=(Attachment(kind="photo", ref=args[0]),))
        elif verb == "voice":
            replies = await self.driver.send(self.chat, attachments=(Attachment(kind="voice", ref=args[0]),))
        elif verb == "contact":
            replies = await self.driver.contact(self.chat, args[0])
        elif verb == "location":
            replies = await self.driver.send(self.chat, location=Location(args[0], args[1]))
        else:
            raise ValueError(verb)
        assert replies, f"no reply to {action}"
        for reply in replies:
            check_reply(self.driver, self.locale, reply)
        self.transcript.append(replies)
        return replies

    async def run(self, actions: list[Action]) -> list[Reply]:
        replies: list[Reply] = []
        for action in actions:
            replies = await self.do(action)
        return replies

    def said(self, msgid: str, **params: object) -> bool:
        wanted = self.driver.t(self.locale, msgid, **params)
        return any(wanted in reply.text for replies in self.transcript for reply in replies)


async def start(driver: DeskDriver, chat_id: str, locale: str) -> Walk:
    walk = Walk(driver, driver.chat(chat_id, language=LANGUAGES[locale]), locale)
    await walk.run([("say", "/start"), ("press", "consent:agree")])
    return walk


async def tickets_of(db: Database) -> list[tuple[Ticket, Unit | None]]:
    async with db.reading() as uow:
        tickets = (await uow.session.execute(select(Ticket).order_by(Ticket.id))).scalars().all()
        return [(t, await uow.units.get(t.unit_id) if t.unit_id else None) for t in tickets]
