"""The one interview walker: a person fills in an interview on any channel by reading what the desk asked, as a
person would. The step is known by its question text (from the interview's own table); the answer comes from a
Plan (named choices and texts; otherwise the first option, or a filler sentence). How a person acts on a channel —
press a button, type the number shown beside it, share a contact — is the channel's Moves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import Media, Phone, YesNo
from handlers.conversation.interview import Interview, Step

Reply = Any  # whatever a channel's moves return for what the desk said (messages, texts, replies)


@dataclass
class Plan:
    """What to answer: step key → option value or text; unnamed choice steps take the first option (a yes/no: no),
    unnamed text steps the filler; optional steps not named are skipped when `skip_optional`."""

    choices: Mapping[str, str] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    phone: str = "138 0013 8000"
    photos: tuple[str, ...] = ()
    filler: str = "这是一段足够长的测试文字，用来回答这一步。"
    skip_optional: bool = False


@dataclass
class Walk:
    steps: list[str] = field(default_factory=list)
    summary: Reply = None  # what showed the submit button
    receipt: Reply = None


class Moves(Protocol):
    """One channel's hands: each act returns what the desk said back."""

    async def pick(self, reply: Reply, label: str) -> Reply: ...

    async def type(self, text: str) -> Reply: ...

    async def share_phone(self, phone: str) -> Reply: ...

    async def send_photo(self, ref: str) -> Reply: ...

    def text_of(self, reply: Reply) -> str: ...

    def offered(self, reply: Reply) -> Sequence[str]: ...

    async def rest(self, reply: Reply) -> Reply | None:
        """More of a reply the channel paced out (None: nothing more is coming)."""
        ...


class Walker:
    def __init__(self, moves: Moves, t: Translator, locale: str, walk: Walk | None = None) -> None:
        self.moves, self.t, self.locale = moves, t, locale
        self.walk = walk if walk is not None else Walk()

    def say(self, msgid: str) -> str:
        return self.t(self.locale, msgid)

    def which_step(self, interview: Interview, text: str) -> Step | None:
        found = [s for s in interview.steps if isinstance(s.ask, str) and self.say(s.ask) in text]
        return found[-1] if found else None

    def _shown(self, reply: Reply, label: str) -> bool:
        return any(shown == label or shown.endswith(" " + label) for shown in self.moves.offered(reply))

    async def interview(self, menu: Reply, interview: Interview, plan: Plan | None = None) -> Walk:
        plan = plan or Plan()
        reply = await self.moves.pick(menu, self.say(interview.title))
        submit, agree = self.say("engine.submit"), self.say("sensitive.agree")
        for _ in range(40):
            if self._shown(reply, submit):
                self.walk.summary = reply
                self.walk.receipt = await self.moves.pick(reply, submit)
                return self.walk
            if self._shown(reply, agree):  # the separate consent before sensitive data (PIPL Art. 29)
                reply = await self.moves.pick(reply, agree)
                continue
            step = self.which_step(interview, self.moves.text_of(reply))
            if step is None:
                more = await self.moves.rest(reply)
                if more is None:
                    raise AssertionError(f"cannot tell the step from {self.moves.text_of(reply)[:300]!r}")
                reply = more
                continue
            self.walk.steps.append(step.key)
            reply = await self.answer(step, reply, plan)
        raise AssertionError("the interview did not end")

    async def answer(self, step: Step, reply: Reply, plan: Plan) -> Reply:
        expects, moves = step.expects, self.moves
        if step.optional and plan.skip_optional and step.key not in {*plan.choices, *plan.texts}:
            return await moves.pick(reply, self.say("nav.skip"))
        if isinstance(expects, Phone):
            return await moves.share_phone(plan.texts.get(step.key, plan.phone))
        if isinstance(expects, Media):
            if not plan.photos:
                return await moves.pick(reply, self.say("nav.skip"))
            for ref in plan.photos:
                await moves.send_photo(ref)
            return await moves.pick(reply, self.say("input.done"))
        if isinstance(expects, YesNo):
            wanted = plan.choices.get(step.key, "no")
            return await moves.pick(reply, self.say("common.yes" if wanted == "yes" else "common.no"))
        options = getattr(expects, "options", None)
        if options:
            wanted = plan.choices.get(step.key, options[0].value)
            return await moves.pick(reply, next(self.say(o.label) for o in options if o.value == wanted))
        nav = {self.say(k) for k in ("nav.skip", "nav.back", "nav.cancel", "engine.talk_to_person")}
        built = [label for label in moves.offered(reply) if label not in nav]
        if step.key in plan.choices and built:  # a choice built at run time (townships), named by its label
            return await moves.pick(reply, plan.choices[step.key])
        if step.key not in plan.texts and built:
            return await moves.pick(reply, built[0])
        return await moves.type(plan.texts.get(step.key, plan.filler))
