"""Every interview and every branch, walked through the real Desk in both languages, on SQLite and PostgreSQL.

Each row of WALKS is one path through one interview: the citizen's inputs after consent, and what the ticket
must hold at the end — kind, category, place, the unit routing picked from demo/hanzhong.toml, and details.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from handlers.router import INTERVIEWS
from handlers.tickets.legal_aid import LAW
from tests.conftest import PG_ADMIN_URL, DeskDriver, buttons, need, open_db
from tests.support.intake_walks import VALID_ID, Action, load_demo_units, start, tickets_of

DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成"
PHONE = ("say", "+86 138 0013 8000")
SUBMIT = ("press", "nav:submit")
AGREE = ("press", "sensitive:agree")
SKIP = ("press", "nav:skip")


@dataclass(frozen=True)
class Case:
    name: str
    actions: tuple[Action, ...]
    kind: str
    category: str
    unit: str
    county: str = "hantai"
    township: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    attachments: int = 0
    article: str | None = None  # legal aid: the article the outcome cites
    outcome: str | None = None
    urgent: bool = False  # a message of the walk spoke of violence


WALKS = [
    Case(
        "dispute-every-answer",
        (
            ("press", "menu:dispute"),
            ("press", "land"),
            ("press", "chenggu"),
            ("press", "bowang"),
            ("say", DESCRIPTION),
            ("say", "邻居王某"),
            ("photo", "photo-1"),
            ("voice", "voice-1"),
            ("press", "done"),
            PHONE,
            ("press", "evening"),
            SUBMIT,
        ),
        "dispute",
        "land",
        "chenggu-so-bowang",
        county="chenggu",
        township="bowang",
        details={"other_party": "邻居王某", "contact_time": "evening"},
        attachments=2,
    ),
    Case(
        "dispute-skipping-the-optional",
        (
            ("press", "menu:dispute"),
            ("press", "family"),
            ("press", "liuba"),
            SKIP,
            ("say", DESCRIPTION),
            SKIP,
            SKIP,
            ("contact", "+8613800138000"),
            ("press", "any"),
            SUBMIT,
        ),
        "dispute",
        "family",
        "liuba-justice",
        county="liuba",
        details={"contact_time": "any"},
    ),
    Case(
        "concern-fraud",
        (
            ("press", "menu:concern"),
            ("press", "fraud"),
            ("say", "2026-11-20"),
            AGREE,
            ("say", "¥1.5万"),
            ("press", "bank_transfer"),
            ("say", "对方QQ 123456789，收款卡 6222 0000 1111"),
            ("press", "hantai"),
            ("say", "有人冒充客服让我转账退款，转了之后就联系不上了"),
            PHONE,
            SUBMIT,
        ),
        "concern",
        "fraud",
        "hantai-police",
        details={
            "fraud_when": "2026-11-20",
            "fraud_amount": "15000.00",
            "fraud_paid": "bank_transfer",
            "fraud_suspect": "对方QQ 123456789，收款卡 6222 0000 1111",
        },
    ),
    Case(
        "concern-wages",
        (
            ("press", "menu:concern"),
            ("press", "wages"),
            ("say", "汉中某建筑公司，滨江小区项目"),
            ("say", "约30人"),
            ("say", "120,000元"),
            ("say", "2026/06/01"),
            ("press", "hantai"),
            ("say", "工程早就完工了，老板一直拖着不发工资"),
            PHONE,
            SUBMIT,
        ),
        "concern",
        "wages",
        "hantai-legalaid",
        details={
            "wages_employer": "汉中某建筑公司，滨江小区项目",
            "wages_workers": 30,
            "wages_amount": "120000.00",
            "wages_since": "2026-06-01",
        },
    ),
    Case(
        "concern-enforcement",
        (
            ("press", "menu:concern"),
            ("press", "enforcement"),
            ("say", "（2025）陕0702执123号"),
            ("press", "hantai"),
            ("press", "hantai"),
            ("say", "判决生效一年了，对方一分钱都没有给"),
            PHONE,
            SUBMIT,
        ),
        "concern",
        "enforcement",
        "hantai-court",
        details={"case_number": "（2025）陕0702执123号", "court": "hantai"},
    ),
    Case(
        "concern-public-safety",
        (
            ("press", "menu:concern"),
            ("press", "public_safety"),
            ("press", "nanzheng"),
            ("say", "小区门口每天晚上有人聚众赌博，吵得没法休息"),
            PHONE,
            SUBMIT,
        ),
        "concern",
        "public_safety",
        "nanzheng-police",
        county="nanzheng",
    ),
    Case(
        "concern-other",
        (
            ("press", "menu:concern"),
            ("press", "other"),
            ("press", "hantai"),
            ("say", "村里的路灯坏了半年，一直没人来修"),
            PHONE,
            SUBMIT,
        ),
        "concern",
        "other",
        "hantai-justice",
    ),
    Case(
        "legal-aid-art32-abuse-with-id-number",
        (
            ("press", "menu:legal_aid"),
            ("press", "support"),
            ("press", "hantai"),
            ("say", "丈夫长期打我，离婚后不给孩子抚养费"),
            ("press", "abuse_victim"),
            AGREE,
            ("press", "adult"),
            ("say", VALID_ID),
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "support",
        "hantai-legalaid",
        details={"special": "abuse_victim", "age": "adult"},
        article="32(4)",
        outcome="likely",
        urgent=True,  # "丈夫长期打我": domestic violence, though the application stays with the legal aid centre
    ),
    Case(
        "legal-aid-art42-migrant-worker-pay",
        (
            ("press", "menu:legal_aid"),
            ("press", "labour"),
            ("press", "hantai"),
            ("say", "在工地干了八个月，包工头欠我三万块工资"),
            ("press", "none"),
            AGREE,
            ("press", "adult"),
            ("press", "migrant"),
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "labour",
        "hantai-legalaid",
        details={"special": "none", "group": "migrant"},
        article="42(3)",
        outcome="likely",
    ),
    Case(
        "legal-aid-migrant-worker-other-matter-asks-hardship",
        (
            ("press", "menu:legal_aid"),
            ("press", "traffic"),
            ("press", "hantai"),
            ("say", "骑电动车被货车撞伤，对方不赔医药费"),
            ("press", "none"),
            AGREE,
            ("press", "adult"),
            ("press", "migrant"),
            ("press", "no"),
            ("press", "below"),
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "traffic",
        "hantai-legalaid",
        details={"group": "migrant", "card": "no", "income": "below"},
        article="31+41",
        outcome="likely",
    ),
    Case(
        "legal-aid-art42-card",
        (
            ("press", "menu:legal_aid"),
            ("press", "medical"),
            ("press", "hantai"),
            ("say", "手术出了事故，医院不承认责任"),
            ("press", "none"),
            AGREE,
            ("press", "adult"),
            ("press", "none"),
            ("press", "yes"),
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "medical",
        "hantai-legalaid",
        details={"group": "none", "card": "yes"},
        article="42(2)",
        outcome="likely",
    ),
    Case(
        "legal-aid-review-when-unsure",
        (
            ("press", "menu:legal_aid"),
            ("press", "environment"),
            ("press", "hantai"),
            ("say", "附近工厂排污，鱼塘的鱼全死了"),
            ("press", "none"),
            AGREE,
            ("press", "adult"),
            ("press", "none"),
            ("press", "no"),
            ("press", "unsure"),
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "environment",
        "hantai-legalaid",
        details={"income": "unsure"},
        article="41+43",
        outcome="review",
    ),
    Case(
        "legal-aid-minor-with-guardian",
        (
            ("press", "menu:legal_aid"),
            ("press", "support"),
            ("press", "hantai"),
            ("say", "父母离婚后爸爸一直不给抚养费"),
            ("press", "none"),
            AGREE,
            ("press", "under18"),
            ("press", "yes"),
            ("press", "minor"),
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "support",
        "hantai-legalaid",
        details={"age": "under18", "guardian": "yes", "group": "minor"},
        article="42(1)",
        outcome="likely",
    ),
    Case(
        "legal-aid-declines-sensitive-data",
        (
            ("press", "menu:legal_aid"),
            ("press", "survivor_benefits"),
            ("press", "hantai"),
            ("say", "丈夫因公牺牲，抚恤金一直没有发下来"),
            ("press", "none"),
            ("press", "sensitive:decline"),
            PHONE,
            SUBMIT,
        ),
        "legal_aid",
        "survivor_benefits",
        "hantai-legalaid",
        details={"special": "none"},
        article="41+43",
        outcome="review",
    ),
    Case(
        "relief-before-a-court",
        (
            ("press", "menu:relief"),
            ("press", "hantai"),
            ("say", "儿子被人打成重伤，对方没有赔偿能力"),
            ("press", "trial"),
            ("press", "unknown"),
            AGREE,
            ("press", "medical_costs"),
            PHONE,
            SUBMIT,
        ),
        "relief",
        "court",
        "hantai-court",
        details={"stage": "trial", "authority": "unknown", "family": "medical_costs"},
        urgent=True,  # "儿子被人打成重伤": the emergency numbers first, and the ticket is urgent
    ),
    Case(
        "relief-with-the-police",
        (
            ("press", "menu:relief"),
            ("press", "hantai"),
            ("say", "丈夫被撞身亡，肇事者逃逸至今没有抓到"),
            ("press", "investigation"),
            ("press", "police"),
            AGREE,
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "relief",
        "procuratorate",
        "hantai-procuratorate",
        details={"stage": "investigation", "authority": "police"},
    ),
    Case(
        "service-by-location",
        (
            ("press", "menu:service"),
            ("press", "hearing_speech"),
            ("press", "hantai"),
            ("location", 33.0677, 107.0238),
            ("press", "weekend"),
            SKIP,
            PHONE,
            SUBMIT,
        ),
        "service",
        "hearing_speech",
        "hantai-justice",
        details={"where": {"lat": 33.0677, "lon": 107.0238}, "when": "weekend"},
    ),
    Case(
        "service-by-address",
        (
            ("press", "menu:service"),
            ("press", "home_visit"),
            ("press", "hantai"),
            ("say", "汉台区北关街道滨江小区3号楼2单元"),
            ("press", "asap"),
            ("say", "老人坐轮椅，需要上门"),
            PHONE,
            SUBMIT,
        ),
        "service",
        "home_visit",
        "hantai-justice",
        details={"where": "汉台区北关街道滨江小区3号楼2单元", "when": "asap"},
    ),
]


def test_the_walks_cover_every_interview_and_every_category() -> None:
    kinds = {case.kind for case in WALKS}
    assert kinds == {i.kind for i in INTERVIEWS.values() if i.in_menu}
    from handlers.interviews.concern import CATEGORIES as CONCERN

    assert {c.category for c in WALKS if c.kind == "concern"} == set(CONCERN)
    assert {c.category for c in WALKS if c.kind == "relief"} == {"court", "procuratorate"}


# Every walk in both languages on SQLite; on PostgreSQL one walk per interview (the storage paths are the same).
ON_POSTGRES = {
    "dispute-every-answer",
    "concern-fraud",
    "legal-aid-art32-abuse-with-id-number",
    "relief-before-a-court",
    "service-by-location",
}
PARAMS = [
    pytest.param(case, db, locale, id=f"{case.name}-{db}-{locale}")
    for case in WALKS
    for db, locale in (("sqlite", "zh_CN"), ("sqlite", "en"), ("postgres", "zh_CN"))
    if db == "sqlite" or case.name in ON_POSTGRES
]


@pytest.fixture(scope="module")
def units_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated SQLite template with the demo units loaded once for the whole module."""
    path = tmp_path_factory.mktemp("units") / "units.db"
    shutil.copy(sqlite_template, path)

    async def load() -> None:
        db = await open_db(f"sqlite+aiosqlite:///{path}")
        await load_demo_units(db)
        await db.dispose()

    asyncio.run(load())
    return path


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, units_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "shishi.db"
        shutil.copy(units_template, path)
        return f"sqlite+aiosqlite:///{path}"
    template = request.getfixturevalue("pg_template")
    need(template is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    return str(template)


@pytest.mark.parametrize(("case", "db_url", "locale"), PARAMS, indirect=["db_url"])
async def test_walk(driver: DeskDriver, case: Case, locale: str) -> None:
    if not driver.db.sqlite:
        await load_demo_units(driver.db)  # the PostgreSQL database is emptied before every test
    walk = await start(driver, f"walk-{case.name}", locale)
    *before, submit = case.actions
    replies = await walk.run(list(before))
    summary = replies[-1]
    interview = next(i for i in INTERVIEWS.values() if i.kind == case.kind)
    assert summary.text.startswith(driver.t(locale, "engine.summary_title", title=driver.t(locale, interview.title)))
    assert "nav:submit" in buttons(summary) and "nav:edit" in buttons(summary)
    receipt = await walk.do(submit)

    [(ticket, unit)] = await tickets_of(driver.db)
    assert (ticket.kind, ticket.category, ticket.county, ticket.township) == (
        case.kind,
        case.category,
        case.county,
        case.township,
    )
    assert unit is not None and unit.code == case.unit
    unit_name = unit.name_zh if locale == "zh_CN" else unit.name_en
    created = driver.t(locale, "ticket.created", number=ticket.number, unit=unit_name)
    assert any(r.text.startswith(created) for r in receipt)
    assert ticket.status == "new" and ticket.locale == locale and ticket.urgent == case.urgent
    assert ticket.phone_masked == "138****8000" and "13800138000" not in str(ticket.details)
    async with driver.db.reading() as uow:
        answers = uow.tickets.answers(ticket)
    sensitive = {s.key for s in interview.steps if s.sensitive}
    for key, value in case.details.items():
        assert answers.get(key) == value, key
        assert (key in ticket.details) == (key not in sensitive), f"{key} sealed only when its step is sensitive"
    assert len(ticket.attachments) == case.attachments
    if case.kind == "legal_aid":
        assert "assessment" not in ticket.details  # read from sensitive answers: sealed with them
        assessment = answers["assessment"]
        assert assessment["article"] == f"{LAW} Art. {case.article}" and assessment["outcome"] == case.outcome
        outcome = receipt[-1].text
        assert outcome.startswith(driver.t(locale, f"legal_aid.outcome.{case.outcome}", reason="").split("{")[0][:6])
        assert driver.t(locale, "legal_aid.deadline") in outcome
        assert ("第四十三条" if locale == "zh_CN" else "Art. 43") in outcome
        assert ticket.details.get("id_number") is None
        if ("say", VALID_ID) in case.actions:
            assert ticket.id_number_sealed and VALID_ID not in ticket.id_number_sealed
            assert driver.db.cipher.decrypt(ticket.id_number_sealed) == VALID_ID
            assert "1101**********002X" in summary.text and VALID_ID not in summary.text
        else:
            assert ticket.id_number_sealed is None
