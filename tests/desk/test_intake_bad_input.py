"""Bad input everywhere: each gets a message naming what is wrong and the same step again, nothing typed before is
lost, and after three failures the citizen is offered to skip (optional steps) or to talk to a person."""

from __future__ import annotations

import pytest

from handlers.conversation.engine import FAILS_BEFORE_HELP
from handlers.conversation.inputs import id_number_problem, normalise_mobile
from handlers.conversation.messages import Attachment, Contact, Location
from handlers.conversation.numbers import parse_amount
from handlers.interviews.relief import AUTHORITIES, STAGES
from handlers.interviews.service import HELP, WHEN
from tests.conftest import DeskDriver, buttons
from tests.support.intake_walks import VALID_ID, Walk, start

DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Input rules are the same on both databases; the walks in test_intake_interviews cover PostgreSQL."""
    return sqlite_url


def numbered(walk: Walk, prefix: str, values: tuple[str, ...]) -> str:
    """The options as "or type its number" lists them: "1 … · 2 …"."""
    return " · ".join(f"{i} {walk.driver.t(walk.locale, f'{prefix}.{v}')}" for i, v in enumerate(values, start=1))


async def rejected(walk: Walk, action: tuple[object, ...], reason: str, question: str, **params: object) -> None:
    reply = (await walk.do(action))[-1]
    t = walk.driver.t
    assert reply.text.startswith(t(walk.locale, reason, **params)), reply.text
    assert t(walk.locale, question) in reply.text


async def test_id_number_failing_gb_11643_is_refused_with_the_reason(driver: DeskDriver) -> None:
    walk = await start(driver, "bad-id", "zh_CN")
    await walk.run(
        [
            ("press", "menu:legal_aid"),
            ("press", "support"),
            ("press", "hantai"),
            ("say", "离婚后对方一直不给孩子抚养费"),
            ("press", "abuse_victim"),
            ("press", "sensitive:agree"),
            ("press", "adult"),
        ]
    )
    ask = "legal_aid.id_number"
    await rejected(walk, ("say", "12345"), "input.id_length", ask)
    await rejected(walk, ("say", "110105194912310021"), "input.id_checksum", ask)  # last digit should be X
    await rejected(walk, ("say", "110105194913310020"), "input.id_invalid", ask)  # month 13
    await rejected(walk, ("say", "110105209912310028"), "input.id_invalid", ask)  # born in the future
    await rejected(walk, ("photo", "id-card-photo"), "input.text_expected", ask)
    phone_step = (await walk.do(("say", "1101 0519 4912 31002x")))[-1]  # spaces and a small x are fine
    assert driver.t("zh_CN", "common.phone") in phone_step.text


def test_id_number_rules_on_their_own() -> None:
    from datetime import date

    today = date(2026, 11, 27)
    assert id_number_problem(VALID_ID, today) is None
    assert id_number_problem("11010519491231002X"[:-1] + "1", today) == "input.id_checksum"
    assert id_number_problem("11010519491231002", today) == "input.id_length"
    assert id_number_problem("01010519491231002X", today) == "input.id_invalid"


async def test_dates_amounts_and_counts(driver: DeskDriver) -> None:
    walk = await start(driver, "bad-fraud", "en")
    await walk.run([("press", "menu:concern"), ("press", "fraud")])
    ask = "concern.fraud_when"
    await rejected(walk, ("say", "2026-12-01"), "input.date_future", ask)  # the clock says 2026-11-27
    await rejected(walk, ("say", "2026-02-30"), "input.date_invalid", ask)
    await rejected(walk, ("say", "last week"), "input.date_invalid", ask)
    await rejected(walk, ("location", 33.0, 107.0), "input.text_expected", ask)
    await walk.do(("press", "yesterday"))
    await walk.do(("press", "sensitive:agree"))
    ask = "concern.fraud_amount"
    await rejected(walk, ("say", "a lot"), "input.amount_invalid", ask)
    await rejected(walk, ("say", "0"), "input.amount_range", ask, max="100,000,000")
    await rejected(walk, ("say", "200000000"), "input.amount_range", ask, max="100,000,000")
    await walk.do(("say", "3k"))
    await walk.run([("press", "mobile_pay"), ("press", "nav:skip"), ("press", "hantai")])
    await walk.run([("say", "Someone posing as a courier took my money"), ("say", "13800138000")])
    summary = walk.transcript[-1][-1]
    assert driver.t("en", "input.amount_show", amount="3,000") in summary.text
    assert "2026-11-26" in summary.text

    walk = await start(driver, "bad-wages", "zh_CN")
    await walk.run([("press", "menu:concern"), ("press", "wages"), ("say", "某建筑公司")])
    ask = "concern.wages_workers"
    await rejected(walk, ("say", "很多人"), "input.count_invalid", ask)
    await rejected(walk, ("say", "12 或 13"), "input.count_invalid", ask)
    await rejected(walk, ("say", "0"), "input.count_range", ask, min=1, max=100_000)
    amount_step = (await walk.do(("say", "30人")))[-1]
    assert driver.t("zh_CN", "concern.wages_amount") in amount_step.text


def test_amount_and_phone_parsing() -> None:
    assert str(parse_amount("5,000 元")) == "5000.00"
    assert str(parse_amount("￥1.2万")) == "12000.00"
    assert parse_amount("5e3") is None and parse_amount("1.234") is None and parse_amount("") is None
    assert normalise_mobile("+86 138-0013-8000") == "13800138000"
    assert normalise_mobile("0086 13800138000") == "13800138000"
    assert normalise_mobile("029 8888 8888") is None  # a landline
    assert normalise_mobile("+1 212 555 0100") is None


async def test_text_phone_and_choice_mistakes_keep_the_earlier_answers(driver: DeskDriver) -> None:
    walk = await start(driver, "bad-text", "en")
    await walk.run([("press", "menu:relief"), ("press", "chenggu")])
    ask = "relief.description"
    await rejected(walk, ("say", "   "), "input.blank", ask)
    await rejected(walk, ("say", "x" * 2001), "input.too_long", ask, max=2000, got=2001)
    await rejected(walk, ("say", "🙏🙏🙏"), "input.no_words", ask)
    await rejected(walk, ("voice", "voice-1"), "input.text_expected", ask)
    await rejected(walk, ("press", "edit:county"), "input.stale_button", ask)
    switch = (await walk.do(("press", "menu:dispute")))[-1]  # an old menu button: the form is not thrown away
    assert switch.text == driver.t(
        "en", "menu.switch", title=driver.t("en", "menu.relief"), new=driver.t("en", "menu.dispute")
    )
    assert buttons(switch) == ["menu:continue", "menu:dispute:new"]
    assert driver.t("en", ask) in (await walk.do(("press", "menu:continue")))[-1].text
    await walk.do(("say", "My son was badly hurt and the attacker cannot pay"))
    stages = numbered(walk, "relief.stage", STAGES)
    await rejected(walk, ("say", "99"), "input.choose_number", "relief.stage", options=stages)
    await walk.do(("say", "3"))  # the third option, typed as on a channel without buttons
    authorities = numbered(walk, "relief.authority", AUTHORITIES)
    await rejected(walk, ("say", "the judge"), "input.choose_number", "relief.authority", options=authorities)
    await walk.do(("say", "Court"))  # an option's label, typed
    await walk.do(("press", "sensitive:agree"))
    await walk.do(("press", "nav:skip"))
    ask = "common.phone"
    await rejected(walk, ("contact", "+86 123 4567 8901"), "input.phone_invalid", ask)
    other = await driver.send(walk.chat, contact=Contact("13800138000", own=False))
    assert other[-1].text.startswith(driver.t("en", "input.phone_not_own"))
    await rejected(walk, ("location", 33.0, 107.0), "input.phone_expected", ask)
    summary = (await walk.do(("contact", "+86 139 1234 5678")))[-1]
    for kept in ("My son was badly hurt", driver.t("en", "relief.stage.trial"), driver.t("en", "county.chenggu")):
        assert kept in summary.text


async def test_three_failures_offer_a_person_on_required_steps_and_skip_on_optional_ones(
    driver: DeskDriver,
) -> None:
    walk = await start(driver, "three-fails", "zh_CN")
    await walk.run([("press", "menu:dispute"), ("press", "land"), ("press", "hantai"), ("press", "beiguan")])
    for attempt in range(1, FAILS_BEFORE_HELP + 1):
        reply = (await walk.do(("say", "太短")))[-1]
        offered = "help:person" in buttons(reply)
        assert offered == (attempt >= FAILS_BEFORE_HELP)
        assert (driver.t("zh_CN", "engine.fails_help") in reply.text) == offered
    helped = await walk.do(("press", "help:person"))
    assert helped[0].text == driver.t("zh_CN", "help.person")
    assert driver.t("zh_CN", "dispute.description") in helped[-1].text
    await walk.do(("say", DESCRIPTION))

    for _ in range(FAILS_BEFORE_HELP):
        reply = (await walk.do(("say", "😀")))[-1]
    assert driver.t("zh_CN", "engine.fails_optional") in reply.text and "nav:skip" in buttons(reply)
    assert "help:person" not in buttons(reply)
    media_step = (await walk.do(("press", "nav:skip")))[-1]
    assert driver.t("zh_CN", "dispute.evidence") in media_step.text
    assert not media_step.text.startswith(driver.t("zh_CN", "engine.fails_optional"))  # the count starts again
    await walk.do(("say", "没有照片"))
    await walk.do(("photo", "p-1"))
    await walk.run([("press", "done"), ("say", "13800138000"), ("press", "morning")])
    summary = walk.transcript[-1][-1]
    assert DESCRIPTION in summary.text and driver.t("zh_CN", "township.hantai.beiguan") in summary.text
    assert driver.t("zh_CN", "input.media_count", count=1) in summary.text


async def test_a_location_answers_where_and_media_is_refused_at_a_choice(driver: DeskDriver) -> None:
    walk = await start(driver, "bad-service", "zh_CN")
    await walk.run([("press", "menu:service")])
    kinds = numbered(walk, "service.cat", HELP)
    await rejected(walk, ("photo", "p"), "input.choose_number", "service.help", options=kinds)
    await walk.run([("press", "elderly"), ("press", "foping")])
    await rejected(walk, ("say", "a"), "input.too_short", "service.where", min=2)
    reply = await driver.send(walk.chat, location=Location(33.5, 107.9))
    assert driver.t("zh_CN", "service.when") in reply[-1].text
    too_many = await driver.send(walk.chat, attachments=(Attachment("photo", "x"),))
    when = numbered(walk, "service.when", WHEN)
    assert too_many[-1].text.startswith(driver.t("zh_CN", "input.choose_number", options=when))
