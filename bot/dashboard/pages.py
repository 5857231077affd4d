"""The dashboard's pages as HTML strings: the ledger with its filters and charts, the tickets behind a number, the
login and refusal pages. Every value is escaped; every number that counts tickets links to them (masked)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Final
from urllib.parse import urlencode

from bot.dashboard import svg
from handlers.conversation.i18n import Translator
from handlers.conversation.places import COUNTIES
from handlers.conversation.words import category_label, kind_label, label, stamp, status_label, unit_label
from handlers.ledger.chat import percent
from handlers.ledger.export import county_name, figure_label, scope_line
from handlers.ledger.report import Report, measures_by
from handlers.tickets.rates import DEFINITIONS, Rates
from storage.models import Ticket, Unit
from storage.repositories.ledger import Facet

T = Callable[..., str]
PERIODS: Final = ("month", "last-month", "quarter", "year")


def facet_query(facet: Facet) -> dict[str, str]:
    query: dict[str, str] = {}
    if facet.kinds:
        query["kind"] = ",".join(facet.kinds)
    if facet.statuses:
        query["status"] = ",".join(facet.statuses)
    if facet.categories:
        query["category"] = ",".join(facet.categories)
    if facet.outcomes:
        query["outcome"] = ",".join(facet.outcomes)
    if facet.unit is not None:
        query["fu"] = str(facet.unit)
    if facet.county is not None:
        query["fc"] = facet.county or "-"
    if facet.test:
        query["test"] = facet.test
    return query


def facet_from(query: Mapping[str, str]) -> Facet:
    def listed(name: str) -> tuple[str, ...]:
        return tuple(part for part in query.get(name, "").split(",") if part)[:20]

    unit = query.get("fu", "")
    county = query.get("fc")
    return Facet(
        kinds=listed("kind"),
        statuses=listed("status"),
        categories=listed("category"),
        outcomes=listed("outcome"),
        unit=int(unit) if unit.isdigit() and len(unit) < 18 else None,
        county=None if county is None else ("" if county == "-" else county),
        test=query.get("test") or None,
    )


class Page:
    """What every page of one request shares: the reader's language, the filters, the CSRF token."""

    def __init__(self, tr: Translator, locale: str, filters: Mapping[str, str], csrf: str = "") -> None:
        self.tr, self.locale, self.filters, self.csrf = tr, locale, dict(filters), csrf

    def t(self, msgid: str, **params: object) -> str:
        return self.tr(self.locale, msgid, **params)

    def link(self, facet: Facet, value: object) -> str:
        href = "/desk/tickets?" + urlencode({**self.filters, **facet_query(facet)})
        return f'<a class="num" href="{escape(href)}">{escape(str(value))}</a>'

    def shell(self, title: str, body: str) -> str:
        return (
            f'<!doctype html><html lang="{"zh-CN" if self.locale == "zh_CN" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="/desk/static/desk.css"></head>'
            f'<body><main class="page">{body}</main></body></html>'
        )

    def message(self, title: str, text: str) -> str:
        return self.shell(
            title, f'<section class="card notice"><h1>{escape(title)}</h1><p>{escape(text)}</p></section>'
        )


def one_time_form(page: Page, purpose: str, token: str, pre: str) -> str:
    """The page a one-time link opens (`login` or `export`): what it is for, and the one button that uses it."""
    body = (
        f'<section class="card notice"><h1>{escape(page.t(f"ledger.desk.{purpose}.title"))}</h1>'
        f"<p>{escape(page.t(f'ledger.desk.{purpose}.lead'))}</p>"
        f'<form method="post" action="/desk/{purpose}/{escape(token)}">'
        f'<input type="hidden" name="csrf" value="{escape(pre)}">'
        f'<button type="submit" id="go">{escape(page.t(f"ledger.desk.{purpose}.button"))}</button></form></section>'
    )
    return page.shell(page.t("ledger.desk.title"), body)


def _options(choices: Sequence[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>{escape(text)}</option>'
        for value, text in choices
    )


def filters(page: Page, report: Report, units: Sequence[Unit]) -> str:
    f = page.filters
    tr, locale = page.tr, page.locale
    periods = [("", page.t("ledger.desk.period.custom"))] + [(p, page.t(f"ledger.desk.period.{p}")) for p in PERIODS]
    counties = [("", page.t("ledger.desk.all_counties"))] + [(c, label(tr, locale, f"county.{c}", c)) for c in COUNTIES]
    unit_choices = [("", page.t("ledger.desk.all_units"))] + [(str(u.id), unit_label(tr, locale, u)) for u in units]
    return (
        f'<form class="filters card" method="get" action="/desk/" id="filters">'
        f'<label>{escape(page.t("ledger.desk.period"))}<select name="p" id="f-period">'
        f"{_options(periods, f.get('p', ''))}</select></label>"
        f'<label>{escape(page.t("ledger.desk.from"))}<input type="date" name="from" id="f-from" '
        f'value="{report.period.first:%Y-%m-%d}"></label>'
        f'<label>{escape(page.t("ledger.desk.to"))}<input type="date" name="to" id="f-to" '
        f'value="{report.period.last:%Y-%m-%d}"></label>'
        f'<label>{escape(page.t("ledger.desk.county"))}<select name="county" id="f-county">'
        f"{_options(counties, f.get('county', ''))}</select></label>"
        f'<label>{escape(page.t("ledger.desk.unit"))}<select name="unit" id="f-unit">'
        f"{_options(unit_choices, f.get('unit', ''))}</select></label>"
        f'<button type="submit" id="apply">{escape(page.t("ledger.desk.apply"))}</button></form>'
    )


def _value(page: Page, value: object, form: str) -> str:
    if form == "rate":
        return percent(value if isinstance(value, float) else None)
    if form == "money":
        return f"¥{Decimal(str(value or 0)):,.2f}"
    return f"{int(value or 0):,}"  # type: ignore[call-overload]


def batches(page: Page, report: Report) -> str:
    cards = []
    for batch in report.batches:
        rows = []
        for figure in batch.figures:
            shown = _value(page, figure.value, figure.form)
            cell = page.link(figure.facet, shown) if figure.facet is not None else escape(shown)
            rows.append(
                f'<tr data-figure="{escape(figure.key)}"><th>{escape(figure_label(page.tr, page.locale, figure.key))}'
                f"</th><td>{cell}</td></tr>"
            )
        cards.append(
            f'<section class="card batch" id="batch-{batch.name}"><h2>{escape(page.t(f"ledger.batch.{batch.name}"))}'
            f'</h2><table class="figures">{"".join(rows)}</table></section>'
        )
    return f'<div class="grid">{"".join(cards)}</div>'


def _rate_cells(page: Page, rates: Rates, unit: int | None, overdue: int) -> str:
    def n(value: int, test: str) -> str:
        return page.link(Facet(unit=unit, test=test), f"{value:,}")

    cells = [
        n(rates.tickets, "counted"),
        n(rates.responded, "responded"),
        escape(percent(rates.response_rate)),
        n(rates.due, "due"),
        n(rates.resolved, "resolved_in_time"),
        escape(percent(rates.resolution_rate)),
        n(rates.rated, "rated"),
        n(rates.satisfied, "satisfied"),
        escape(percent(rates.satisfaction_rate)),
        n(overdue, "overdue"),
    ]
    return "".join(f"<td>{c}</td>" for c in cells)


RATE_HEADS: Final = (
    "tickets", "responded", "response", "due", "resolved", "resolution",
    "rated", "satisfied", "satisfaction", "overdue",
)  # fmt: skip


def rates_table(page: Page, report: Report) -> str:
    heads = "".join(f"<th>{escape(page.t(f'ledger.xlsx.rate.{h}'))}</th>" for h in RATE_HEADS)
    rows = []
    for row in report.units:
        unit_id = row.unit.id if row.unit else None
        name = unit_label(page.tr, page.locale, row.unit)
        rows.append(
            f'<tr class="unit-row"><th>{escape(name)}</th>{_rate_cells(page, row.rates, unit_id, row.overdue)}</tr>'
        )
    total = f'<tr class="total"><th>{escape(page.t("ledger.xlsx.total"))}</th>'
    total += _rate_cells(page, report.totals, None, report.overdue) + "</tr>"
    definitions = "".join(
        f"<li><b>{escape(page.t(f'ledger.rate.{name}'))}</b>：{escape(page.t(msgid))}</li>"
        for name, msgid in DEFINITIONS.items()
    )
    return (
        f'<section class="card wide" id="rates"><h2>{escape(page.t("ledger.chart.rates"))}</h2>'
        f'<div class="scroll"><table class="data"><thead><tr><th>{escape(page.t("ledger.xlsx.rate.unit"))}</th>'
        f"{heads}</tr></thead><tbody>{''.join(rows)}{total}</tbody></table></div>"
        f'<ul class="definitions" id="definitions">{definitions}</ul></section>'
    )


def breakdowns(page: Page, report: Report) -> str:
    tr, locale = page.tr, page.locale
    status_rows = "".join(
        f"<tr><th>{escape(status_label(tr, locale, s))}</th><td>{page.link(Facet(statuses=(s,)), f'{n:,}')}</td></tr>"
        for s, n in report.by_status
    )
    category_rows = "".join(
        f"<tr><th>{escape(kind_label(tr, locale, k))} · {escape(category_label(tr, locale, k, c))}</th>"
        f"<td>{page.link(Facet(kinds=(k,), categories=(c,), test='counted'), f'{n:,}')}</td></tr>"
        for k, c, n in report.by_category
    )
    county_rows = "".join(
        f"<tr><th>{escape(county_name(tr, locale, c))}</th>"
        f"<td>{page.link(Facet(county=c or '', test='counted'), f'{n:,}')}</td></tr>"
        for c, n in report.by_county
    )

    def card(key: str, rows: str) -> str:
        return (
            f'<section class="card" id="by-{key}"><h2>{escape(page.t(f"ledger.desk.by.{key}"))}</h2>'
            f'<table class="figures">{rows}</table></section>'
        )

    cards = card("status", status_rows) + card("category", category_rows) + card("county", county_rows)
    return f'<div class="grid">{cards}</div>'


def overdue(page: Page, report: Report) -> str:
    rows = "".join(_ticket_row(page, report, t) for t in report.overdue_tickets)
    more = page.link(Facet(test="overdue"), page.t("ledger.desk.all_overdue", count=report.overdue))
    return (
        f'<section class="card wide" id="overdue"><h2>{escape(page.t("ledger.overdue_now"))}</h2>'
        f"<p>{more}</p>{_ticket_table(page, rows)}</section>"
    )


def clusters(page: Page, report: Report, describe: Callable[[str, object], str]) -> str:
    rows = []
    for cluster, inside in report.clusters:
        href = "/desk/tickets?" + urlencode({**page.filters, "cluster": str(cluster.id)})
        joint = stamp(cluster.joint_at, report.period.zone) if cluster.joint_at else page.t("ledger.desk.not_joint")
        rows.append(
            f'<tr class="cluster-row"><td>{escape(page.t(f"ledger.cluster.kind.{cluster.kind}"))}</td>'
            f"<td>{escape(describe(page.locale, cluster))}</td>"
            f'<td><a class="num" href="{escape(href)}">{inside:,}</a> / {cluster.size:,}</td>'
            f"<td>{escape(stamp(cluster.first_at, report.period.zone)[:10])} – "
            f"{escape(stamp(cluster.last_at, report.period.zone)[:10])}</td><td>{escape(joint)}</td></tr>"
        )
    heads = "".join(
        f"<th>{escape(page.t(f'ledger.xlsx.cluster.{h}'))}</th>" for h in ("kind", "what", "size", "last", "joint")
    )
    empty = f"<p>{escape(page.t('ledger.desk.no_clusters'))}</p>" if not rows else ""
    return (
        f'<section class="card wide" id="clusters"><h2>{escape(page.t("ledger.sheet.clusters"))}</h2>{empty}'
        f'<div class="scroll"><table class="data"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody>'
        f"</table></div></section>"
    )


def measures(page: Page, report: Report) -> str:
    tr, locale = page.tr, page.locale
    rows = "".join(
        f"<tr><td>{escape(m.title.get(locale) or m.code)}</td>"
        f"<td>{escape(county_name(tr, locale, m.county))}</td>"
        f"<td>{escape(unit_label(tr, locale, m.unit) if m.unit else m.unit_text.get(locale, ''))}</td>"
        f"<td>{escape(m.since.isoformat() if m.since else '—')}</td><td>{m.views:,}</td><td>{m.searches:,}</td></tr>"
        for m in report.measures
    )
    heads = "".join(
        f"<th>{escape(page.t(f'ledger.xlsx.measure.{h}'))}</th>"
        for h in ("measure", "county", "unit", "since", "views", "searches")
    )
    counties = "".join(
        f"<tr><th>{escape(county_name(tr, locale, county))}</th>"
        f"<td>{escape(page.t('ledger.desk.measure_count', count=n, asks=asks))}</td></tr>"
        for county, n, asks in measures_by(report.measures, lambda m: m.county)
    )
    units = "".join(
        f"<tr><th>{escape(unit_label(tr, locale, unit) if unit else '—')}</th>"
        f"<td>{escape(page.t('ledger.desk.measure_count', count=n, asks=asks))}</td></tr>"
        for unit, n, asks in measures_by(report.measures, lambda m: m.unit)
    )
    return (
        f'<section class="card wide" id="measures"><h2>{escape(page.t("ledger.sheet.measures"))}</h2>'
        f'<div class="grid two"><div id="measures-by-county"><h3>{escape(page.t("ledger.desk.by.county"))}</h3>'
        f'<table class="figures">{counties}</table></div><div id="measures-by-unit">'
        f'<h3>{escape(page.t("ledger.desk.measures_by_unit"))}</h3><table class="figures">{units}</table></div></div>'
        f'<div class="scroll"><table class="data"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table></div>'
        f"</section>"
    )


def charts(page: Page, report: Report) -> str:
    def value(batch: str, key: str) -> int:
        return int(report.batch(batch).figure(key).value or 0)

    t = page.t
    rows = [
        (t("ledger.batch.concern"), value("concern", "concern_received"), value("concern", "concern_handled"),
         t("ledger.bar.received"), t("ledger.bar.handled")),
        (t("ledger.batch.dispute"), value("dispute", "dispute_received"), value("dispute", "dispute_agreed"),
         t("ledger.bar.received"), t("ledger.bar.agreed")),
        (t("ledger.batch.aid"), value("aid", "aid_legal_aid") + value("aid", "aid_relief"),
         value("aid", "aid_granted") + value("aid", "aid_relief_granted"), t("ledger.bar.applied"),
         t("ledger.bar.granted")),
        (t("ledger.batch.campaign"), value("campaign", "campaign_recipients"), value("campaign", "campaign_delivered"),
         t("ledger.bar.recipients"), t("ledger.bar.delivered")),
        (t("ledger.batch.measure"), value("measure", "measure_requests"), value("measure", "measure_handled"),
         t("ledger.bar.requests"), t("ledger.bar.handled")),
    ]  # fmt: skip
    trend = svg.lines(
        [w[0] for w in report.trend],
        [
            (t("ledger.bar.received"), [w[1] for w in report.trend]),
            (t("ledger.bar.resolved"), [w[2] for w in report.trend]),
        ],
        t("ledger.chart.trend"),
    )
    return (
        f'<div class="grid two"><section class="card" id="chart-batches"><h2>{escape(t("ledger.chart.batches"))}</h2>'
        f"{svg.bars(rows, t('ledger.chart.batches'))}</section>"
        f'<section class="card" id="chart-trend"><h2>{escape(t("ledger.chart.trend"))}</h2>{trend}</section></div>'
    )


def ledger_page(
    page: Page, report: Report, units: Sequence[Unit], describe: Callable[[str, object], str], export_query: str
) -> str:
    title = page.t("ledger.desk.title")
    scope = scope_line(page.tr, page.locale, report, report.unit_names)
    totals = report.totals
    head = (
        f'<header class="top"><div><h1>{escape(title)}</h1><p class="scope" id="scope">{escape(scope)}</p></div>'
        f'<div class="actions"><form method="post" action="/desk/export?{escape(export_query)}">'
        f'<input type="hidden" name="csrf" value="{escape(page.csrf)}">'
        f'<button type="submit" id="export">{escape(page.t("ledger.desk.export"))}</button></form>'
        f'<form method="post" action="/desk/logout"><input type="hidden" name="csrf" value="{escape(page.csrf)}">'
        f'<button type="submit" class="quiet" id="logout">{escape(page.t("ledger.desk.logout"))}</button></form>'
        f"</div></header>"
    )
    gauges = "".join(
        f'<div class="gauge" id="rate-{name}"><b>{escape(percent(rate))}</b>'
        f"<span>{escape(page.t(f'ledger.rate.{name}'))}</span></div>"
        for name, rate in (
            ("response", totals.response_rate),
            ("resolution", totals.resolution_rate),
            ("satisfaction", totals.satisfaction_rate),
        )
    )
    body = (
        head
        + filters(page, report, units)
        + f'<section class="card gauges">{gauges}</section>'
        + batches(page, report)
        + charts(page, report)
        + rates_table(page, report)
        + breakdowns(page, report)
        + overdue(page, report)
        + clusters(page, report, describe)
        + measures(page, report)
    )
    return page.shell(title, body)


def _ticket_table(page: Page, rows: str) -> str:
    heads = "".join(
        f"<th>{escape(page.t(f'ledger.xlsx.col.{h}'))}</th>"
        for h in ("number", "opened", "kind", "category", "county", "unit", "status", "due", "phone")
    )
    table = f'<table class="data tickets"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _ticket_row(page: Page, report: Report, ticket: Ticket) -> str:
    tr, locale, zone = page.tr, page.locale, report.period.zone
    unit = report.unit_names.get(ticket.unit_id) if ticket.unit_id else None
    county = county_name(tr, locale, ticket.county)
    cells = (
        ticket.number,
        stamp(ticket.created_at, zone)[:10],
        kind_label(tr, locale, ticket.kind),
        category_label(tr, locale, ticket.kind, ticket.category),
        county,
        unit_label(tr, locale, unit),
        status_label(tr, locale, ticket.status),
        stamp(ticket.due_at, zone),
        ticket.phone_masked or "—",
    )
    return '<tr class="ticket">' + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"


def tickets_page(
    page: Page, report: Report, tickets: Sequence[Ticket], total: int, offset: int, size: int, back: str
) -> str:
    title = page.t("ledger.desk.tickets_title")
    rows = "".join(_ticket_row(page, report, t) for t in tickets)
    pager = []
    if offset > 0:
        pager.append(
            f'<a href="?{escape(_page_query(page, max(offset - size, 0)))}">‹ {escape(page.t("ledger.desk.prev"))}</a>'
        )
    if offset + size < total:
        following = escape(_page_query(page, offset + size))
        pager.append(f'<a href="?{following}" id="next">{escape(page.t("ledger.desk.next"))} ›</a>')
    body = (
        f'<header class="top"><div><h1>{escape(title)}</h1><p class="scope">'
        f"{escape(scope_line(page.tr, page.locale, report, report.unit_names))}</p></div>"
        f'<div class="actions"><a class="button quiet" href="/desk/?{escape(back)}" id="back">'
        f"{escape(page.t('ledger.desk.back'))}</a></div></header>"
        f'<section class="card wide"><p id="count" data-total="{total}">'
        f"{escape(page.t('ledger.desk.count', count=total))}</p>{_ticket_table(page, rows)}"
        f'<p class="pager">{" ".join(pager)}</p><p class="note">{escape(page.t("ledger.desk.masked"))}</p></section>'
    )
    return page.shell(title, body)


def _page_query(page: Page, offset: int) -> str:
    return urlencode({**page.filters, "offset": str(offset)})
