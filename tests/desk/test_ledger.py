"""The ledger's numbers on a hand-built data set, against answers computed independently from the plan: the five
batches, the three rates in total and per unit, by status / category / county, overdue now, the weekly trend, a
leader's subtree, a county; every number's tickets listed are exactly those it counts. And /ledger in chat."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from handlers.ledger.period import between, parse
from handlers.ledger.report import Report, build
from handlers.tickets.policy import Actor, Role, actor_for
from handlers.tickets.rates import terms
from storage.models import ChartImage
from tests.conftest import DeskDriver
from tests.support import ledger_world
from tests.support.ledger_world import FIRST, HANTAI_TREE, LAST, NOW, ZONE, World
from tests.support.officer_world import join, person_of


@pytest.fixture
async def world(driver: DeskDriver) -> World:
    return await ledger_world.build(driver)


async def report_for(driver: DeskDriver, actor: Actor, **filters: object) -> Report:
    async with driver.db.reading() as uow:
        report = await build(uow, actor, between(FIRST, LAST, ZONE), NOW, **filters)  # type: ignore[arg-type]
        assert report is not None
        return report


ADMIN = Actor(person_id=None, officer_id=0, unit_id=None, role=Role.ADMIN)


def figures(report: Report) -> dict[str, object]:
    return {f.key: f.value for b in report.batches for f in b.figures}


def expected_figures(world: World, plans: list[ledger_world.Plan]) -> dict[str, object]:
    counted = [p for p in plans if world.counted(p)]

    def n(kind: str, **more: object) -> int:
        return sum(1 for p in counted if p.kind == kind and all(getattr(p, k) == v for k, v in more.items()))

    def done(kind: str, outcome: str | None = None) -> int:
        return sum(
            1 for p in counted if p.kind == kind and p.status in ("resolved", "closed") and outcome in (None, p.outcome)
        )

    mediated, agreed = done("dispute"), done("dispute", "mediation_agreement")
    relief_paid = sum(
        (p.amount or Decimal(0)) for p in counted if p.kind == "relief" and p.status in ("resolved", "closed")
        and p.outcome == "relief_granted"
    )  # fmt: skip
    want: dict[str, object] = {
        "concern_received": n("concern"),
        "concern_handled": done("concern"),
        "dispute_received": n("dispute"),
        "dispute_mediated": mediated,
        "dispute_agreed": agreed,
        "dispute_success_rate": agreed / mediated if mediated else None,
        "aid_legal_aid": n("legal_aid"),
        "aid_granted": done("legal_aid", "legal_aid_granted"),
        "aid_refused": n("legal_aid", status="rejected"),
        "aid_relief": n("relief"),
        "aid_relief_granted": done("relief", "relief_granted"),
        "aid_relief_amount": relief_paid,
        "measure_requests": n("service"),
        "measure_handled": done("service"),
    }
    for category, count in Counter(p.category for p in counted if p.kind == "concern").items():
        want[f"concern_cat:{category}"] = count
    for help_kind in ("home_visit", "elderly", "disabled", "hearing_speech", "other"):
        want[f"measure_help:{help_kind}"] = n("service", category=help_kind)
    return want


async def test_the_city_ledger_matches_the_plan(driver: DeskDriver, world: World) -> None:
    report = await report_for(driver, ADMIN)
    plans = world.chosen()
    got = figures(report)
    for key, value in expected_figures(world, plans).items():
        assert got[key] == value, key
    assert (got["campaign_broadcasts"], got["campaign_recipients"], got["campaign_delivered"]) == (
        world.broadcasts,
        world.recipients,
        world.delivered,
    )
    t = report.totals
    assert (t.tickets, t.responded, t.due, t.resolved, t.rated, t.satisfied) == world.rates(plans)
    assert t.response_rate == t.responded / t.tickets and t.resolution_rate == t.resolved / t.due
    counted = [p for p in plans if world.counted(p)]
    rated = [p for p in counted if p.solved is not None]
    assert (t.solved_yes, t.solved_partly, t.solved_rated) == (
        sum(p.solved == "yes" for p in rated),
        sum(p.solved == "partly" for p in rated),
        len(rated),
    )
    assert t.solved_rate == (t.solved_yes / t.solved_rated if t.solved_rated else None)  # "partly" is not solved
    assert dict(report.by_status) == dict(Counter(p.status for p in plans))
    assert {(k, c): n for k, c, n in report.by_category} == dict(Counter((p.kind, p.category) for p in counted))
    assert dict(report.by_county) == dict(Counter(p.county for p in counted))
    assert report.overdue == sum(world.overdue(p) for p in world.plans)  # now, whenever opened
    by_unit = {row.unit.code if row.unit else None: row for row in report.units}
    for code in {p.unit for p in plans}:
        mine = [p for p in plans if p.unit == code]
        r = by_unit[code].rates
        assert (r.tickets, r.responded, r.due, r.resolved, r.rated, r.satisfied) == world.rates(mine), code
        assert by_unit[code].overdue == sum(world.overdue(p) for p in world.plans if p.unit == code)
    weeks = Counter((p.created.astimezone(ZONE).date() - (FIRST - timedelta(days=FIRST.weekday()))).days // 7
                    for p in counted)  # fmt: skip
    assert [row[1] for row in report.trend] == [weeks.get(w, 0) for w in range(len(report.trend))]
    assert [row[2] for row in report.trend] == [
        sum(1 for p in counted if p.status in ("resolved", "closed") and
            (p.created.astimezone(ZONE).date() - (FIRST - timedelta(days=FIRST.weekday()))).days // 7 == w)
        for w in range(len(report.trend))
    ]  # fmt: skip
    assert [row[0] for row in report.trend] == ["10-26", "11-02", "11-09", "11-16", "11-23", "11-30"]  # by Monday
    assert [m.code for m in report.measures] == []  # no guide loaded in this world


async def test_every_number_lists_exactly_the_tickets_it_counts(driver: DeskDriver, world: World) -> None:
    report = await report_for(driver, ADMIN)
    t = terms(NOW)
    async with driver.db.reading() as uow:
        for batch in report.batches:
            for figure in batch.figures:
                if figure.facet is None:
                    continue
                listed = await uow.ledger.tickets(report.where, figure.facet, t, limit=1000)
                assert len(listed) == figure.value == await uow.ledger.count(report.where, figure.facet, t), figure.key
        numbers = {p.id: p for p in world.plans}
        overdue = await uow.ledger.tickets(report.where, ledger_world_facet("overdue"), t, limit=1000)
        assert sorted(x.id for x in overdue) == sorted(p.id for p in world.plans if world.overdue(p))
        assert all(numbers[x.id] for x in overdue)


def ledger_world_facet(test: str):  # type: ignore[no-untyped-def]
    from storage.repositories.ledger import Facet

    return Facet(test=test)


async def test_a_leader_reads_their_subtree_and_a_county_filter_narrows_it(driver: DeskDriver, world: World) -> None:
    leader = await join(driver, "leader-hantai", "hantai-justice", "leader", "赵六")
    async with driver.db.reading() as uow:
        actor = await actor_for(uow, await person_of(driver, leader))
    report = await report_for(driver, actor)
    plans = world.chosen(HANTAI_TREE)
    assert {row.unit.code for row in report.units if row.unit} <= HANTAI_TREE
    t = report.totals
    assert (t.tickets, t.responded, t.due, t.resolved, t.rated, t.satisfied) == world.rates(plans)
    assert figures(report)["dispute_received"] == sum(1 for p in plans if p.kind == "dispute" and world.counted(p))
    assert report.overdue == sum(world.overdue(p) for p in world.plans if p.unit in HANTAI_TREE)
    city = await report_for(driver, ADMIN, county="nanzheng")
    assert city.totals.tickets == world.rates(world.chosen(county="nanzheng"))[0]
    async with driver.db.reading() as uow:
        court = (await uow.units.by_code("city-court")).id  # type: ignore[union-attr]
        officer = await actor_for(
            uow, await person_of(driver, await join(driver, "o", "hantai-justice", "officer", "钱"))
        )
        from handlers.ledger.report import OutOfScope

        with pytest.raises(OutOfScope):
            await build(uow, actor, between(FIRST, LAST, ZONE), NOW, unit_id=court)
        assert await build(uow, officer, between(FIRST, LAST, ZONE), NOW) is None


async def test_ledger_in_chat_sends_a_summary_and_a_chart_to_leaders_only(driver: DeskDriver, world: World) -> None:
    leader = await join(driver, "leader-city", "city-intake", "admin", "孙八")
    officer = await join(driver, "officer-x", "hantai-justice", "officer", "周九")
    replies = await driver.say(leader, "/ledger 2026-11")
    reply = replies[-1]
    assert reply.photo is not None and reply.photo.startswith("media:")
    plans = world.chosen()
    total = world.rates(plans)[0]
    assert f"（{world.rates(plans)[1]}/{total}）" in reply.text
    assert (
        driver.t("zh_CN", "ledger.text.title", period="2026-11", scope=driver.t("zh_CN", "ledger.scope.city"))
        in reply.text
    )
    async with driver.db.reading() as uow:
        image = await uow.ledger.charts.get(reply.photo.removeprefix("media:"))
        assert image is not None and image.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert image.person_id == await person_of(driver, leader)
    refused = await driver.say(officer, "/ledger")
    assert refused[-1].text == driver.t("zh_CN", "desk.command_refused")
    bad = await driver.say(leader, "/ledger someday")
    assert bad[-1].text == driver.t("zh_CN", "ledger.period.invalid")
    async with driver.db.reading() as uow:
        count = (await uow.session.execute(select(func.count()).select_from(ChartImage))).scalar_one()
    assert count == 1


def test_periods_read_as_leaders_write_them() -> None:
    now = NOW
    assert parse("", now, ZONE).label() == "2026-11-01 – 2026-11-27"
    assert parse("2026-11", now, ZONE).label() == "2026-11"
    assert parse("上月", now, ZONE).label() == "2026-10"
    assert parse("2026", now, ZONE).label() == "2026"
    q4 = parse("2026-Q4", now, ZONE)
    assert (q4.first.isoformat(), q4.last.isoformat()) == ("2026-10-01", "2026-12-31")
    week = parse("本周", now, ZONE)
    assert (week.first.isoformat(), week.last.isoformat()) == ("2026-11-23", "2026-11-27")
    span = parse("2026-11-03..2026-11-10", now, ZONE)
    assert (span.first.isoformat(), span.last.isoformat()) == ("2026-11-03", "2026-11-10")
    assert parse("30d", now, ZONE).first.isoformat() == "2026-10-29"
    from handlers.ledger.period import PeriodError

    for wrong in ("someday", "2026-13", "2026-02-30..2026-03-01", "5000d", "2020..2026"):
        with pytest.raises(PeriodError):
            parse(wrong, now, ZONE)
