"""Alerts to a unit's officers about a ticket: what they need to decide to claim it, with the buttons to act."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.turn import Effects
from handlers.conversation.words import category_label, kind_label, place_label, short, unit_label
from handlers.interviews.submit import COPIED
from handlers.tickets.events import TicketOpened
from storage.models import Ticket, Unit


def headline(tr: Translator, locale: str, ticket: Ticket) -> str:
    """Kind, category, place, a short summary and the masked phone: what an officer needs to decide to claim."""
    return tr(
        locale,
        "desk.alert.body",
        number=ticket.number,
        kind=kind_label(tr, locale, ticket.kind),
        category=category_label(tr, locale, ticket.kind, ticket.category),
        place=place_label(tr, locale, ticket),
        summary=short(ticket.summary),
        phone=ticket.phone_masked or tr(locale, "desk.phone.none"),
    )


def alert_buttons(tr: Translator, locale: str, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(tr(locale, "desk.btn.claim"), f"t:claim:{ticket.id}"),
            Button(tr(locale, "desk.btn.view"), f"t:view:{ticket.id}"),
        ),
        (
            Button(tr(locale, "desk.btn.transfer"), f"t:transfer:{ticket.id}"),
            Button(tr(locale, "desk.btn.reject"), f"t:reject:{ticket.id}"),
        ),
    )


async def alert_unit(
    fx: Effects,
    ticket: Ticket,
    unit: Unit | None,
    *,
    lead: str = "desk.alert.new",
    lead_params: Callable[[str], Mapping[str, object]] | None = None,
    skip_person: int | None = None,
) -> int:
    """Tell every active officer of `unit` about `ticket` in their own language; returns how many were queued."""
    if unit is None:
        return 0
    tr, sent = fx.translator, 0
    for officer in await fx.uow.officers.of_unit(unit.id):
        if officer.person_id == skip_person:
            continue

        def render(locale: str) -> Reply:
            params = dict(lead_params(locale)) if lead_params else {}
            first = tr(locale, lead, number=ticket.number, **params)
            text = f"{first}\n{headline(tr, locale, ticket)}"
            if ticket.urgent:
                text = f"{tr(locale, 'desk.alert.urgent')}\n{text}"
            facts = {"number": ticket.number, "status": tr(locale, "notice.status.alert")}
            return Reply(
                text=text, buttons=alert_buttons(tr, locale, ticket), notice="alert", facts=facts, lasting=True
            )

        # Non-urgent alerts wait out the officer's quiet hours; urgent ones (danger, fraud under way) always go.
        not_before = officer_not_before(officer, fx.now, fx.rules.zone, urgent=ticket.urgent)
        if await fx.outbox.to_person(officer.person_id, render, not_before=not_before):
            sent += 1
    return sent


async def tell_copied(fx: Effects, ticket: Ticket, holder: Unit | None) -> int:
    """Units told of a ticket beside the one that holds it (the court, of a domestic-violence report the police
    handle): what it is and who holds it, without buttons — the ticket is not theirs to act on."""
    tr, sent = fx.translator, 0
    for unit_id in (ticket.details or {}).get(COPIED) or []:
        unit = await fx.uow.units.get(int(unit_id))
        if unit is None:
            continue
        for officer in await fx.uow.officers.of_unit(unit.id):

            def render(locale: str) -> Reply:
                lead = tr(locale, "desk.alert.copied", number=ticket.number, unit=unit_label(tr, locale, holder))
                return Reply(text=f"{tr(locale, 'desk.alert.urgent')}\n{lead}\n{headline(tr, locale, ticket)}")

            not_before = officer_not_before(officer, fx.now, fx.rules.zone, urgent=True)
            if await fx.outbox.to_person(officer.person_id, render, not_before=not_before):
                sent += 1
    return sent


async def on_ticket_opened(fx: Effects, event: TicketOpened) -> None:
    await alert_unit(fx, event.ticket, event.unit)
    await tell_copied(fx, event.ticket, event.unit)
