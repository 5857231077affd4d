"""Where an Incoming goes: emergency first, then commands, then buttons, then the interview, else the menu."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.citizen import menu as citizen
from handlers.citizen import mytickets
from handlers.citizen import rating as satisfaction
from handlers.conversation import engine
from handlers.conversation.emergency import first_aid
from handlers.conversation.engine import Interview
from handlers.conversation.menu import main_menu
from handlers.conversation.turn import Subscribers, Turn
from handlers.followups import ladder
from handlers.interviews import INTERVIEWS as TICKET_INTERVIEWS
from handlers.outreach import broadcasts, guide, subscriptions
from handlers.outreach.compose import COMPOSE
from handlers.staff import alerts
from handlers.staff import desk as officers
from handlers.tickets.events import StatusChanged, TicketOpened

Action = Callable[[Turn, str], Awaitable[None]]

# Every interview the desk runs, by name, in menu order: the ticket kinds first, then the flows opened from elsewhere.
INTERVIEWS: dict[str, Interview] = {
    i.name: i for i in (*TICKET_INTERVIEWS.values(), mytickets.TICKET_NOTE, mytickets.TICKET_CANCEL, COMPOSE)
}

# Who hears of what happened to a ticket, in order, inside the same transaction.
SUBSCRIBERS: Subscribers = {
    TicketOpened: (ladder.on_ticket_opened, alerts.on_ticket_opened),
    StatusChanged: (ladder.on_status_changed,),
}


async def _menu(turn: Turn, arg: str) -> None:
    if arg == "continue":
        interview = engine.current(turn)
        if interview is not None:
            engine.reask(turn, interview)
            return
        await citizen.show_menu(turn)
    elif arg == "status":
        await citizen.status(turn)
    elif arg == "lang":
        await citizen.choose_language(turn)
    elif arg == "help":
        await citizen.show_help(turn)
    else:
        await citizen.begin_interview(turn, arg)


async def _nav(turn: Turn, arg: str) -> None:
    interview = engine.current(turn)
    if arg == "cancel":
        await citizen.cancel(turn)
        return
    if interview is None:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))
        return
    if arg == "back":
        engine.back(turn, interview)
    elif arg == "skip":
        await engine.skip(turn, interview)
    elif arg == "submit":
        await engine.submit(turn, interview)
    elif arg == "edit":
        engine.open_editor(turn, interview)
    elif arg == "summary":
        engine.show_summary(turn, interview)
    else:
        engine.reask(turn, interview, lead=turn.t("input.stale_button"))


async def _edit(turn: Turn, key: str) -> None:
    interview = engine.current(turn)
    if interview is None:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))
        return
    engine.edit(turn, interview, key)


async def _consent(turn: Turn, arg: str) -> None:
    await citizen.consent(turn, arg)


async def _sensitive(turn: Turn, arg: str) -> None:
    interview = engine.current(turn)
    if interview is None:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))
        return
    await engine.sensitive_consent(turn, interview, arg)


async def _lang(turn: Turn, arg: str) -> None:
    await citizen.set_language(turn, arg)


async def _help(turn: Turn, arg: str) -> None:
    turn.say("help.person")
    interview = engine.current(turn)
    if interview is not None:
        engine.reask(turn, interview)


ACTIONS: dict[str, Action] = {
    "menu": _menu,
    "nav": _nav,
    "edit": _edit,
    "consent": _consent,
    "lang": _lang,
    "help": _help,
    "rate": satisfaction.on_press,
    "sensitive": _sensitive,
    "my": mytickets.act,
    "t": officers.on_button,
    "guide": guide.act,
    "sub": subscriptions.act,
    "bc": broadcasts.act,
}

# Issue #7: the service guide, subscriptions, broadcasts (citizen.COMMANDS cannot name them: they show its menu).
OUTREACH_COMMANDS: dict[str, Action] = {
    "/guide": guide.command,
    "/subscribe": subscriptions.command,
    "/unsubscribe": subscriptions.stop_all,
    "/broadcast": broadcasts.compose,
    "/broadcasts": broadcasts.show_list,
}


async def dispatch(turn: Turn) -> None:
    incoming = turn.incoming
    first_aid(turn)
    command = incoming.command
    if command is not None:
        name, args = command
        if officers.on_command(turn, name):
            return
        handler = citizen.COMMANDS.get(name) or OUTREACH_COMMANDS.get(name)
        if handler is None:
            turn.reply(main_menu(turn, lead=turn.t("command.unknown", command=name[:32])))
            return
        await handler(turn, args)
        return
    if incoming.choice is not None and ":" in incoming.choice:
        prefix, _, arg = incoming.choice.partition(":")
        action = ACTIONS.get(prefix)
        if action is not None:
            await action(turn, arg)
            return
    if await officers.take_text(turn):
        return
    if await satisfaction.take_comment(turn):
        return
    interview = engine.current(turn)
    if interview is not None:
        await engine.answer(turn, interview)
        return
    if incoming.text and incoming.choice is None and await guide.answer_query(turn, incoming.text):
        return  # a free text that reads like a search gets the guide's cards, then the menu
    if turn.person.consent_at is None and not turn.person.consent_declined:
        await citizen.start(turn, "")
        return
    lead = turn.t("input.stale_button") if incoming.choice is not None else None
    turn.reply(main_menu(turn, lead=lead))
