"""A WeChat follower's hands for the one walker (tests/support/walker.py): only a text box — every choice is
answered by typing the number shown beside it, a phone is typed, a photo is an image message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from handlers.conversation.i18n import Translator
from handlers.conversation.interview import Interview
from tests.channels.wechat.fake_api import Follower
from tests.support import walker
from tests.support.walker import Plan

__all__ = ["Plan", "Walk", "Walker", "numbered"]

CELL = re.compile(r"^(\d+) (.+)$")


def numbered(text: str, lead: str) -> dict[str, int]:
    """label → number, from the last numbered menu in a text ("回复数字：1 同意  2 不同意" or one per line)."""
    at = text.rfind(lead.strip())
    if at < 0:
        return {}
    listed = text[at + len(lead.strip()) :]
    cells = [c.strip() for c in re.split(r"\n| {2,}", listed) if c.strip()]
    found: dict[str, int] = {}
    for cell in cells:
        match = CELL.match(cell)
        if match is None:
            break
        found[match[2]] = int(match[1])
    return found


@dataclass
class Walk(walker.Walk):
    typed: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)


class Moves:
    def __init__(self, follower: Follower, walk: Walk, lead: str) -> None:
        self.follower, self.walk, self.lead = follower, walk, lead

    async def type(self, text: str) -> list[str]:
        self.walk.typed.append(text)
        reply = await self.follower.act(lambda: self.follower.text(text))
        assert reply, f"no answer to {text!r}"
        self.walk.transcript.extend(reply)
        return reply

    async def pick(self, reply: list[str], label: str) -> list[str]:
        """Type the number shown beside `label` in the last menu of the reply."""
        menu = numbered("\n\n".join(reply), self.lead)
        number = next((n for shown, n in menu.items() if shown == label or shown.endswith(" " + label)), None)
        assert number is not None, f"{label!r} not among {menu}"
        return await self.type(str(number))

    async def share_phone(self, phone: str) -> list[str]:
        return await self.type(phone)

    async def send_photo(self, ref: str) -> list[str]:
        got = await self.follower.act(lambda: self.follower.image(ref))
        self.walk.transcript.extend(got)
        return got

    def text_of(self, reply: list[str]) -> str:
        return "\n\n".join(reply)

    def offered(self, reply: list[str]) -> list[str]:
        return list(numbered(self.text_of(reply), self.lead))

    async def rest(self, reply: list[str]) -> list[str] | None:
        return None


class Walker(walker.Walker):
    walk: Walk

    def __init__(self, follower: Follower, t: Translator, locale: str) -> None:
        walk = Walk()
        self.follower = follower
        self.hands = Moves(follower, walk, t(locale, "text_menu.numbers"))
        super().__init__(self.hands, t, locale, walk)

    async def type(self, text: str) -> list[str]:
        return await self.hands.type(text)

    async def start(self) -> list[str]:
        """/start, then the number of "agree" under the privacy notice: the main menu."""
        await self.hands.type("/start")
        return await self.hands.pick(self.walk.transcript[-1:], self.say("consent.agree"))

    async def interview(self, menu: list[str], interview: Interview, plan: Plan | None = None) -> Walk:
        await super().interview(menu, interview, plan)
        self.walk.summary = self.hands.text_of(self.walk.summary or [])
        return self.walk
