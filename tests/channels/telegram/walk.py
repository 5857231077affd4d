"""A Telegram user's hands for the one walker (tests/support/walker.py): press an inline button by its label, type,
share the contact, send a photo; what the bot paces out over several messages is read to its end."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.conversation.i18n import Translator
from handlers.conversation.interview import Interview
from handlers.interviews.dispute import DISPUTE
from tests.channels.telegram.fake_api import FakeUser, Sent
from tests.support import walker
from tests.support.walker import Plan

__all__ = ["Plan", "Walk", "Walker"]


@dataclass
class Walk(walker.Walk):
    transcript: list[Sent] = field(default_factory=list)
    summary_reply: list[Sent] = field(default_factory=list)  # all of the summary (it may come in two messages)
    presses: int = 0


def _with_buttons(reply: Sequence[Sent]) -> Sent | None:
    return next((m for m in reversed(reply) if m.inline), None)


class Moves:
    def __init__(self, user: FakeUser, walk: Walk, within: float) -> None:
        self.user, self.walk, self.within = user, walk, within

    async def act(self, action: Callable[[], Any]) -> list[Sent]:
        before = len(self.user.inbox())
        action()
        reply = await self.user.next(before, within=self.within)
        self.walk.transcript.extend(reply)
        return reply

    async def pick(self, reply: list[Sent], label: str) -> list[Sent]:
        message = next(m for m in reversed(reply) if label in m.labels)
        self.walk.presses += 1
        return await self.act(lambda: self.user.press(message, label))

    async def type(self, text: str) -> list[Sent]:
        return await self.act(lambda: self.user.text(text))

    async def share_phone(self, phone: str) -> list[Sent]:
        return await self.act(lambda: self.user.contact(phone))

    async def send_photo(self, ref: str) -> list[Sent]:
        return await self.act(lambda: self.user.photo(ref))

    def text_of(self, reply: list[Sent]) -> str:
        return "\n".join(m.text for m in reply)

    def offered(self, reply: list[Sent]) -> list[str]:
        holder = _with_buttons(reply)
        return list(holder.labels) if holder else []

    async def rest(self, reply: list[Sent]) -> list[Sent] | None:
        if _with_buttons(reply) is not None:
            return None
        return reply + await self.act(lambda: None)  # the rest of a reply the bot paced


class Walker(walker.Walker):
    walk: Walk

    def __init__(self, user: FakeUser, t: Translator, locale: str, *, within: float = 10.0) -> None:
        walk = Walk()
        self.hands = Moves(user, walk, within)
        super().__init__(self.hands, t, locale, walk)

    async def start(self) -> list[Sent]:
        """/start, agree to the privacy notice: the main menu."""
        reply = await self.hands.type("/start")
        return await self.hands.pick(reply, self.say("consent.agree"))

    async def interview(self, menu: Any, interview: Interview = DISPUTE, plan: Plan | None = None) -> Walk:
        await super().interview(menu, interview, plan)
        self.walk.summary_reply = list(self.walk.summary or [])
        self.walk.summary = _with_buttons(self.walk.summary_reply)
        return self.walk
