"""The words every side uses for a ticket — kind, category, status, place, unit — and for a moment in time."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from handlers.conversation.i18n import Translator
from storage.models import Ticket, Unit

SUMMARY_CHARS: Final = 80


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
    if not ticket.township:
        return county
    return f"{county} {label(tr, locale, f'township.{ticket.county}.{ticket.township}', ticket.township)}"


def unit_label(tr: Translator, locale: str, unit: Unit | None) -> str:
    if unit is None:
        return tr(locale, "ticket.unit_pending")
    return unit.name_zh if locale == "zh_CN" else unit.name_en


def short(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def stamp(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment as officers' lists show it: '2026-12-03 15:00' in the desk's time zone, '—' for none."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def deadline_text(tr: Translator, locale: str, moment: datetime | None, zone: ZoneInfo) -> str:
    """A deadline as the reader's catalog writes a date and time, in the desk's time zone."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone)
    return tr(
        locale,
        "deadline.when",
        year=str(local.year),
        month=f"{local.month:02d}",
        day=f"{local.day:02d}",
        time=local.strftime("%H:%M"),
    )


def source_text(tr: Translator, locale: str, source: str) -> str:
    """Where a term comes from (a law's article, or local policy), as a catalog entry `deadline.source.<source>`."""
    return tr(locale, f"deadline.source.{source}")
