"""The citizen's way around: /start, the main menu, language, starting an interview from the menu (after consent
and within the daily cap), and the answers to the privacy notice."""

from __future__ import annotations

from handlers.citizen import consent, mytickets
from handlers.conversation import engine
from handlers.conversation.buttons import Data, data
from handlers.conversation.i18n import SUPPORTED
from handlers.conversation.interview import Interview
from handlers.conversation.menu import main_menu
from handlers.conversation.messages import Button, Reply
from handlers.conversation.turn import Turn
from handlers.interviews.submit import over_daily_cap


async def start(turn: Turn, args: str = "") -> None:
    if turn.person.consent_at is None:
        turn.say("welcome")
        turn.reply(consent.privacy_notice(turn))
        return
    turn.reply(main_menu(turn, lead=turn.t("welcome")))


async def show_menu(turn: Turn, args: str = "") -> None:
    turn.reply(main_menu(turn))


def language_menu(turn: Turn) -> Reply:
    return Reply(
        text=turn.t("lang.choose"),
        buttons=(tuple(Button(turn.translator(code, "lang.name"), data("lang", code)) for code in SUPPORTED),),
    )


async def choose_language(turn: Turn, args: str = "") -> None:
    wanted = args.replace("-", "_")
    matches = [code for code in SUPPORTED if code.lower() == wanted.lower() or code.split("_")[0] == wanted.lower()]
    if matches:
        await set_language(turn, matches[0])
        return
    turn.reply(language_menu(turn))


async def set_language(turn: Turn, code: str) -> None:
    if code not in SUPPORTED:
        turn.reply(language_menu(turn))
        return
    turn.person.locale = code
    turn.reply(Reply(text=turn.t("lang.set", name=turn.t("lang.name")), locale=code))  # the page's words follow
    interview = engine.current(turn)
    if interview is not None:
        engine.reask(turn, interview)
    else:
        turn.reply(main_menu(turn))


async def on_language(turn: Turn, pressed: Data) -> None:
    await set_language(turn, pressed.part(0))


async def status(turn: Turn, args: str = "") -> None:
    await mytickets.show_list(turn, args)


def _menu_interview(turn: Turn, name: str) -> Interview | None:
    found = turn.interviews.get(name)
    return found if isinstance(found, Interview) and found.in_menu else None


async def begin_interview(turn: Turn, name: str, force: str = "") -> None:
    """`menu:<name>` starts an interview; with another one half filled in, it asks first (`menu:<name>:new`)."""
    interview = _menu_interview(turn, name)
    if interview is None:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))
        return
    started = engine.current(turn)
    if started is not None and turn.state.answers and force != "new":
        turn.reply(
            Reply(
                text=turn.t("menu.switch", title=turn.t(started.title), new=turn.t(interview.title)),
                buttons=(
                    (turn.button("menu.keep", data("menu", "continue")),),
                    (turn.button("menu.drop", data("menu", name, "new")),),
                ),
            )
        )
        return
    if interview.needs_consent and turn.person.consent_at is None:
        turn.state.pending = name
        turn.reply(consent.privacy_notice(turn))
        return
    if interview.kind and await over_daily_cap(turn):
        turn.reply(main_menu(turn, lead=turn.t("ticket.daily_cap", limit=turn.rules.max_tickets_per_day)))
        return
    engine.begin(turn, interview)


async def on_menu(turn: Turn, pressed: Data) -> None:
    """`menu:continue`, `menu:status`, `menu:lang`, `menu:<interview>[:new]`."""
    choice = pressed.part(0)
    if choice == "continue":
        interview = engine.current(turn)
        if interview is not None:
            engine.reask(turn, interview)
            return
        await show_menu(turn)
    elif choice == "status":
        await status(turn)
    elif choice == "lang":
        await choose_language(turn)
    else:
        await begin_interview(turn, choice, pressed.part(1))


async def on_consent(turn: Turn, pressed: Data) -> None:
    if pressed.part(0) == "agree":
        pending = consent.agree(turn)
        turn.say("consent.thanks")
        if pending:
            await begin_interview(turn, pending)
        else:
            turn.reply(main_menu(turn))
        return
    withdrawn = consent.decline(turn)
    turn.reply(main_menu(turn, lead=turn.t("consent.withdrawn" if withdrawn else "consent.declined")))
