"""The ledger as an XLSX workbook people print (台账): a summary, one sheet per batch listing its tickets, the rates per
unit with their definitions, the clusters — headers, widths, the header row frozen, dates as dates, personal data
masked (a masked phone, never a description). Built with XlsxWriter; every export is audited by the caller."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Effects, Rules
from handlers.conversation.words import category_label, kind_label, label, unit_label
from handlers.ledger.clusters import describe
from handlers.ledger.period import Period
from handlers.ledger.report import Report, build
from handlers.tickets.policy import Actor, Role
from handlers.tickets.rates import DEFINITIONS, RESOLVED, Rates, terms
from storage.models import Cluster, Ticket, Unit
from storage.repositories.ledger import Facet
from storage.uow import Database, UnitOfWork

Describe = Callable[[str, Cluster], str]  # what a cluster's tickets share, in a reader's words

MAX_ROWS: Final = 50_000  # tickets listed per sheet; beyond, the sheet says how many more there are
EXPORT_AUDIT: Final = "ledger_export"
SHEET_KINDS: Final = {
    "concern": ("concern",),
    "dispute": ("dispute",),
    "aid": ("legal_aid", "relief"),
    "measure": ("service",),
}
TICKET_COLUMNS: Final = (
    ("no", 6),
    ("number", 20),
    ("opened", 12),
    ("kind", 12),
    ("category", 16),
    ("county", 10),
    ("unit", 30),
    ("status", 10),
    ("claimed", 17),
    ("due", 12),
    ("resolved", 17),
    ("in_time", 8),
    ("outcome", 16),
    ("amount", 12),
    ("rating", 8),
    ("phone", 14),
)


class Book:
    """One workbook being written, with its formats and the reader's language."""

    def __init__(self, tr: Translator, locale: str, report: Report) -> None:
        self.tr, self.locale, self.report = tr, locale, report
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "remove_timezone": True})
        add = self.book.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
        self.cell = add({"border": 1})
        self.date = add({"border": 1, "num_format": "yyyy-mm-dd"})
        self.moment = add({"border": 1, "num_format": "yyyy-mm-dd hh:mm"})
        self.percent = add({"border": 1, "num_format": "0.0%"})
        self.money = add({"border": 1, "num_format": "#,##0.00"})
        self.note = add({"italic": True, "font_color": "#555555", "text_wrap": True, "valign": "top"})

    def t(self, msgid: str, **params: object) -> str:
        return self.tr(self.locale, msgid, **params)

    def local(self, moment: datetime | None) -> datetime | None:
        """Excel has no time zones: a moment is written as the desk's local time."""
        return moment.astimezone(self.report.period.zone).replace(tzinfo=None) if moment else None

    def sheet(self, key: str, columns: Sequence[tuple[str, int]], prefix: str) -> Worksheet:
        """A sheet named by `ledger.sheet.<key>`, its header row written, frozen and filterable."""
        sheet = self.book.add_worksheet(self.t(f"ledger.sheet.{key}")[:31])
        for index, (name, width) in enumerate(columns):
            sheet.set_column(index, index, width)
            sheet.write_string(0, index, self.t(f"{prefix}.{name}"), self.header)
        sheet.freeze_panes(1, 0)
        sheet.set_row(0, 30)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)
        return sheet

    def write(self, sheet: Worksheet, row: int, column: int, value: Any) -> None:
        if value is None:
            sheet.write_blank(row, column, None, self.cell)
        elif isinstance(value, datetime):
            form = self.date if (value.hour, value.minute, value.second) == (0, 0, 0) else self.moment
            sheet.write_datetime(row, column, value, form)
        elif isinstance(value, Decimal):
            sheet.write_number(row, column, float(value), self.money)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, column, value, self.cell)
        else:
            sheet.write_string(row, column, str(value), self.cell)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _day(book: Book, moment: datetime | None) -> datetime | None:
    local = book.local(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) if local else None


def summary_sheet(book: Book, units: dict[int, Unit]) -> None:
    report, t = book.report, book.t
    sheet = book.sheet("summary", (("batch", 18), ("figure", 36), ("value", 16)), "ledger.xlsx.summary")
    row = 1
    for batch in report.batches:
        for figure in batch.figures:
            book.write(sheet, row, 0, t(f"ledger.batch.{batch.name}"))
            book.write(sheet, row, 1, figure_label(book.tr, book.locale, figure.key))
            if figure.form == "rate":
                if figure.value is None:
                    book.write(sheet, row, 2, None)
                else:
                    sheet.write_number(row, 2, float(figure.value), book.percent)
            else:
                book.write(sheet, row, 2, figure.value)
            row += 1
    book.write(sheet, row, 0, t("ledger.overdue_now"))
    book.write(sheet, row, 1, t("ledger.overdue_now"))
    book.write(sheet, row, 2, report.overdue)
    row += 2
    sheet.write_string(row, 0, scope_line(book.tr, book.locale, report, units), book.note)


def county_name(tr: Translator, locale: str, county: str | None) -> str:
    """A county's name; the tickets and measures of no county are the city's."""
    return label(tr, locale, f"county.{county}", county) if county else tr(locale, "desk.place.city")


def figure_label(tr: Translator, locale: str, key: str) -> str:
    """`concern_cat:fraud` → the category's words; every other figure has its own catalog entry."""
    if key.startswith("concern_cat:"):
        return category_label(tr, locale, "concern", key.removeprefix("concern_cat:"))
    if key.startswith("measure_help:"):
        return category_label(tr, locale, "service", key.removeprefix("measure_help:"))
    return tr(locale, f"ledger.fig.{key}")


def scope_line(tr: Translator, locale: str, report: Report, units: dict[int, Unit]) -> str:
    """'2026-11 · 汉台区司法局及下属单位 · 汉台区' — what the numbers cover."""
    if report.unit is not None:
        who = tr(locale, "ledger.scope.subtree", unit=unit_label(tr, locale, report.unit))
    elif report.scope.root is not None:
        who = tr(locale, "ledger.scope.subtree", unit=unit_label(tr, locale, units.get(report.scope.root)))
    else:
        who = tr(locale, "ledger.scope.city")
    parts = [report.period.label(), who]
    if report.county:
        parts.append(label(tr, locale, f"county.{report.county}", report.county))
    return " · ".join(parts)


def ticket_sheet(book: Book, key: str, tickets: Sequence[Ticket], more: int, units: dict[int, Unit]) -> None:
    tr, locale = book.tr, book.locale
    sheet = book.sheet(key, TICKET_COLUMNS, "ledger.xlsx.col")
    for index, ticket in enumerate(tickets, start=1):
        resolved = ticket.status in RESOLVED
        in_time = (
            resolved
            and ticket.resolved_at is not None
            and (ticket.due_at is None or ticket.resolved_at <= ticket.due_at)
        )
        amount = (ticket.details or {}).get("relief_amount") if ticket.kind == "relief" else None
        values: list[Any] = [
            index,
            ticket.number,
            _day(book, ticket.created_at),
            kind_label(tr, locale, ticket.kind),
            category_label(tr, locale, ticket.kind, ticket.category),
            county_name(tr, locale, ticket.county),
            unit_label(tr, locale, units.get(ticket.unit_id)) if ticket.unit_id else tr(locale, "ticket.unit_pending"),
            label(tr, locale, f"status.{ticket.status}", ticket.status),
            book.local(ticket.claimed_at),
            _day(book, ticket.due_at),
            book.local(ticket.resolved_at),
            tr(locale, "ledger.xlsx.yes" if in_time else "ledger.xlsx.no") if resolved else None,
            label(tr, locale, f"desk.outcome.{ticket.outcome}", ticket.outcome) if ticket.outcome else None,
            Decimal(str(amount)) if amount else None,
            ticket.rating_treatment,
            ticket.phone_masked,
        ]
        for column, value in enumerate(values):
            book.write(sheet, index, column, value)
    if more:
        sheet.write_string(len(tickets) + 2, 0, book.t("ledger.xlsx.more", count=more), book.note)
    sheet.autofilter(0, 0, max(len(tickets), 1), len(TICKET_COLUMNS) - 1)


def campaign_sheet(book: Book) -> None:
    b = book.report.broadcasts
    sheet = book.sheet("campaign", (("topic", 24), ("broadcasts", 12)), "ledger.xlsx.campaign")
    row = 1
    for topic, count in sorted(b.by_topic.items()):
        book.write(sheet, row, 0, label(book.tr, book.locale, f"topic.{topic}", topic))
        book.write(sheet, row, 1, count)
        row += 1
    totals = (
        ("ledger.fig.campaign_broadcasts", b.broadcasts),
        ("ledger.fig.campaign_recipients", b.recipients),
        ("ledger.fig.campaign_delivered", b.delivered),
    )
    for msgid, value in totals:
        book.write(sheet, row, 0, book.t(msgid))
        book.write(sheet, row, 1, value)
        row += 1


def measures_sheet(book: Book) -> None:
    columns = (("measure", 44), ("county", 10), ("unit", 30), ("since", 12), ("views", 10), ("searches", 10))
    sheet = book.sheet("measures", columns, "ledger.xlsx.measure")
    tr, locale = book.tr, book.locale
    for row, line in enumerate(book.report.measures, start=1):
        since = datetime(line.since.year, line.since.month, line.since.day) if line.since else None
        values: list[Any] = [
            line.title.get(locale) or line.code,
            county_name(tr, locale, line.county),
            unit_label(tr, locale, line.unit) if line.unit else line.unit_text.get(locale, ""),
            since,
            line.views,
            line.searches,
        ]
        for column, value in enumerate(values):
            book.write(sheet, row, column, value)


RATE_COLUMNS: Final = (
    ("unit", 30),
    ("tickets", 9),
    ("responded", 9),
    ("response", 9),
    ("due", 9),
    ("resolved", 9),
    ("resolution", 9),
    ("rated", 9),
    ("satisfied", 9),
    ("satisfaction", 9),
    ("solved", 9),
    ("overdue", 9),
)


def rate_values(rates: Rates) -> list[Any]:
    return [
        rates.tickets,
        rates.responded,
        rates.response_rate,
        rates.due,
        rates.resolved,
        rates.resolution_rate,
        rates.rated,
        rates.satisfied,
        rates.satisfaction_rate,
        rates.solved_rate,
    ]


def rates_sheet(book: Book) -> None:
    report, tr, locale = book.report, book.tr, book.locale
    sheet = book.sheet("rates", RATE_COLUMNS, "ledger.xlsx.rate")
    rows = [(unit_label(tr, locale, r.unit), r.rates, r.overdue) for r in report.units]
    rows.append((book.t("ledger.xlsx.total"), report.totals, report.overdue))
    for row, (name, rates, overdue) in enumerate(rows, start=1):
        book.write(sheet, row, 0, name)
        for column, value in enumerate([*rate_values(rates), overdue], start=1):
            if RATE_COLUMNS[column][0] in ("response", "resolution", "satisfaction", "solved") and value is not None:
                sheet.write_number(row, column, float(value), book.percent)
            else:
                book.write(sheet, row, column, value)
    below = len(rows) + 2
    for index, (name, msgid) in enumerate(DEFINITIONS.items()):
        sheet.merge_range(below + index, 0, below + index, len(RATE_COLUMNS) - 1,
                          f"{book.t(f'ledger.rate.{name}')}: {book.t(msgid)}", book.note)  # fmt: skip
        sheet.set_row(below + index, 32)


def clusters_sheet(book: Book, describe: Describe) -> None:
    columns = (("kind", 12), ("what", 40), ("size", 8), ("first", 12), ("last", 12), ("joint", 17))
    sheet = book.sheet("clusters", columns, "ledger.xlsx.cluster")
    for row, (cluster, _) in enumerate(book.report.clusters, start=1):
        values: list[Any] = [
            book.t(f"ledger.cluster.kind.{cluster.kind}"),
            describe(book.locale, cluster),
            cluster.size,
            _day(book, cluster.first_at),
            _day(book, cluster.last_at),
            book.local(cluster.joint_at),
        ]
        for column, value in enumerate(values):
            book.write(sheet, row, column, value)


async def workbook(uow: UnitOfWork, report: Report, tr: Translator, locale: str, describe: Describe) -> bytes:
    """The whole 台账 of a report, as XLSX bytes."""
    book = Book(tr, locale, report)
    units = report.unit_names
    summary_sheet(book, units)
    t = terms(report.now)
    for key, kinds in SHEET_KINDS.items():
        facet = Facet(kinds=kinds, test="counted")
        total = await uow.ledger.count(report.where, facet, t)
        tickets = await uow.ledger.tickets(report.where, facet, t, limit=MAX_ROWS, by_opening=True)
        ticket_sheet(book, key, tickets, max(total - len(tickets), 0), units)
        if key == "aid":
            campaign_sheet(book)
    measures_sheet(book)
    rates_sheet(book)
    clusters_sheet(book, describe)
    return book.close()


class ExportError(ValueError):
    pass


async def export_for_operator(
    db: Database,
    tr: Translator,
    rules: Rules,
    period: Period,
    now: datetime,
    *,
    unit_code: str | None = None,
    county: str | None = None,
    locale: str = "zh_CN",
) -> tuple[bytes, Report]:
    """The command line's export (`python -m bot report`): the whole city, or one unit's subtree, as the operator
    of the server reads it; audited like every export (no person: the origin says "cli")."""
    operator = Actor(person_id=None, officer_id=0, unit_id=None, role=Role.ADMIN)
    async with db() as uow:
        unit_id = None
        if unit_code is not None:
            unit = await uow.units.by_code(unit_code)
            if unit is None:
                raise ExportError(f"unknown unit {unit_code!r}; see `python -m bot units list`")
            unit_id = unit.id
        report = await build(uow, operator, period, now, county=county, unit_id=unit_id)
        assert report is not None
        effects = Effects(uow, tr, rules, now)
        data = await workbook(uow, report, tr, locale, lambda loc, cluster: describe(effects, loc, cluster))
        await uow.audit.add(None, EXPORT_AUDIT, None, now, origin="cli")
        await uow.commit()
    return data, report
