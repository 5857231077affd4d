"""The one submit every ticket interview ends with: a public number, a unit, the sealed phone, the first event, the
TicketOpened its subscribers act on, and the citizen's receipt with the promised deadlines.

Every answer the citizen gave is kept on the ticket, so the officer sees all of it: the phone and the ID number
sealed apart, the answers of steps marked sensitive sealed together (details_sealed; read back through
`uow.tickets.answers`), the rest in its details — free text with phone, ID and card numbers masked, the original
sealed beside it (issue #16; PIPL Art. 28, 51).

A ticket whose interview spoke of domestic violence is urgent and goes to the
police (routing category `domestic_violence`), with the court that decides protection orders told at once
(`protection_order`) — not to mediation (Anti-Domestic Violence Law, Art. 23, 28)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from handlers.conversation.engine import DOMESTIC, SENSITIVE, URGENT
from handlers.conversation.interview import Answers
from handlers.conversation.personal import conceal
from handlers.conversation.places import township_of
from handlers.conversation.turn import Turn
from handlers.conversation.words import unit_label
from handlers.followups.ladder import promise, set_deadlines
from handlers.tickets.events import TicketOpened
from handlers.tickets.routing import route
from storage.crypto import mask_phone
from storage.models import Ticket, TicketEvent


@dataclass(frozen=True)
class NewTicket:
    kind: str
    category: str
    county: str | None
    summary: str
    township: str | None = None
    phone: str | None = None
    id_number: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    sealed: dict[str, Any] = field(default_factory=dict)  # answers of sensitive steps
    originals: dict[str, str] = field(default_factory=dict)  # free text as typed, where the ticket holds it masked
    urgent: bool = False
    domestic: bool = False


# Routing categories of a domestic-violence ticket, whatever its kind: who handles it, and who is told as well.
DOMESTIC_VIOLENCE = "domestic_violence"
PROTECTION_ORDER = "protection_order"
KEEPS_ITS_UNIT = ("legal_aid", "relief")  # a request for a lawyer or for relief stays where it is; police are told
COPIED = "copied_units"  # details key: units told of the ticket beside the one that holds it
SUMMARY_KEY = "_summary"  # details key: which answer is the ticket's summary (kept there, not twice)
CATEGORY_KEY = "_category"  # details key: which answer chose its category, when one did
KEPT_APART = ("phone", "id_number")  # sealed on the ticket, never among its details


def day_start(turn: Turn) -> datetime:
    local_midnight = datetime.combine(turn.local(turn.now).date(), time(0), tzinfo=turn.rules.zone)
    return local_midnight


async def over_daily_cap(turn: Turn) -> bool:
    count = await turn.uow.tickets.count_created_since(turn.person.id, day_start(turn))
    return count >= turn.rules.max_tickets_per_day


async def open_ticket(turn: Turn, new: NewTicket) -> Ticket:
    uow, cipher = turn.uow, turn.uow.cipher
    day = turn.local(turn.now).strftime("%Y%m%d")
    number = await uow.tickets.next_number(turn.rules.ticket_prefix, day)
    unit = await route(uow, new.kind, new.category, new.county, new.township)
    details = dict(new.details)
    if new.domestic:
        police = await route(uow, new.kind, DOMESTIC_VIOLENCE, new.county, None)
        court = await route(uow, new.kind, PROTECTION_ORDER, new.county, None)
        told = [court]
        if new.kind in KEEPS_ITS_UNIT:
            told.insert(0, police)
        else:
            unit = police or unit
        details["domestic_violence"] = True
        copied = [u.id for u in told if u is not None and (unit is None or u.id != unit.id)]
        if copied:
            details[COPIED] = copied
    ticket = Ticket(
        number=number,
        kind=new.kind,
        category=new.category,
        county=new.county,
        township=new.township,
        status="new",
        urgent=new.urgent or new.domestic,
        citizen_id=turn.person.id,
        unit_id=unit.id if unit else None,
        summary=new.summary,
        details=details,
        attachments=[],
        locale=turn.locale,
        created_at=turn.now,
        updated_at=turn.now,
    )
    if new.phone:
        ticket.phone_sealed = cipher.encrypt(new.phone)
        ticket.phone_hash = cipher.lookup_hash(new.phone)
        ticket.phone_masked = mask_phone(new.phone)
    if new.id_number:
        ticket.id_number_sealed = cipher.encrypt(new.id_number)
        ticket.id_number_hash = cipher.lookup_hash(new.id_number)
    uow.tickets.seal(ticket, new.sealed, new.originals)
    uow.tickets.attach(ticket, new.attachments)
    set_deadlines(turn.rules.deadlines, ticket, turn.now)
    await uow.tickets.add(ticket)
    await uow.tickets.append_event(
        TicketEvent(
            ticket_id=ticket.id,
            actor_person_id=turn.person.id,
            action="created",
            from_status=None,
            to_status="new",
            citizen_visible=True,
            created_at=turn.now,
        )
    )
    await uow.record(TicketOpened(ticket, unit))  # the ladder and the unit's alerts subscribe
    receipt = turn.t("ticket.created", number=number, unit=unit_label(turn.translator, turn.locale, unit))
    turn.reply(f"{receipt}\n\n{promise(turn.translator, turn.locale, turn.rules.deadlines, ticket)}")
    return ticket


@dataclass(frozen=True)
class Opens:
    """How an interview's answers become a ticket: the answers that name its category and summary, the one whose
    files become its attachments, what more it carries (a legal-aid assessment), and what it says after the receipt.
    Every other answer is kept among its details (never the phone or ID number: they are sealed apart), sealed when
    its step is sensitive, with numbers masked when it is text; what `more` adds is sealed (it is read from them)."""

    kind: str
    category: str | Callable[[Answers], str] = "category"
    summary: str = "description"
    attachments: str | None = None
    township: bool = False
    more: Callable[[Answers], dict[str, Any]] | None = None
    then: Callable[[Turn, Answers], None] | None = None

    def ticket(self, answers: Answers) -> NewTicket:
        county = answers.get("county")
        apart = {*KEPT_APART, self.attachments, self.summary}
        sensitive = set(answers.get(SENSITIVE) or ())
        given = {k: v for k, v in answers.items() if not k.startswith("_") and k not in apart and v is not None}
        sealed = {k: v for k, v in given.items() if k in sensitive}
        kept: dict[str, Any] = {}
        originals: dict[str, str] = {}
        for key, value in given.items():
            if key in sensitive:
                continue
            kept[key] = value
            if isinstance(value, str):
                kept[key], original = conceal(value)
                if original is not None:
                    originals[key] = original
        summary, original = conceal(str(answers.get(self.summary) or ""))
        if original is not None:
            originals[self.summary] = original
        kept[SUMMARY_KEY] = self.summary
        if isinstance(self.category, str):
            kept[CATEGORY_KEY] = self.category
        return NewTicket(
            kind=self.kind,
            category=self.category(answers) if callable(self.category) else answers[self.category],
            county=county,
            township=township_of(county, answers.get("township")) if self.township else None,
            summary=summary,
            phone=answers.get("phone"),
            id_number=answers.get("id_number"),
            details=kept,
            sealed={**sealed, **(self.more(answers) if self.more else {})},
            originals=originals,
            attachments=list(answers.get(self.attachments) or []) if self.attachments else [],
            urgent=bool(answers.get(URGENT)),
            domestic=bool(answers.get(DOMESTIC)),
        )


def submitting(opens: Opens) -> Callable[[Turn, Answers], Awaitable[None]]:
    """The one submit of every ticket interview."""

    async def submit(turn: Turn, answers: Answers) -> None:
        await open_ticket(turn, opens.ticket(answers))
        if opens.then is not None:
            opens.then(turn, answers)

    return submit
