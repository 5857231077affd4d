"""Walks a WeChat follower through an interview as a person would with only a text box: the step is known by its
question (from the interview's own table), and every choice is answered by typing the number shown beside it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import Media, Phone, YesNo
from handlers.conversation.interview import Interview, Step
from tests.channels.wechat.fake_api import Follower

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
class Plan:
    choices: Mapping[str, str] = field(default_factory=dict)  # step key → option value; unnamed: the first option
    texts: Mapping[str, str] = field(default_factory=dict)
    phone: str = "138 0013 8000"
    photos: tuple[str, ...] = ()
    filler: str = "这是一段足够长的测试文字，用来回答这一步。"


@dataclass
class Walk:
    steps: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    summary: str = ""
    receipt: list[str] = field(default_factory=list)


class Walker:
    def __init__(self, follower: Follower, t: Translator, locale: str) -> None:
        self.follower, self.t, self.locale = follower, t, locale
        self.walk = Walk()
        self.lead = t(locale, "text_menu.numbers")

    def say(self, msgid: str) -> str:
        return self.t(self.locale, msgid)

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

    async def start(self) -> list[str]:
        """/start, then the number of "agree" under the privacy notice: the main menu."""
        await self.type("/start")
        return await self.pick(self.walk.transcript[-1:], self.say("consent.agree"))

    def which_step(self, interview: Interview, text: str) -> Step | None:
        found = [s for s in interview.steps if isinstance(s.ask, str) and self.say(s.ask) in text]
        return found[-1] if found else None

    async def interview(self, menu: list[str], interview: Interview, plan: Plan) -> Walk:
        reply = await self.pick(menu, self.say(interview.title))
        submit, agree = self.say("engine.submit"), self.say("sensitive.agree")
        for _ in range(40):
            text = "\n\n".join(reply)
            shown = numbered(text, self.lead)
            if any(label.endswith(submit) for label in shown):
                self.walk.summary = text
                self.walk.receipt = await self.pick(reply, submit)
                return self.walk
            if agree in shown:  # the separate consent before sensitive data (PIPL Art. 29)
                reply = await self.pick(reply, agree)
                continue
            step = self.which_step(interview, text)
            if step is None:
                raise AssertionError(f"cannot tell the step from {text[:300]!r}")
            self.walk.steps.append(step.key)
            reply = await self.answer(step, reply, plan)
        raise AssertionError("the interview did not end")

    async def answer(self, step: Step, reply: list[str], plan: Plan) -> list[str]:
        expects = step.expects
        if isinstance(expects, Phone):
            return await self.type(plan.phone)
        if isinstance(expects, Media):
            if not plan.photos:
                return await self.pick(reply, self.say("nav.skip"))
            for media_id in plan.photos:
                got = await self.follower.act(lambda media_id=media_id: self.follower.image(media_id))
                self.walk.transcript.extend(got)
            return await self.pick(reply, self.say("input.done"))
        if isinstance(expects, YesNo):
            wanted = plan.choices.get(step.key, "no")
            return await self.pick(reply, self.say("common.yes" if wanted == "yes" else "common.no"))
        options = getattr(expects, "options", None)
        if options:
            wanted = plan.choices.get(step.key, options[0].value)
            return await self.pick(reply, next(self.say(o.label) for o in options if o.value == wanted))
        nav = {self.say(k) for k in ("nav.skip", "nav.back", "nav.cancel", "engine.talk_to_person")}
        offered = [label for label in numbered("\n\n".join(reply), self.lead) if label not in nav]
        if step.key not in plan.texts and offered:  # a choice built at run time (townships)
            return await self.pick(reply, offered[0])
        return await self.type(plan.texts.get(step.key, plan.filler))
