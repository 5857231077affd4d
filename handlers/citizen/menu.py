"""What a citizen can do outside an interview's steps: the menu, help, consent, language, commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.citizen import mytickets
from handlers.conversation import engine
from handlers.conversation.i18n import SUPPORTED
from handlers.conversation.menu import main_menu
from handlers.conversation.messages import Button, Reply
from handlers.conversation.turn import Turn
from handlers.interviews import INTERVIEWS
from handlers.interviews.submit import over_daily_cap
from handlers.staff import desk as officers

Command = Callable[[Turn, str], Awaitable[None]]


def privacy_notice(turn: Turn) -> Reply:
    return Reply(
        text=turn.t("consent.notice"),
        buttons=(
            (
                turn.button("consent.agree", "consent:agree"),
                turn.button("consent.decline", "consent:decline"),
            ),
        ),
    )


async def start(turn: Turn, args: str) -> None:
    if turn.person.consent_at is None:
        turn.say("welcome")
        turn.reply(privacy_notice(turn))
        return
    turn.reply(main_menu(turn, lead=turn.t("welcome")))


async def show_menu(turn: Turn, args: str = "") -> None:
    turn.reply(main_menu(turn))


async def show_help(turn: Turn, args: str = "") -> None:
    turn.reply(main_menu(turn, lead=turn.t("help.text")))


async def cancel(turn: Turn, args: str = "") -> None:
    if engine.current(turn) is None:
        turn.reply(main_menu(turn, lead=turn.t("cancel.nothing")))
        return
    turn.state.clear()
    turn.reply(main_menu(turn, lead=turn.t("cancel.done")))


async def back(turn: Turn, args: str = "") -> None:
    interview = engine.current(turn)
    if interview is None:
        turn.reply(main_menu(turn))
        return
    engine.back(turn, interview)


def language_menu(turn: Turn) -> Reply:
    return Reply(
        text=turn.t("lang.choose"),
        buttons=(tuple(Button(turn.translator(code, "lang.name"), f"lang:{code}") for code in SUPPORTED),),
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
    turn.say("lang.set", name=turn.t("lang.name"))
    interview = engine.current(turn)
    if interview is not None:
        engine.reask(turn, interview)
    else:
        turn.reply(main_menu(turn))


async def status(turn: Turn, args: str = "") -> None:
    await mytickets.show_list(turn, args)


async def begin_interview(turn: Turn, name: str) -> None:
    """`menu:<name>` starts an interview; with another one half filled in, it asks first (`menu:<name>:new`)."""
    name, _, force = name.partition(":")
    interview = INTERVIEWS.get(name)
    if interview is None or not interview.in_menu:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))
        return
    started = engine.current(turn)
    if started is not None and turn.state.answers and force != "new":
        turn.reply(
            Reply(
                text=turn.t("menu.switch", title=turn.t(started.title), new=turn.t(interview.title)),
                buttons=(
                    (turn.button("menu.keep", "menu:continue"),),
                    (turn.button("menu.drop", f"menu:{name}:new"),),
                ),
            )
        )
        return
    if interview.needs_consent and turn.person.consent_at is None:
        turn.state.pending = name
        turn.reply(privacy_notice(turn))
        return
    if interview.kind and await over_daily_cap(turn):
        turn.reply(main_menu(turn, lead=turn.t("ticket.daily_cap", limit=turn.rules.max_tickets_per_day)))
        return
    engine.begin(turn, interview)


async def consent(turn: Turn, answer: str) -> None:
    if answer == "agree":
        turn.person.consent_at = turn.now
        turn.person.consent_declined = False
        pending, turn.state.pending = turn.state.pending, None
        turn.say("consent.thanks")
        if pending:
            await begin_interview(turn, pending)
        else:
            turn.reply(main_menu(turn))
        return
    turn.person.consent_declined = True
    turn.state.pending = None
    turn.reply(main_menu(turn, lead=turn.t("consent.declined")))


COMMANDS: dict[str, Command] = {
    "/start": start,
    "/menu": show_menu,
    "/help": show_help,
    "/cancel": cancel,
    "/back": back,
    "/lang": choose_language,
    "/status": status,
    "/join": officers.join,
    "/duty": officers.duty,
    "/overview": officers.overview,
    "/invite": officers.invite,
}
