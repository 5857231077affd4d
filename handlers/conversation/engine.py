"""The one engine that runs every interview: ask a step, read the answer, go on, summarise, submit; a short form
opened from a button pauses the interview in progress and gives it back when it ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.conversation.buttons import data
from handlers.conversation.inputs import Accepted, Choice, Option, Partial, Rejected
from handlers.conversation.interview import CONFIRM, EDIT, Interview, Step
from handlers.conversation.messages import Button, Reply
from handlers.conversation.turn import Turn

FAILS_BEFORE_HELP = 3
FLAGS = "interview"  # state.extra key: marks of the running interview (urgent, sensitive declined, context, since)
PAUSED = "paused"  # state.extra key: the interview a transient form paused
SENSITIVE = "_sensitive"  # added to the answers handed to on_done: the keys of the steps marked sensitive
URGENT = "_urgent"  # added to the answers handed to on_done when a message of the interview signalled danger
DOMESTIC = "_domestic"  # ... and when one of them spoke of domestic violence

RELAY_LEFT = "relay_left"  # state.extra key: when the citizen last stepped out of talking to an officer

_MISSING = object()


def leave_relay(turn: Turn) -> None:
    """The citizen turned to something else (/menu, the guide, a new interview): what they type next is no longer
    for the officer, until the officer writes again."""
    turn.state.extra[RELAY_LEFT] = turn.now.isoformat()


def relay_left_at(turn: Turn) -> datetime | None:
    raw = turn.state.extra.get(RELAY_LEFT)
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


SENSITIVE_CHOICE = Choice((Option("agree", "sensitive.agree"), Option("decline", "sensitive.decline")))


def current(turn: Turn) -> Interview | None:
    """The interview the person is in, from the desk's table of interviews; an interview or step this version no
    longer has is dropped or mended here, keeping the answers."""
    name = turn.state.interview
    found = turn.interviews.get(name) if name else None
    interview = found if isinstance(found, Interview) else None
    if interview is None:
        if name:
            turn.state.clear()  # an interview this version no longer has
        return None
    if interview.ttl is not None and turn.now - _since(turn) > interview.ttl:
        leave(turn)  # a form left unanswered: what it paused comes back
        return current(turn)
    step = turn.state.step
    if step not in (CONFIRM, EDIT) and step not in {s.key for s in interview.steps}:
        # A step this version no longer has: go on from the first unanswered one, keeping the answers.
        turn.state.step = interview.next_after(None, turn.state.answers, editing=True)
        turn.state.trail = [k for k in turn.state.trail if k in {s.key for s in interview.steps}]
    return interview


def _since(turn: Turn) -> datetime:
    try:
        return datetime.fromisoformat(str(flags(turn).get("since")))
    except ValueError:
        return turn.now


def context(turn: Turn) -> dict[str, Any]:
    """What the interview was begun about (keys starting with "_", e.g. the ticket of a form)."""
    found: dict[str, Any] = flags(turn).setdefault("context", {})
    return found


def _pause(turn: Turn) -> None:
    state = turn.state
    state.extra[PAUSED] = {
        "interview": state.interview,
        "step": state.step,
        "answers": state.answers,
        "trail": state.trail,
        "editing": state.editing,
        "flags": state.extra.get(FLAGS),
        "media": state.extra.get("media"),
    }


def leave(turn: Turn) -> Interview | None:
    """End the interview in progress (done, cancelled or left); the interview a form paused comes back, unasked."""
    state = turn.state
    state.clear()
    state.extra.pop(FLAGS, None)
    state.extra.pop("media", None)
    paused = state.extra.pop(PAUSED, None)
    if not isinstance(paused, dict):
        return None
    state.interview, state.step = paused.get("interview"), paused.get("step")
    state.answers, state.trail = dict(paused.get("answers") or {}), list(paused.get("trail") or [])
    state.editing = bool(paused.get("editing"))
    for key, name in ((FLAGS, "flags"), ("media", "media")):
        if paused.get(name) is not None:
            state.extra[key] = paused[name]
    return current(turn)


def nav_row(turn: Turn, *, optional: bool, back: bool, interview: Interview | None = None) -> tuple[Button, ...]:
    row = []
    if optional:
        row.append(turn.button("nav.skip", data("nav", "skip")))
    if back:
        row.append(turn.button("nav.back", data("nav", "back")))
    cancel = interview.cancel(turn) if interview is not None and interview.cancel else data("nav", "cancel")
    row.append(turn.button("nav.cancel", cancel))
    return tuple(row)


def question(turn: Turn, interview: Interview, step: Step) -> str:
    return step.ask(turn, turn.state.answers) if callable(step.ask) else turn.t(step.ask)


def prompt(turn: Turn, interview: Interview, key: str, *, lead: str | None = None) -> Reply:
    """The message that asks a step; `lead` goes first (an error, or a note)."""
    if key == CONFIRM:
        return summary(turn, interview, lead=lead)
    if key == EDIT:
        return edit_menu(turn, interview, lead=lead)
    step = interview.step(key)
    if needs_sensitive_consent(turn, step):
        return sensitive_notice(turn, interview, step, lead=lead)
    parts = [lead] if lead else []
    parts.append(question(turn, interview, step))
    if turn.state.editing and key in turn.state.answers and turn.state.answers[key] is not None:
        parts.append(turn.t("engine.current_answer", answer=step.expects.show(turn, turn.state.answers[key])))
    if turn.state.fails >= FAILS_BEFORE_HELP:
        parts.append(turn.t("engine.fails_optional" if step.optional else "engine.fails_help"))
    choices = step.expects.buttons(turn)
    rows = [tuple(r) for r in choices]
    if turn.state.fails >= FAILS_BEFORE_HELP and not step.optional:
        rows.append((turn.button("engine.talk_to_person", "help:person"),))
    if interview.nav:
        rows.append(nav_row(turn, optional=step.optional, back=bool(turn.state.trail), interview=interview))
    request = step.expects.request
    return Reply(
        text="\n\n".join(parts),
        buttons=tuple(rows),
        typed=not choices or bool(getattr(step.expects, "typed", False)),
        request=request,
        request_label=turn.t(f"request.{request}") if request else None,
    )


def label_of(interview: Interview, step: Step) -> str:
    return step.label or f"{interview.name}.{step.key}.label"


def summary(turn: Turn, interview: Interview, *, lead: str | None = None) -> Reply:
    lines = [lead] if lead else []
    lines.append(turn.t("engine.summary_title", title=turn.t(interview.title)))
    for step in interview.applicable(turn.state.answers):
        if not step.in_summary:
            continue
        value = turn.state.answers.get(step.key)
        shown = turn.t("engine.skipped") if value is None else step.expects.show(turn, value)
        lines.append(f"• {turn.t(label_of(interview, step))}: {shown}")
    lines.append(turn.t("engine.summary_hint"))
    rows = (
        (turn.button("engine.submit", "nav:submit"), turn.button("engine.edit", "nav:edit")),
        (turn.button("nav.back", "nav:back"), turn.button("nav.cancel", "nav:cancel")),
    )
    # It repeats every answer (sensitive ones, free text as typed): its outbox row is sealed at rest (issue #16).
    return Reply(text="\n".join(lines), buttons=rows, sensitive=True)


def edit_menu(turn: Turn, interview: Interview, *, lead: str | None = None) -> Reply:
    steps = [s for s in interview.applicable(turn.state.answers) if s.in_summary]
    cells = [Button(turn.t(label_of(interview, s)), f"edit:{s.key}") for s in steps]
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append((turn.button("engine.back_to_summary", "nav:summary"),))
    text = turn.t("engine.edit_which")
    return Reply(text=f"{lead}\n\n{text}" if lead else text, buttons=tuple(rows))


def flags(turn: Turn) -> dict[str, Any]:
    marks: dict[str, Any] = turn.state.extra.setdefault(FLAGS, {})
    return marks


def mark_urgent(turn: Turn) -> None:
    """A message of the running interview signalled danger: the ticket it opens is urgent."""
    if turn.state.interview is not None:
        flags(turn)["urgent"] = True


def mark_domestic(turn: Turn) -> None:
    """A message of the running interview spoke of domestic violence: its ticket goes to the police and the court."""
    if turn.state.interview is not None:
        flags(turn)["domestic"] = True


def needs_sensitive_consent(turn: Turn, step: Step) -> bool:
    return step.sensitive and turn.person.sensitive_consent_at is None


def sensitive_notice(turn: Turn, interview: Interview, step: Step, *, lead: str | None = None) -> Reply:
    """The separate consent before sensitive personal information (PIPL Art. 28, 29), asked once per person."""
    parts = [lead] if lead else []
    parts.append(turn.t("sensitive.notice", what=turn.t(label_of(interview, step))))
    rows = (
        (turn.button("sensitive.agree", "sensitive:agree"), turn.button("sensitive.decline", "sensitive:decline")),
        nav_row(turn, optional=False, back=bool(turn.state.trail)),
    )
    return Reply(text="\n\n".join(parts), buttons=rows)


def _arrive(turn: Turn, interview: Interview, key: str) -> str:
    """Past the optional sensitive steps once the citizen declined sensitive data in this interview."""
    state = turn.state
    while key not in (CONFIRM, EDIT) and not state.editing and flags(turn).get("sensitive_declined"):
        step = interview.step(key)
        if not (step.optional and needs_sensitive_consent(turn, step)):
            break
        state.answers[key] = None
        key = interview.next_after(key, state.answers, editing=False)
    return key


def go_to(turn: Turn, interview: Interview, key: str, *, lead: str | None = None, remember: bool = True) -> None:
    key = _arrive(turn, interview, key)
    if remember and turn.state.step and turn.state.step != key and turn.state.step not in (EDIT,):
        turn.state.trail.append(turn.state.step)
    turn.state.step = key
    turn.state.fails = 0
    turn.reply(prompt(turn, interview, key, lead=lead))


def begin(turn: Turn, interview: Interview, *, context: dict[str, Any] | None = None, lead: str | None = None) -> None:
    """Start afresh; `context` (keys starting with "_") reaches on_done beside the answers. A transient form pauses
    the (non-transient) interview in progress; any other start drops what was paused."""
    running = current(turn)
    if interview.transient:
        if running is not None and not running.transient:
            _pause(turn)
    else:
        turn.state.extra.pop(PAUSED, None)
        leave_relay(turn)
    turn.state.clear()
    turn.state.extra.pop("media", None)
    turn.state.extra[FLAGS] = {"context": dict(context or {}), "since": turn.now.isoformat()}
    turn.state.interview = interview.name
    first = _arrive(turn, interview, interview.next_after(None, {}, editing=False))
    leads = [text for text in (lead, turn.t(interview.intro) if interview.intro else None) if text]
    turn.state.step = first
    turn.reply(prompt(turn, interview, first, lead="\n\n".join(leads) or None))


def reask(turn: Turn, interview: Interview, lead: str | None = None) -> None:
    turn.reply(prompt(turn, interview, turn.state.step or CONFIRM, lead=lead))


async def answer(turn: Turn, interview: Interview) -> None:
    """Read the citizen's input for the current step; bad input gets the reason and the same step again."""
    state = turn.state
    key = state.step or CONFIRM
    if key in (CONFIRM, EDIT):
        state.fails += 1
        reask(turn, interview, lead=turn.t("engine.use_buttons"))
        return
    step = interview.step(key)
    if needs_sensitive_consent(turn, step):
        choice = SENSITIVE_CHOICE.parse(turn, turn.incoming)
        if isinstance(choice, Accepted):
            await sensitive_consent(turn, interview, str(choice.value))
            return
        state.fails += 1
        reask(turn, interview, lead=turn.t("engine.use_buttons"))
        return
    parsed = step.expects.parse(turn, turn.incoming)
    if isinstance(parsed, Rejected):
        state.fails += 1
        reask(turn, interview, lead=turn.t(parsed.msgid, **parsed.params))
        return
    if isinstance(parsed, Partial):
        turn.say(parsed.msgid, **parsed.params)
        return
    assert isinstance(parsed, Accepted)
    if parsed.note:
        turn.say(parsed.note)
    await accept(turn, interview, step, parsed.value)


async def accept(turn: Turn, interview: Interview, step: Step, value: Any) -> None:
    state = turn.state
    changed = state.answers.get(step.key, _MISSING) != value
    state.answers[step.key] = value
    state.extra.pop("media", None)
    if changed:
        for key in step.clears:
            state.answers.pop(key, None)
    note = dict(step.notes).get(value) if isinstance(value, str) else None
    if note:
        turn.say(note)
    following = interview.next_after(step.key, state.answers, state.editing)
    if following == CONFIRM and not interview.confirm:
        await _finish(turn, interview)
        return
    go_to(turn, interview, following)


async def sensitive_consent(turn: Turn, interview: Interview, answer: str) -> None:
    """Agree: remembered on the person, asked never again. Decline: the optional sensitive steps are skipped."""
    key = turn.state.step
    if key in (None, CONFIRM, EDIT) or not interview.step(key).sensitive:
        reask(turn, interview, lead=turn.t("input.stale_button"))
        return
    step = interview.step(key)
    if answer == "agree":
        turn.person.sensitive_consent_at = turn.person.sensitive_consent_at or turn.now
        flags(turn).pop("sensitive_declined", None)
        turn.state.fails = 0
        reask(turn, interview, lead=turn.t("sensitive.thanks"))
    elif answer == "decline" and needs_sensitive_consent(turn, step):
        flags(turn)["sensitive_declined"] = True
        if step.optional:
            turn.say("sensitive.declined")
            await accept(turn, interview, step, None)
        else:
            reask(turn, interview, lead=turn.t("sensitive.required"))
    else:
        reask(turn, interview, lead=turn.t("input.stale_button"))


async def skip(turn: Turn, interview: Interview) -> None:
    key = turn.state.step
    if key in (None, CONFIRM, EDIT) or not interview.step(key).optional:
        reask(turn, interview, lead=turn.t("engine.cannot_skip"))
        return
    await accept(turn, interview, interview.step(key), None)


def back(turn: Turn, interview: Interview) -> None:
    state = turn.state
    if not state.trail:
        reask(turn, interview, lead=turn.t("engine.at_first_step"))
        return
    previous = state.trail.pop()
    state.step, state.fails = previous, 0
    turn.reply(prompt(turn, interview, previous))


def open_editor(turn: Turn, interview: Interview) -> None:
    if turn.state.step not in (CONFIRM, EDIT):
        reask(turn, interview, lead=turn.t("input.stale_button"))
        return
    turn.state.step = EDIT
    turn.reply(edit_menu(turn, interview))


def edit(turn: Turn, interview: Interview, key: str) -> None:
    valid = {s.key for s in interview.applicable(turn.state.answers) if s.in_summary}
    if turn.state.step not in (CONFIRM, EDIT) or key not in valid:
        reask(turn, interview, lead=turn.t("input.stale_button"))
        return
    turn.state.editing = True
    turn.state.step, turn.state.fails = key, 0
    turn.reply(prompt(turn, interview, key))


def show_summary(turn: Turn, interview: Interview) -> None:
    """Only from the editor: an old "back to the summary" button must not skip the steps still unanswered."""
    if turn.state.step not in (CONFIRM, EDIT):
        reask(turn, interview, lead=turn.t("input.stale_button"))
        return
    unanswered = interview.next_after(None, turn.state.answers, editing=True)
    if unanswered != CONFIRM:
        go_to(turn, interview, unanswered)
        return
    turn.state.step = CONFIRM
    turn.reply(summary(turn, interview))


async def submit(turn: Turn, interview: Interview) -> None:
    if turn.state.step != CONFIRM:
        reask(turn, interview, lead=turn.t("input.stale_button"))
        return
    unanswered = interview.next_after(None, turn.state.answers, editing=True)
    if unanswered != CONFIRM:
        go_to(turn, interview, unanswered, lead=turn.t("input.stale_button"))
        return
    await _finish(turn, interview)


async def _finish(turn: Turn, interview: Interview) -> None:
    answers = interview.final_answers(turn.state.answers)
    marks = flags(turn)
    answers.update({k: v for k, v in marks.get("context", {}).items() if k.startswith("_")})
    if marks.get("urgent"):
        answers[URGENT] = True
    if marks.get("domestic"):
        answers[DOMESTIC] = True
    answers[SENSITIVE] = tuple(step.key for step in interview.steps if step.sensitive)
    resumed = leave(turn)
    await interview.on_done(turn, answers)
    if resumed is not None and turn.state.interview == resumed.name:
        reask(turn, resumed)  # the interview the form paused goes on where it stood
