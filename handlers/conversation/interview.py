"""An interview is data: a table of steps (what to ask, what input it expects, when it applies) and what to do at
the end. handlers/conversation/engine.py runs every one of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers.conversation.inputs import Expect
from handlers.conversation.turn import Turn

CONFIRM = "__confirm__"
EDIT = "__edit__"

Answers = dict[str, Any]


@dataclass(frozen=True)
class When:
    """A step's condition that can say what it is (for the diagram): every named answer is one of its values."""

    conditions: tuple[tuple[str, tuple[Any, ...]], ...]

    def __call__(self, answers: Answers) -> bool:
        return all(answers.get(key) in values for key, values in self.conditions)

    def __str__(self) -> str:
        return " & ".join(f"{key} = {' / '.join(map(str, values))}" for key, values in self.conditions)


def if_(**conditions: str | tuple[str, ...]) -> When:
    """`if_(category="fraud")`, `if_(special="none", group=("none", "other"))`."""
    return When(tuple((key, (value,) if isinstance(value, str) else value) for key, value in conditions.items()))


@dataclass(frozen=True)
class Step:
    key: str
    ask: str | Callable[[Turn, Answers], str]  # a message id, or a function for a question built from answers
    expects: Expect
    optional: bool = False
    when: Callable[[Answers], bool] | None = None
    label: str | None = None  # message id for the summary; default "<interview>.<key>.label"
    sensitive: bool = False  # asks for sensitive data: needs the separate consent first (PIPL Art. 29)
    in_summary: bool = True
    notes: tuple[tuple[str, str], ...] = ()  # (answer value, message id) said right after that answer
    clears: tuple[str, ...] = ()  # answers that no longer hold when this one changes (county → township)

    def applies(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)


@dataclass(frozen=True)
class Interview:
    name: str
    title: str  # message id of the menu entry
    steps: tuple[Step, ...]
    on_done: Callable[[Turn, Answers], Awaitable[None]]
    intro: str | None = None  # message id shown once before the first step
    needs_consent: bool = True
    kind: str | None = None  # ticket kind it opens, if any
    in_menu: bool = True  # False for flows opened from elsewhere (a ticket's "add information")
    confirm: bool = True  # False: done as soon as the last step is answered, with no summary to confirm
    # A short form opened from a button (an officer's note, a reason, a reply): it pauses the interview in progress,
    # which comes back when it ends; a command or another button leaves it; `ttl` leaves it when no answer came.
    transient: bool = False
    ttl: timedelta | None = None
    nav: bool = True  # the skip / back / cancel row under each step
    cancel: Callable[[Turn], str] | None = None  # the cancel button's data, when not the engine's own nav:cancel

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    def applicable(self, answers: Answers) -> list[Step]:
        return [s for s in self.steps if s.applies(answers)]

    def next_after(self, key: str | None, answers: Answers, editing: bool) -> str:
        if editing:
            for step in self.applicable(answers):
                if step.key not in answers:
                    return step.key
            return CONFIRM
        keys = [s.key for s in self.steps]
        start = keys.index(key) + 1 if key in keys else 0
        for step in self.steps[start:]:
            if step.applies(answers):
                return step.key
        return CONFIRM

    def final_answers(self, answers: Answers) -> Answers:
        return {s.key: answers[s.key] for s in self.applicable(answers) if s.key in answers}


def form(
    name: str, steps: tuple[Step, ...], on_done: Callable[[Turn, Answers], Awaitable[None]], **more: Any
) -> Interview:
    """A short form opened from a button (a reason, a note, a comment, a name): transient, done without a summary,
    titled `<name>.title`, asking no consent of its own."""
    return Interview(
        name=name,
        title=f"{name}.title",
        steps=steps,
        on_done=on_done,
        needs_consent=False,
        in_menu=False,
        confirm=False,
        transient=True,
        **more,
    )
