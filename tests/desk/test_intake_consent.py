"""Consent: nothing personal is asked before "Agree"; sensitive data (ID number, money lost, health, minors) needs a
separate consent, asked once; declining either keeps the service guide and emergency help open."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.conversation.turn import State
from handlers.router import INTERVIEWS
from storage.models import Conversation, Person
from tests.conftest import DeskDriver, buttons
from tests.support.intake_walks import start

SENSITIVE_KEYS = {"fraud_amount", "age", "group", "card", "income", "id_number", "family"}


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


async def state_of(driver: DeskDriver) -> list[State]:
    async with driver.db.reading() as uow:
        rows = (await uow.session.execute(select(Conversation))).scalars().all()
        return [State.from_json(uow.conversations.unseal(row)) for row in rows]


async def people(driver: DeskDriver) -> list[Person]:
    async with driver.db.reading() as uow:
        return list((await uow.session.execute(select(Person).order_by(Person.id))).scalars().all())


def test_steps_asking_for_sensitive_data_are_flagged_and_optional() -> None:
    flagged = {s.key for i in INTERVIEWS.values() for s in i.steps if s.sensitive}
    assert flagged == SENSITIVE_KEYS
    assert all(s.optional for i in INTERVIEWS.values() for s in i.steps if s.sensitive)


async def test_no_question_before_agree_then_the_chosen_interview_starts(driver: DeskDriver) -> None:
    chat = driver.chat("first")
    notice = (await driver.press(chat, "menu:legal_aid"))[-1]
    assert notice.text == driver.t("zh_CN", "consent.notice")
    assert buttons(notice) == ["consent:agree", "consent:decline"]
    [state] = await state_of(driver)
    assert state.interview is None and state.pending == "legal_aid"
    typed = (await driver.say(chat, "我想申请法律援助"))[-1]
    assert "consent:agree" in buttons(typed)
    started = await driver.press(chat, "consent:agree")
    assert started[0].text == driver.t("zh_CN", "consent.thanks")
    assert driver.t("zh_CN", "legal_aid.matter") in started[-1].text
    [person] = await people(driver)
    assert person.consent_at is not None and person.sensitive_consent_at is None


async def test_declining_keeps_the_guide_and_emergency_help_but_asks_nothing(driver: DeskDriver) -> None:
    chat = driver.chat("no")
    await driver.say(chat, "/start")
    declined = (await driver.press(chat, "consent:decline"))[-1]
    assert declined.text.startswith(driver.t("zh_CN", "consent.declined"))
    assert "menu:dispute" in buttons(declined)
    again = (await driver.press(chat, "menu:dispute"))[-1]
    assert buttons(again) == ["consent:agree", "consent:decline"]
    guide = await driver.say(chat, "/guide")
    assert guide and all("consent:agree" not in buttons(r) for r in guide)
    assert all(r.text != driver.t("zh_CN", "error.internal") for r in guide)
    [state] = await state_of(driver)
    assert state.interview is None and state.answers == {}


async def test_sensitive_consent_is_separate_and_asked_once(driver: DeskDriver) -> None:
    walk = await start(driver, "once", "zh_CN")
    await walk.run([("press", "menu:legal_aid"), ("press", "labour"), ("press", "hantai")])
    await walk.run([("say", "老板欠我半年工资不给"), ("press", "none")])
    notice = walk.transcript[-1][-1]
    what = driver.t("zh_CN", "legal_aid.age.label")
    assert notice.text.startswith(driver.t("zh_CN", "sensitive.notice", what=what))
    assert driver.t("zh_CN", "legal_aid.age") not in notice.text  # the question waits for the consent
    assert buttons(notice)[:2] == ["sensitive:agree", "sensitive:decline"]
    nudged = (await walk.do(("say", "30岁")))[-1]
    assert nudged.text.startswith(driver.t("zh_CN", "engine.use_buttons")) and "sensitive:agree" in buttons(nudged)
    agreed = (await walk.do(("say", driver.t("zh_CN", "sensitive.agree"))))[-1]  # typed, as without buttons
    assert agreed.text.startswith(driver.t("zh_CN", "sensitive.thanks"))
    assert driver.t("zh_CN", "legal_aid.age") in agreed.text
    [person] = await people(driver)
    assert person.sensitive_consent_at is not None

    await walk.run([("press", "adult"), ("press", "migrant"), ("press", "nav:skip"), ("say", "13800138000")])
    await walk.run([("press", "nav:submit"), ("press", "menu:concern"), ("press", "fraud"), ("press", "today")])
    amount = walk.transcript[-1][-1]
    assert driver.t("zh_CN", "concern.fraud_amount") in amount.text and "sensitive:agree" not in buttons(amount)


async def test_declining_sensitive_data_skips_those_questions_and_is_asked_again_next_time(
    driver: DeskDriver,
) -> None:
    walk = await start(driver, "decline", "en")
    await walk.run([("press", "menu:legal_aid"), ("press", "traffic"), ("press", "hantai")])
    await walk.run([("say", "A truck hit me and drove away"), ("press", "none")])
    skipped = await walk.do(("press", "sensitive:decline"))
    assert skipped[0].text == driver.t("en", "sensitive.declined")
    assert driver.t("en", "common.phone") in skipped[-1].text  # age, group, card, income, ID number: all skipped
    summary = (await walk.do(("say", "13800138000")))[-1]
    assert f"{driver.t('en', 'legal_aid.age.label')}: {driver.t('en', 'engine.skipped')}" in summary.text
    [state] = await state_of(driver)
    assert {k: state.answers.get(k) for k in ("age", "group", "id_number")} == {
        "age": None,
        "group": None,
        "id_number": None,
    }
    await walk.do(("press", "nav:edit"))
    asked_again = (await walk.do(("press", "edit:age")))[-1]  # changing one's mind from the summary
    assert "sensitive:agree" in buttons(asked_again)
    question = (await walk.do(("press", "sensitive:agree")))[-1]
    assert driver.t("en", "legal_aid.age") in question.text
    await walk.do(("press", "adult"))
    await walk.do(("press", "nav:submit"))

    [person] = await people(driver)
    assert person.sensitive_consent_at is not None  # agreed at the edit
    other = await start(driver, "decline-2", "zh_CN")
    await other.run([("press", "menu:relief"), ("press", "hantai"), ("say", "丈夫被撞身亡，肇事者逃逸至今没有抓到")])
    await other.run([("press", "closed"), ("press", "police"), ("press", "sensitive:decline")])
    await other.run([("say", "13800138000"), ("press", "nav:submit"), ("press", "menu:concern"), ("press", "fraud")])
    await other.do(("press", "yesterday"))
    assert "sensitive:agree" in buttons(other.transcript[-1][-1])  # a decline holds for one interview only
