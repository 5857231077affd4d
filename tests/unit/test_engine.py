"""The interview engine without a database: steps in order, bad input answered with the reason and the same step,
back and skip, a short form that pauses the interview in progress and gives it back, forms without a summary, and
a form nobody answered left after its time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers.conversation import engine
from handlers.conversation.inputs import Text, options_from
from handlers.conversation.interview import Answers, Interview, Step
from handlers.conversation.turn import Turn
from tests.support.turns import Chat

DONE: list[tuple[str, Answers]] = []


async def _record(turn: Turn, answers: Answers) -> None:
    DONE.append((turn.state.interview or "-", dict(answers)))


STORY = Interview(
    name="story",
    title="dispute.title",
    steps=(
        Step("category", ask="dispute.category", expects=options_from(("land", "family"), "dispute.cat")),
        Step("description", ask="dispute.description", expects=Text(min_len=5, max_len=50)),
        Step("other_party", ask="dispute.other_party", expects=Text(min_len=2, max_len=20), optional=True),
    ),
    on_done=_record,
)
NOTE = Interview(
    name="note",
    title="desk_note.title",
    steps=(Step("text", ask="desk.ask.note", expects=Text(min_len=1, max_len=20)),),
    on_done=_record,
    needs_consent=False,
    in_menu=False,
    confirm=False,
    transient=True,
    ttl=timedelta(minutes=30),
)


def chat() -> Chat:
    DONE.clear()
    return Chat(interviews={STORY.name: STORY, NOTE.name: NOTE})


async def answer(c: Chat, **incoming: Any) -> list[Any]:
    turn = c.turn(**incoming)
    interview = engine.current(turn)
    assert interview is not None
    await engine.answer(turn, interview)
    return c.said(turn)


async def test_steps_in_order_bad_input_asks_again_and_nothing_typed_is_lost() -> None:
    c = chat()
    turn = c.turn(text="/start")
    engine.begin(turn, STORY)
    assert c.said(turn)[-1].text.endswith(c.t("dispute.category"))
    await answer(c, choice="land")
    short = await answer(c, text="太短")
    assert short[-1].text.startswith(c.t("input.too_short", min=5)) and c.t("dispute.description") in short[-1].text
    assert c.state.answers == {"category": "land"} and c.state.step == "description"
    await answer(c, text="邻居把界桩挪了两米")
    turn = c.turn(choice="nav:skip")
    await engine.skip(turn, STORY)
    summary = c.said(turn)[-1]
    assert summary.text.startswith(c.t("engine.summary_title", title=c.t("dispute.title")))
    turn = c.turn(choice="nav:submit")
    await engine.submit(turn, STORY)
    assert DONE == [
        ("-", {"category": "land", "description": "邻居把界桩挪了两米", "other_party": None, engine.SENSITIVE: ()})
    ]  # with the keys of the steps marked sensitive (none here): submit seals those


async def test_back_returns_to_the_previous_step_with_its_answer_kept() -> None:
    c = chat()
    engine.begin(c.turn(), STORY)
    await answer(c, choice="family")
    turn = c.turn(choice="nav:back")
    engine.back(turn, STORY)
    assert c.state.step == "category" and c.state.answers["category"] == "family"


async def test_a_short_form_pauses_the_interview_and_gives_it_back_where_it_stood() -> None:
    c = chat()
    engine.begin(c.turn(), STORY)
    await answer(c, choice="land")
    turn = c.turn(choice="t:note:7")
    engine.begin(turn, NOTE, context={"_ticket": 7})
    assert c.state.interview == "note" and c.said(turn)[-1].typed  # a typed answer: never numbered on WeChat
    back = await answer(c, text="当事人下午有空")
    assert DONE == [
        ("story", {"text": "当事人下午有空", "_ticket": 7, engine.SENSITIVE: ()})
    ]  # done, and the story is back already
    assert c.state.interview == "story" and c.state.step == "description" and c.state.answers == {"category": "land"}
    assert back[-1].text.endswith(c.t("dispute.description"))  # and asked again


async def test_a_form_left_unanswered_past_its_time_gives_the_interview_back() -> None:
    c = chat()
    engine.begin(c.turn(), STORY)
    await answer(c, choice="family")
    engine.begin(c.turn(), NOTE, context={"_ticket": 9})
    c.now += timedelta(minutes=31)
    later = c.turn(text="邻居把界桩挪了两米")
    assert engine.current(later) is STORY and c.state.answers == {"category": "family"}


async def test_starting_an_interview_drops_a_paused_one_but_a_form_does_not() -> None:
    c = chat()
    engine.begin(c.turn(), STORY)
    await answer(c, choice="land")
    engine.begin(c.turn(), NOTE)
    engine.begin(c.turn(), NOTE)  # a second form replaces the first, the story stays paused under it
    assert engine.leave(c.turn()) is STORY
    engine.begin(c.turn(), NOTE)
    engine.begin(c.turn(), STORY)  # a new interview: nothing is paused any more
    assert engine.leave(c.turn()) is None
