"""Moving through an interview with buttons and global commands: back, skip, cancel, submit, edit an answer, and
the answer to the separate consent for sensitive data. Bad or stale presses get the step again."""

from __future__ import annotations

from handlers.conversation import engine
from handlers.conversation.buttons import Data
from handlers.conversation.menu import main_menu
from handlers.conversation.turn import Turn


def _stale(turn: Turn) -> None:
    turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))


async def cancel(turn: Turn, args: str = "") -> None:
    """/cancel: the form in progress is dropped. A short form (an officer's note, a reason) just says so, and the
    interview it had paused comes back; a citizen's interview goes back to the menu."""
    running = engine.current(turn)
    if running is None:
        turn.reply(main_menu(turn, lead=turn.t("cancel.nothing")))
        return
    resumed = engine.leave(turn)
    if resumed is not None:
        engine.reask(turn, resumed, lead=turn.t("desk.aborted"))
    elif running.transient:
        turn.say("desk.aborted")
    else:
        turn.reply(main_menu(turn, lead=turn.t("cancel.done")))


async def back(turn: Turn, args: str = "") -> None:
    interview = engine.current(turn)
    if interview is None:
        turn.reply(main_menu(turn))
        return
    engine.back(turn, interview)


async def on_nav(turn: Turn, pressed: Data) -> None:
    """`nav:cancel|back|skip|submit|edit|summary`."""
    move = pressed.part(0)
    if move == "cancel":
        await cancel(turn)
        return
    interview = engine.current(turn)
    if interview is None:
        _stale(turn)
    elif move == "back":
        engine.back(turn, interview)
    elif move == "skip":
        await engine.skip(turn, interview)
    elif move == "submit":
        await engine.submit(turn, interview)
    elif move == "edit":
        engine.open_editor(turn, interview)
    elif move == "summary":
        engine.show_summary(turn, interview)
    else:
        engine.reask(turn, interview, lead=turn.t("input.stale_button"))


async def on_edit(turn: Turn, pressed: Data) -> None:
    """`edit:<step>` from the editor."""
    interview = engine.current(turn)
    if interview is None:
        _stale(turn)
        return
    engine.edit(turn, interview, pressed.rest(0))


async def on_sensitive(turn: Turn, pressed: Data) -> None:
    """`sensitive:agree|decline` under the notice before a sensitive question."""
    interview = engine.current(turn)
    if interview is None:
        _stale(turn)
        return
    await engine.sensitive_consent(turn, interview, pressed.part(0))
