"""The ledger in chat: `/ledger [period]` — a short summary and a chart; `/export [period]` — a one-time link to the
XLSX; `/dashboard` — a one-time login link to the dashboard. Leaders and admins only (the policy decides), each
reading the units the policy gives them."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Final

from handlers.conversation.messages import Reply
from handlers.conversation.turn import Effects, Turn
from handlers.conversation.words import unit_label
from handlers.ledger import chart, passes
from handlers.ledger.period import Period, PeriodError, parse
from handlers.ledger.report import Report, build
from handlers.tickets.policy import Action, actor_for, allows
from storage.models import ChartImage

MEDIA: Final = "media:"  # Reply.photo of an image the desk made itself: the web chat shows /media/<name>
CHART_KEPT: Final = timedelta(days=1)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def money(value: Decimal | int | float | None) -> str:
    return f"{Decimal(str(value or 0)):,.2f}"


def scope_name(fx: Effects, locale: str, report: Report) -> str:
    tr = fx.translator
    root = report.unit or (report.unit_names.get(report.scope.root) if report.scope.root is not None else None)
    if root is None:
        return tr(locale, "ledger.scope.city")
    return tr(locale, "ledger.scope.subtree", unit=unit_label(tr, locale, root))


def summary(fx: Effects, locale: str, report: Report) -> str:
    """The ledger in a dozen lines."""
    tr = fx.translator
    concern, dispute, aid = report.batch("concern"), report.batch("dispute"), report.batch("aid")
    campaign, measure = report.batch("campaign"), report.batch("measure")

    def v(batch_figure: object) -> object:
        return getattr(batch_figure, "value", 0) or 0

    totals = report.totals
    lines = [
        tr(locale, "ledger.text.title", period=report.period.label(), scope=scope_name(fx, locale, report)),
        tr(locale, "ledger.text.concern", received=v(concern.figure("concern_received")),
           handled=v(concern.figure("concern_handled"))),
        tr(locale, "ledger.text.dispute", received=v(dispute.figure("dispute_received")),
           mediated=v(dispute.figure("dispute_mediated")), agreed=v(dispute.figure("dispute_agreed")),
           rate=percent(dispute.figure("dispute_success_rate").value)),  # type: ignore[arg-type]
        tr(locale, "ledger.text.aid", legal_aid=v(aid.figure("aid_legal_aid")), granted=v(aid.figure("aid_granted")),
           refused=v(aid.figure("aid_refused")), relief=v(aid.figure("aid_relief")),
           relief_granted=v(aid.figure("aid_relief_granted")),
           amount=money(aid.figure("aid_relief_amount").value)),
        tr(locale, "ledger.text.campaign", broadcasts=v(campaign.figure("campaign_broadcasts")),
           recipients=v(campaign.figure("campaign_recipients")), delivered=v(campaign.figure("campaign_delivered"))),
        tr(locale, "ledger.text.measure", measures=v(measure.figure("measure_in_service")),
           asks=v(measure.figure("measure_asks")), requests=v(measure.figure("measure_requests")),
           handled=v(measure.figure("measure_handled"))),
        tr(locale, "ledger.text.rates", response=percent(totals.response_rate), responded=totals.responded,
           tickets=totals.tickets, resolution=percent(totals.resolution_rate), resolved=totals.resolved,
           due=totals.due, satisfaction=percent(totals.satisfaction_rate), satisfied=totals.satisfied,
           rated=totals.rated),
        tr(locale, "ledger.text.overdue", count=report.overdue),
        tr(locale, "ledger.text.clusters", count=len(report.clusters)),
        tr(locale, "ledger.text.more"),
    ]  # fmt: skip
    return "\n".join(lines)


def chart_data(fx: Effects, locale: str, report: Report) -> chart.ChartData:
    tr = fx.translator

    def value(batch: str, key: str) -> int:
        found = report.batch(batch).figure(key).value
        return int(found or 0)

    aid_whole = value("aid", "aid_legal_aid") + value("aid", "aid_relief")
    aid_part = value("aid", "aid_granted") + value("aid", "aid_relief_granted")
    bars = [
        chart.Bar(tr(locale, "ledger.batch.concern"), value("concern", "concern_received"),
                  value("concern", "concern_handled"), tr(locale, "ledger.bar.received"),
                  tr(locale, "ledger.bar.handled")),
        chart.Bar(tr(locale, "ledger.batch.dispute"), value("dispute", "dispute_received"),
                  value("dispute", "dispute_agreed"), tr(locale, "ledger.bar.received"),
                  tr(locale, "ledger.bar.agreed")),
        chart.Bar(tr(locale, "ledger.batch.aid"), aid_whole, aid_part, tr(locale, "ledger.bar.applied"),
                  tr(locale, "ledger.bar.granted")),
        chart.Bar(tr(locale, "ledger.batch.campaign"), value("campaign", "campaign_recipients"),
                  value("campaign", "campaign_delivered"), tr(locale, "ledger.bar.recipients"),
                  tr(locale, "ledger.bar.delivered")),
        chart.Bar(tr(locale, "ledger.batch.measure"), value("measure", "measure_requests"),
                  value("measure", "measure_handled"), tr(locale, "ledger.bar.requests"),
                  tr(locale, "ledger.bar.handled")),
    ]  # fmt: skip
    totals = report.totals
    gauges = [
        chart.Gauge(tr(locale, "ledger.rate.response"), totals.response_rate, f"{totals.responded} / {totals.tickets}"),
        chart.Gauge(tr(locale, "ledger.rate.resolution"), totals.resolution_rate, f"{totals.resolved} / {totals.due}"),
        chart.Gauge(tr(locale, "ledger.rate.satisfaction"), totals.satisfaction_rate,
                    f"{totals.satisfied} / {totals.rated}"),
    ]  # fmt: skip
    return chart.ChartData(
        title=tr(locale, "ledger.chart.title", period=report.period.label()),
        subtitle=scope_name(fx, locale, report),
        bars_title=tr(locale, "ledger.chart.batches"),
        bars=bars,
        gauges_title=tr(locale, "ledger.chart.rates"),
        gauges=gauges,
        trend_title=tr(locale, "ledger.chart.trend"),
        trend_labels=[w[0] for w in report.trend],
        trend_series=[
            (tr(locale, "ledger.bar.received"), [w[1] for w in report.trend]),
            (tr(locale, "ledger.bar.resolved"), [w[2] for w in report.trend]),
        ],
        empty="—",
    )


async def _period(turn: Turn, args: str) -> Period | None:
    try:
        return parse(args, turn.now, turn.rules.zone)
    except PeriodError as error:
        turn.say(f"ledger.period.{error.args[0] if error.args else 'invalid'}")
        return None


async def ledger(turn: Turn, args: str = "") -> None:
    """`/ledger [period]`: the summary and the chart of the units this person may read."""
    actor = await actor_for(turn.uow, turn.person.id)
    if not allows(actor, Action.LEDGER):
        turn.say("desk.command_refused")
        return
    period = await _period(turn, args)
    if period is None:
        return
    report = await build(turn.uow, actor, period, turn.now)
    if report is None:
        turn.say("desk.command_refused")
        return
    png = chart.render(chart_data(turn, turn.locale, report))
    name = f"ledger-{secrets.token_urlsafe(18)}.png"
    await turn.uow.ledger.charts.add(
        ChartImage(name=name, person_id=turn.person.id, png=png, created_at=turn.now),
        forget_before=turn.now - CHART_KEPT,
    )
    turn.reply(Reply(text=summary(turn, turn.locale, report), photo=f"{MEDIA}{name}"))


def link(turn: Turn, path: str) -> str:
    return f"{turn.rules.public_url.rstrip('/')}{path}"


async def _send_link(turn: Turn, action: Action, purpose: str, args: str, msgid: str) -> None:
    """A one-time link for `purpose`, in a sealed reply (it is a bearer token for minutes)."""
    actor = await actor_for(turn.uow, turn.person.id)
    if not allows(actor, action):
        turn.say("desk.command_refused")
        return
    params: dict[str, str] = {}
    label = ""
    if purpose == passes.EXPORT:
        period = await _period(turn, args)
        if period is None:
            return
        params, label = {"first": period.first.isoformat(), "last": period.last.isoformat()}, period.label()
    token = await passes.issue(turn.uow, turn.person.id, purpose, turn.now, params)
    minutes = int(passes.PASS_TTL[purpose].total_seconds() // 60)
    text = turn.t(msgid, period=label, link=link(turn, f"/desk/{purpose}/{token}"), minutes=minutes)
    turn.reply(Reply(text=text, sensitive=True))


async def export(turn: Turn, args: str = "") -> None:
    """`/export [period]`: a link that downloads the XLSX once, within minutes; the download is audited."""
    await _send_link(turn, Action.EXPORT, passes.EXPORT, args, "ledger.export.link")


async def dashboard(turn: Turn, args: str = "") -> None:
    """`/dashboard`: a one-time login link, good for minutes; the session it opens is short."""
    await _send_link(turn, Action.DASHBOARD, passes.LOGIN, args, "ledger.dashboard.link")
