"""Walks a Telegram user through an interview by reading what the bot asked, as a person would: the step is known
by its question text from the interview's own table, answered by pressing a button, typing, or sharing a contact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import Media, Phone
from handlers.conversation.interview import Interview, Step
from handlers.interviews.dispute import DISPUTE
from tests.channels.telegram.fake_api import FakeUser, Sent


@dataclass
class Plan:
    """What to answer; unnamed choice steps take the first option, unnamed text steps a filler sentence."""

    choices: Mapping[str, str] = field(default_factory=dict)  # step key → option value
    texts: Mapping[str, str] = field(default_factory=dict)
    phone: str = "+86 138 0013 8000"
    photos: tuple[str, ...] = ()
    filler: str = "这是一段足够长的测试文字，用来回答这一步。"


@dataclass
class Walk:
    transcript: list[Sent] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    summary: Sent | None = None  # the message with the submit button
    summary_reply: list[Sent] = field(default_factory=list)  # all of the summary (it may come in two messages)
    receipt: list[Sent] = field(default_factory=list)
    presses: int = 0


def _with_buttons(reply: list[Sent]) -> Sent | None:
    return next((m for m in reversed(reply) if m.inline), None)


def which_step(interview: Interview, t: Translator, locale: str, reply: list[Sent]) -> Step | None:
    text = "\n".join(m.text for m in reply)
    found = [s for s in interview.steps if isinstance(s.ask, str) and t(locale, s.ask) in text]
    return found[-1] if found else None


class Walker:
    def __init__(self, user: FakeUser, t: Translator, locale: str, *, within: float = 10.0) -> None:
        self.user, self.t, self.locale, self.within = user, t, locale, within
        self.walk = Walk()

    async def act(self, action: Any) -> list[Sent]:
        before = len(self.user.inbox())
        action()
        reply = await self.user.next(before, within=self.within)
        self.walk.transcript.extend(reply)
        return reply

    async def press(self, reply: list[Sent], label: str) -> list[Sent]:
        message = next(m for m in reversed(reply) if label in m.labels)
        self.walk.presses += 1
        return await self.act(lambda: self.user.press(message, label))

    async def start(self) -> list[Sent]:
        """/start, agree to the privacy notice: the main menu."""
        reply = await self.act(lambda: self.user.text("/start"))
        return await self.press(reply, self.t(self.locale, "consent.agree"))

    async def interview(self, menu: list[Sent], interview: Interview = DISPUTE, plan: Plan | None = None) -> Walk:
        plan = plan or Plan()
        reply = await self.press(menu, self.t(self.locale, interview.title))
        submit = self.t(self.locale, "engine.submit")
        for _ in range(40):
            holder = _with_buttons(reply)
            if holder is not None and submit in holder.labels:
                self.walk.summary = holder
                self.walk.summary_reply = reply
                self.walk.receipt = await self.press(reply, submit)
                return self.walk
            step = which_step(interview, self.t, self.locale, reply)
            if step is None and holder is None:
                reply = reply + await self.act(lambda: None)  # the rest of a reply the bot paced
                continue
            if step is None:
                raise AssertionError(f"cannot tell the step from {[m.text[:80] for m in reply]}")
            self.walk.steps.append(step.key)
            reply = await self.answer(step, reply, plan)
        raise AssertionError("the interview did not end")

    async def answer(self, step: Step, reply: list[Sent], plan: Plan) -> list[Sent]:
        expects = step.expects
        if isinstance(expects, Phone):
            return await self.act(lambda: self.user.contact(plan.phone))
        if isinstance(expects, Media):
            if not plan.photos:
                return await self.press(reply, self.t(self.locale, "nav.skip"))
            for ref in plan.photos:
                await self.act(lambda ref=ref: self.user.photo(ref))
            return await self.press(reply, self.t(self.locale, "input.done"))
        options = getattr(expects, "options", None)
        if options:
            wanted = plan.choices.get(step.key, options[0].value)
            label = next(self.t(self.locale, o.label) for o in options if o.value == wanted)
            return await self.press(reply, label)
        holder = _with_buttons(reply)
        nav = {self.t(self.locale, k) for k in ("nav.skip", "nav.back", "nav.cancel")}
        if step.key not in plan.texts and holder is not None and [x for x in holder.labels if x not in nav]:
            return await self.press(reply, next(x for x in holder.labels if x not in nav))
        text = plan.texts.get(step.key, plan.filler)
        return await self.act(lambda: self.user.text(text))
