"""My tickets: the citizen's list with status and next deadline, one ticket's story, adding information, withdrawing.

Only the citizen's own tickets open. A number that does not exist and a ticket of someone else get the very same
answer, so guessing numbers or editing a button's data tells nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.conversation import engine
from handlers.conversation.buttons import Data, data
from handlers.conversation.inputs import Accepted, Parsed, Rejected, Text
from handlers.conversation.interview import Answers, Interview, Step
from handlers.conversation.messages import Button, Incoming, Reply, Request
from handlers.conversation.personal import conceal
from handlers.conversation.turn import Turn
from handlers.conversation.words import category_label, kind_label, label, stamp, status_label
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Actor, allows
from storage.models import Ticket

PREFIX = "my"
LIST_LIMIT = 10
TICKET = "_ticket"  # the context key naming the ticket a follow-up flow is about
NUMBER = re.compile(r"[A-Za-z]{1,8}-\d{8}-\d{4,6}")
# Events this module and ticket opening write for the citizen; others fall back to the label of their new status.
CITIZEN_EVENTS = ("created", "citizen_info", "cancelled_by_citizen")


def next_deadline(turn: Turn, ticket: Ticket) -> str:
    """The next promise the citizen may hold us to: claiming while unclaimed, then the answer."""
    if ticket.status in lifecycle.UNCLAIMED and ticket.claim_due_at is not None:
        return turn.t("mytickets.due.claim", when=stamp(ticket.claim_due_at, turn.rules.zone))
    if ticket.status in lifecycle.OPEN and ticket.due_at is not None:
        return turn.t("mytickets.due.answer", when=stamp(ticket.due_at, turn.rules.zone))
    return turn.t("mytickets.due.none")


async def own_ticket(turn: Turn, ticket_id: int | None, *, for_update: bool = False) -> Ticket | None:
    """The ticket when it is the citizen's own; None when it does not exist or is someone else's."""
    if ticket_id is None:
        return None
    tickets = turn.uow.tickets
    ticket = await (tickets.get_for_update(ticket_id) if for_update else tickets.get(ticket_id))
    return ticket if ticket is not None and _mine(turn, ticket) else None


def _mine(turn: Turn, ticket: Ticket) -> bool:
    """Asked of the one policy, as the citizen (not as staff): only the owner may open it here."""
    return allows(Actor(person_id=turn.person.id), Action.VIEW, ticket)


def menu_row(turn: Turn) -> tuple[Button, ...]:
    return (turn.button("mytickets.back_to_list", data(PREFIX, "list")), turn.button("mytickets.menu", "menu:continue"))


def not_found(turn: Turn) -> None:
    """The one answer for a missing ticket and for another person's ticket."""
    turn.reply(Reply(text=turn.t("mytickets.not_found"), buttons=(menu_row(turn),)))


async def show_list(turn: Turn, args: str = "") -> None:
    """/status, or /status HZ-20261127-0001 to open one ticket by its number."""
    wanted = args.strip()
    if wanted:
        found = await turn.uow.tickets.by_number(wanted.upper()) if NUMBER.fullmatch(wanted) else None
        ticket = found if found is not None and _mine(turn, found) else None
        if ticket is None:
            not_found(turn)
            return
        await show_ticket(turn, ticket)
        return
    tickets = await turn.uow.tickets.of_citizen(turn.person.id, limit=LIST_LIMIT)
    if not tickets:
        turn.reply(Reply(text=turn.t("status.none"), buttons=((turn.button("mytickets.menu", "menu:continue"),),)))
        return
    lines = [turn.t("status.title")]
    for ticket in tickets:
        lines.append(
            turn.t(
                "mytickets.line",
                number=ticket.number,
                kind=kind_label(turn.translator, turn.locale, ticket.kind),
                status=status_label(turn.translator, turn.locale, ticket.status),
                deadline=next_deadline(turn, ticket),
            )
        )
    lines.append(turn.t("mytickets.open_hint"))
    rows = [(Button(ticket.number, data(PREFIX, "open", ticket.id)),) for ticket in tickets]
    rows.append((turn.button("mytickets.menu", "menu:continue"),))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows)))


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    lines = [
        turn.t(
            "mytickets.header",
            number=ticket.number,
            kind=kind_label(turn.translator, turn.locale, ticket.kind),
            category=category_label(turn.translator, turn.locale, ticket.kind, ticket.category),
            status=status_label(turn.translator, turn.locale, ticket.status),
        ),
        turn.t("mytickets.created", when=stamp(ticket.created_at, turn.rules.zone)),
        next_deadline(turn, ticket),
        turn.t("mytickets.story"),
    ]
    files_by_event: dict[int, int] = {}
    for item in ticket.attachments or []:
        if isinstance(item, dict) and isinstance(item.get("event"), int):
            files_by_event[item["event"]] = files_by_event.get(item["event"], 0) + 1
    for event in await turn.uow.tickets.events(ticket.id, citizen_visible_only=True):
        what = label(
            turn.translator,
            turn.locale,
            f"event.{event.action}",
            status_label(turn.translator, turn.locale, event.to_status or ""),
        )
        line = f"• {stamp(event.created_at, turn.rules.zone)}  {what}"
        if event.note:
            line += f": {event.note}"
        if files_by_event.get(event.id):
            line += "  " + turn.t("input.media_count", count=files_by_event[event.id])
        lines.append(line)
    rows: list[tuple[Button, ...]] = []
    actions = []
    if ticket.status not in lifecycle.FINAL:
        actions.append(turn.button("mytickets.add", data(PREFIX, "add", ticket.id)))
    if lifecycle.allowed(ticket.status, lifecycle.CANCELLED):
        actions.append(turn.button("mytickets.cancel", data(PREFIX, "cancel", ticket.id)))
    if actions:
        rows.append(tuple(actions))
    rows.append(menu_row(turn))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows)))


def _busy(turn: Turn) -> bool:
    """A form with answers is in progress: starting another flow would throw those answers away."""
    current = engine.current(turn)
    return current is not None and current.in_menu and bool(turn.state.answers)


async def on_button(turn: Turn, pressed: Data) -> None:
    """Buttons `my:list`, `my:open:<id>`, `my:add:<id>`, `my:cancel:<id>`."""
    verb = pressed.part(0)
    if verb == "list":
        await show_list(turn)
        return
    if verb not in ("open", "add", "cancel"):
        not_found(turn)
        return
    ticket = await own_ticket(turn, pressed.id(1))
    if ticket is None:
        not_found(turn)
        return
    if verb == "open":
        await show_ticket(turn, ticket)
        return
    if _busy(turn):
        turn.reply(
            Reply(
                text=turn.t("mytickets.busy"),
                buttons=((turn.button("menu.continue", "menu:continue"), turn.button("nav.cancel", "nav:cancel")),),
            )
        )
        return
    if verb == "add" and ticket.status not in lifecycle.FINAL:
        engine.begin(turn, TICKET_NOTE, context={TICKET: ticket.id})
    elif verb == "cancel" and lifecycle.allowed(ticket.status, lifecycle.CANCELLED):
        engine.begin(turn, TICKET_CANCEL, context={TICKET: ticket.id})
    else:
        turn.say("mytickets.closed", number=ticket.number)
        await show_ticket(turn, ticket)


@dataclass(frozen=True)
class Note:
    """Added information: a text, or photos / a voice note (with an optional caption)."""

    max_len: int = 2000
    max_files: int = 5
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        if incoming.attachments:
            caption = (incoming.text or "").strip()[: self.max_len] or None
            files = [a.to_dict() for a in incoming.attachments[: self.max_files]]
            return Accepted({"text": caption, "files": files})
        if incoming.location is not None or incoming.contact is not None:
            return Rejected("input.text_expected")
        parsed = Text(min_len=2, max_len=self.max_len).parse(turn, incoming)
        return Accepted({"text": parsed.value, "files": []}) if isinstance(parsed, Accepted) else parsed

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        parts = [str(value.get("text"))] if value.get("text") else []
        if value.get("files"):
            parts.append(turn.t("input.media_count", count=len(value["files"])))
        return " ".join(parts)


async def tell_officer(turn: Turn, ticket: Ticket, msgid: str) -> None:
    """The officer holding the ticket hears of what its citizen did (a message `msgid` naming its number)."""
    if ticket.officer_id is None:
        return
    officer = await turn.uow.officers.get(ticket.officer_id)
    if officer is None:
        return
    await turn.outbox.to_person(
        officer.person_id, lambda locale: Reply(text=turn.translator(locale, msgid, number=ticket.number))
    )


async def add_information(turn: Turn, answers: Answers) -> None:
    ticket = await own_ticket(turn, answers.get(TICKET), for_update=True)
    if ticket is None:
        not_found(turn)
        return
    if ticket.status in lifecycle.FINAL:
        turn.say("mytickets.closed", number=ticket.number)
        return
    info = answers["info"]
    event = await lifecycle.record(
        turn.uow,
        ticket,
        "citizen_info",
        actor_person_id=turn.person.id,
        now=turn.now,
        note=conceal(info["text"])[0] if info.get("text") else None,
        citizen_visible=True,
        original=info.get("text"),
    )
    if info.get("files"):
        turn.uow.tickets.attach(ticket, ({**f, "event": event.id} for f in info["files"]))
    await tell_officer(turn, ticket, "mytickets.alert.info")
    turn.say("mytickets.add.done", number=ticket.number)
    await show_ticket(turn, ticket)


async def withdraw(turn: Turn, answers: Answers) -> None:
    ticket = await own_ticket(turn, answers.get(TICKET), for_update=True)
    if ticket is None:
        not_found(turn)
        return
    try:
        await lifecycle.transition(
            turn.uow,
            ticket,
            lifecycle.CANCELLED,
            actor_person_id=turn.person.id,
            now=turn.now,
            action=lifecycle.CANCELLED_BY_CITIZEN,
            note=conceal(answers["reason"])[0],
            citizen_visible=True,
            original=answers["reason"],
        )
    except lifecycle.IllegalTransition:
        turn.say("mytickets.closed", number=ticket.number)
        return
    await tell_officer(turn, ticket, "mytickets.alert.cancelled")
    turn.say("mytickets.cancel.done", number=ticket.number)
    await show_ticket(turn, ticket)


TICKET_NOTE = Interview(
    name="ticket_note",
    title="mytickets.add.title",
    steps=(Step("info", ask="mytickets.add.ask", expects=Note()),),
    on_done=add_information,
    in_menu=False,
)

TICKET_CANCEL = Interview(
    name="ticket_cancel",
    title="mytickets.cancel.title",
    steps=(Step("reason", ask="mytickets.cancel.ask", expects=Text(min_len=2, max_len=500)),),
    on_done=withdraw,
    in_menu=False,
)
