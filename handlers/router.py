"""Where an Incoming goes: the emergency check first, then commands, then buttons by prefix, then free text — the
hooks that may take it, the interview in progress, the hooks for text outside an interview — else the menu.

Each capability says what it answers once (its Routes); they are included here in order, which is their priority.
The same list of commands makes /help and the channels' command menus; the interviews of every capability make the
table the engine runs from; SUBSCRIBERS say who hears of what happened to a ticket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from handlers.citizen.consent import privacy_notice
from handlers.citizen.routes import ROUTES as CITIZEN
from handlers.conversation import engine
from handlers.conversation.buttons import Data
from handlers.conversation.emergency import first_aid
from handlers.conversation.interview import Interview
from handlers.conversation.menu import main_menu
from handlers.conversation.routes import ButtonRun, Command, CommandRun, Routes, TextHook
from handlers.conversation.turn import Subscribers, Turn
from handlers.followups import ladder
from handlers.interviews import INTERVIEWS as TICKET_INTERVIEWS
from handlers.ledger import routes as ledger
from handlers.ledger.routes import ROUTES as LEDGER
from handlers.outreach.routes import ROUTES as OUTREACH
from handlers.staff import alerts
from handlers.staff.routes import ROUTES as STAFF
from handlers.tickets.events import StatusChanged, TicketOpened
from handlers.tickets.policy import actor_for, allows, staff_actor

# Buttons that move inside the form in progress; any other button, and any command but /cancel, leaves a transient
# form (an officer's note, a rating comment) and gives back what it had paused.
FORM_BUTTONS: Final = frozenset({"nav", "edit", "sensitive"})
# Buttons that turn the citizen to something else: like any command, they end talking to an officer (the relay).
LEAVES_RELAY: Final = frozenset({"menu", "guide", "sub", "help", "lang", "my"})


async def show_help(turn: Turn, args: str = "") -> None:
    """Every command this person may use, with what it does, from the one list of commands."""
    actor = await actor_for(turn.uow, turn.person.id)
    lines = [turn.t("help.text")]
    for command in COMMANDS:
        if command.listed and (command.action is None or allows(actor, command.action)):
            lines.append(f"{command.text} {turn.t(f'command.{command.name}')}")
    lines.append(turn.t("help.emergency"))
    turn.reply(main_menu(turn, lead="\n".join(lines)))


async def on_help(turn: Turn, pressed: Data) -> None:
    """`help:show` from the menu; `help:person` after failed answers: how to reach a person, and the step again."""
    if pressed.part(0) == "person":
        turn.say("help.person")
        interview = engine.current(turn)
        if interview is not None:
            engine.reask(turn, interview)
        return
    await show_help(turn)


HELP: Final = Routes(commands=(Command("help", show_help),), buttons={"help": on_help})
INCLUDED: Final[Sequence[Routes]] = (CITIZEN, HELP, OUTREACH, STAFF, LEDGER)

COMMANDS: Final[tuple[Command, ...]] = tuple(c for routes in INCLUDED for c in routes.commands)
_BY_NAME: Final[dict[str, CommandRun]] = {c.text: c.run for c in reversed(COMMANDS)}  # the first included wins
BUTTONS: Final[dict[str, ButtonRun]] = {k: v for routes in reversed(INCLUDED) for k, v in routes.buttons.items()}
_TEXT: Final[tuple[TextHook, ...]] = tuple(hook for routes in INCLUDED for hook in routes.text)
_FALLBACK: Final[tuple[TextHook, ...]] = tuple(hook for routes in INCLUDED for hook in routes.fallback)

# Every interview the desk runs, by name, in menu order: the ticket kinds first, then the flows opened from elsewhere.
INTERVIEWS: Final[dict[str, Interview]] = {
    i.name: i for i in (*TICKET_INTERVIEWS.values(), *(i for routes in INCLUDED for i in routes.interviews))
}

# Who hears of what happened to a ticket, in order, inside the same transaction.
SUBSCRIBERS: Final[Subscribers] = {
    TicketOpened: (ladder.on_ticket_opened, alerts.on_ticket_opened, *ledger.ON_TICKET_OPENED),
    StatusChanged: (ladder.on_status_changed, *ledger.ON_STATUS_CHANGED),
}


def menu_for(role: str | None) -> tuple[str, ...]:
    """The commands a chat's menu shows: everyone's, plus those a staff role's policy allows (an unknown role gets
    an officer's). A menu never offers what the policy refuses, and /help says the same."""
    actor = staff_actor(role) if role is not None else None
    return tuple(
        c.name for c in COMMANDS if c.listed and (c.action is None or (actor is not None and allows(actor, c.action)))
    )


def _leave_form(turn: Turn) -> None:
    running = engine.current(turn)
    if running is not None and running.transient:
        engine.leave(turn)


async def dispatch(turn: Turn) -> None:
    incoming = turn.incoming
    await first_aid(turn)
    command = incoming.command
    if command is not None:
        name, args = command
        if name != "/cancel":
            _leave_form(turn)
        engine.leave_relay(turn)
        run = _BY_NAME.get(name)
        if run is None:
            turn.reply(main_menu(turn, lead=turn.t("command.unknown", command=name[:32])))
            return
        await run(turn, args)
        return
    if incoming.choice is not None and ":" in incoming.choice:
        pressed = Data.read(incoming.choice)
        button = BUTTONS.get(pressed.prefix)
        if button is not None:
            if pressed.prefix not in FORM_BUTTONS:
                _leave_form(turn)
            if pressed.prefix in LEAVES_RELAY:
                engine.leave_relay(turn)
            await button(turn, pressed)
            return
    for hook in _TEXT:
        if await hook(turn):
            return
    interview = engine.current(turn)
    if interview is not None:
        await engine.answer(turn, interview)
        return
    for hook in _FALLBACK:
        if await hook(turn):
            return
    if turn.person.consent_at is None and not turn.person.consent_declined:
        turn.say("welcome")
        turn.reply(privacy_notice(turn))
        return
    lead = turn.t("input.stale_button") if incoming.choice is not None else None
    turn.reply(main_menu(turn, lead=lead))
