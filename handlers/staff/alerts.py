"""Alerts to a unit's officers about a ticket, and the words both sides use to describe one."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.turn import Turn
from storage.models import Ticket, Unit

SUMMARY_CHARS = 80


def label(tr: Translator, locale: str, msgid: str, fallback: str) -> str:
    """The catalog text, or `fallback` when the catalog has no such entry (a category added elsewhere later)."""
    text = tr(locale, msgid)
    return fallback if text == msgid else text


def kind_label(tr: Translator, locale: str, kind: str) -> str:
    return label(tr, locale, f"kind.{kind}", kind)


def category_label(tr: Translator, locale: str, kind: str, category: str) -> str:
    return label(tr, locale, f"{kind}.cat.{category}", category)


def status_label(tr: Translator, locale: str, status: str) -> str:
    return label(tr, locale, f"status.{status}", status)


def place_label(tr: Translator, locale: str, ticket: Ticket) -> str:
    if ticket.county is None:
        return tr(locale, "desk.place.city")
    county = label(tr, locale, f"county.{ticket.county}", ticket.county)
    return f"{county} {ticket.township}" if ticket.township else county


def unit_label(locale: str, unit: Unit | None, tr: Translator) -> str:
    if unit is None:
        return tr(locale, "ticket.unit_pending")
    return unit.name_zh if locale == "zh_CN" else unit.name_en


def short(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


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
    turn: Turn,
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
    tr, sent = turn.translator, 0
    for officer in await turn.uow.officers.of_unit(unit.id):
        if officer.person_id == skip_person:
            continue

        def render(locale: str) -> Reply:
            params = dict(lead_params(locale)) if lead_params else {}
            first = tr(locale, lead, number=ticket.number, **params)
            text = f"{first}\n{headline(tr, locale, ticket)}"
            if ticket.urgent:
                text = f"{tr(locale, 'desk.alert.urgent')}\n{text}"
            return Reply(text=text, buttons=alert_buttons(tr, locale, ticket))

        # Non-urgent alerts wait out the officer's quiet hours; urgent ones (danger, fraud under way) always go.
        not_before = officer_not_before(officer, turn.now, turn.rules.zone, urgent=ticket.urgent)
        if await turn.send_to_person(officer.person_id, render, not_before=not_before):
            sent += 1
    return sent


async def alert_new_ticket(turn: Turn, ticket: Ticket, unit: Unit | None) -> int:
    return await alert_unit(turn, ticket, unit)
