"""Emergency first: danger gets 110 / 120 / 119 before anything else, at any step, with or without consent; the
interview is kept (and "your form is kept" is said only when there is one), and the ticket it opens is urgent.
Domestic violence gets the protection order and the police warning letter, and its ticket goes to the police and
the court as urgent, not to mediation; self-harm gets 12356 and 120. An officer's own note never sets it off. The
vocabularies are data loaded by bot/ (the phrasing table is tests/unit/test_danger_phrasings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import DEMO_EMERGENCY_WORDS, read_emergency_words, rules_for
from bot.config import Settings
from handlers.conversation.danger import Lexicon
from handlers.conversation.emergency import DEFAULT_LEXICONS, EmergencyWordsError, is_emergency, parse_words
from handlers.conversation.turn import Rules
from handlers.desk import Desk
from storage.uow import Database
from tests.conftest import DeskDriver, FakeClock, buttons
from tests.support.intake_walks import load_demo_units, start, tickets_of

WORDS = read_emergency_words(DEMO_EMERGENCY_WORDS)


@pytest.mark.parametrize(
    ("text", "danger"),
    [
        ("救命！有人拿刀砍人", True),
        ("我家着火了", True),
        ("他说要跳楼", True),
        ("老公又打我了", True),
        ("我想打官司", False),
        ("Help! Someone has a knife", True),
        ("please help me", True),
        ("there is a FIRE next door", True),
        ("They want to kill me", True),
        ("I was fired last month", False),  # whole words only in Latin script
        ("I need help with my wages", False),  # bare "help" is how people ask how the desk works
        ("good skills", False),
        ("邻居占了我家的地", False),
        ("/help", False),
        ("", False),
    ],
)
def test_the_demo_word_lists(text: str, danger: bool) -> None:
    assert is_emergency(text, WORDS) is danger


def test_word_lists_are_data_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "words.toml"
    custom.write_text('[zh_CN]\nwords = ["山洪"]\n\n[en]\nwords = ["flood"]\n', encoding="utf-8")
    monkeypatch.setenv("SHISHI_EMERGENCY_WORDS", str(custom))
    rules = rules_for(Settings(_env_file=None))  # type: ignore[call-arg]
    assert dict(rules.emergency_words) == {"zh_CN": Lexicon(words=("山洪",)), "en": Lexicon(words=("flood",))}
    assert is_emergency("山洪来了", rules.emergency_words) and not is_emergency("救命", rules.emergency_words)
    assert set(WORDS) == {"zh_CN", "en"} and all(WORDS.values())
    for broken in ({}, {"en": {"words": []}}, {"en": {"words": ["ok", " "]}}, {"en": ["fire"]}):
        with pytest.raises(EmergencyWordsError):
            parse_words(broken)
    assert is_emergency("救命", {}) and DEFAULT_LEXICONS["zh_CN"].words  # nothing configured: the built-in lists


@pytest.fixture
async def driver(db: Database, translator, clock: FakeClock) -> DeskDriver:  # type: ignore[no-untyped-def]
    """The desk with the demo word lists, as bot/ builds it."""
    return DeskDriver(Desk(db, translator, Rules(emergency_words=WORDS), clock), db, translator)


async def test_danger_mid_interview_answers_first_keeps_the_step_and_marks_the_ticket_urgent(
    driver: DeskDriver,
) -> None:
    await load_demo_units(driver.db)
    walk = await start(driver, "danger", "zh_CN")
    await walk.run([("press", "menu:dispute"), ("press", "neighbours"), ("press", "hantai")])
    at_choice = await walk.do(("say", "救命，他拿刀过来了"))
    kept = driver.t("zh_CN", "emergency.kept")
    assert at_choice[0].text == driver.t("zh_CN", "emergency.call") + "\n\n" + kept
    assert driver.t("zh_CN", "common.township") in at_choice[-1].text  # the same step, asked again
    await walk.do(("press", "nav:skip"))
    told = await walk.do(("say", "邻居喝醉了打人，还说要放火烧我家的房子"))
    assert told[0].text.startswith(driver.t("zh_CN", "emergency.call")) and told[0].text.endswith(kept)
    assert driver.t("zh_CN", "dispute.other_party") in told[-1].text  # the description was taken
    await walk.run([("press", "nav:skip"), ("press", "nav:skip"), ("say", "13800138000"), ("press", "any")])
    await walk.do(("press", "nav:submit"))
    [(ticket, _)] = await tickets_of(driver.db)
    assert ticket.urgent and "打人" in ticket.summary

    calm = await start(driver, "calm", "zh_CN")
    await calm.run([("press", "menu:concern"), ("press", "other"), ("press", "hantai")])
    await calm.run([("say", "村口的路灯坏了半年没人修"), ("say", "13900139000"), ("press", "nav:submit")])
    assert [t.urgent for t, _ in await tickets_of(driver.db)] == [True, False]


async def test_danger_before_consent_after_a_decline_and_in_english(driver: DeskDriver) -> None:
    first = await driver.say(driver.chat("newcomer"), "救命 有人绑架我孩子")
    assert first[0].text == driver.t("zh_CN", "emergency.call")  # no form open: nothing is said to be kept
    assert "consent:agree" in buttons(first[-1])  # then the privacy notice, as for any first contact

    declined = driver.chat("declined")
    await driver.say(declined, "/start")
    await driver.press(declined, "consent:decline")
    again = await driver.say(declined, "有人要跳楼")
    assert again[0].text == driver.t("zh_CN", "emergency.call") + "\n\n" + driver.t("zh_CN", "emergency.self_harm")
    assert "menu:dispute" in buttons(again[-1])

    english = driver.chat("english", language="en")
    await driver.say(english, "/start")
    await driver.press(english, "consent:agree")
    help_me = await driver.say(english, "help me, he is beating me")
    assert help_me[0].text == driver.t("en", "emergency.call")
    quiet = await driver.say(english, "I was fired and need help")
    assert all(r.text != driver.t("en", "emergency.call") for r in quiet)


async def test_fraud_says_what_to_do_now_before_any_question_about_it(driver: DeskDriver) -> None:
    walk = await start(driver, "fraud-first", "zh_CN")
    opening = (await walk.do(("press", "menu:concern")))[-1]
    assert "96110" in opening.text and "110" in opening.text  # in the intro, before the first question
    assert opening.text.index("96110") < opening.text.index(driver.t("zh_CN", "concern.category"))
    chosen = await walk.do(("press", "fraud"))
    assert [r.text for r in chosen] == [driver.t("zh_CN", "concern.fraud.now"), driver.t("zh_CN", "concern.fraud_when")]
    for must in ("110", "96110", "银行", "止付"):
        assert must in chosen[0].text
    english = driver.t("en", "concern.fraud.now")
    assert "96110" in english and "stop and freeze the payment" in english


async def test_domestic_violence_is_told_the_protection_order_and_goes_to_police_and_court_as_urgent(
    driver: DeskDriver,
) -> None:
    from tests.support.officer_world import join

    await load_demo_units(driver.db)
    court = await join(driver, "court-officer", "hantai-court", "officer", "法官甲")
    police = await join(driver, "police-officer", "hantai-police", "officer", "民警乙")
    mediator = await join(driver, "justice-officer", "hantai-justice", "officer", "调解员丙")
    walk = await start(driver, "dv", "zh_CN")
    await walk.run([("press", "menu:dispute"), ("press", "family"), ("press", "hantai"), ("press", "nav:skip")])
    told = await walk.do(("say", "老公又打我了，喝了酒就动手，孩子也吓坏了"))
    warning = told[0].text
    assert warning.startswith(driver.t("zh_CN", "emergency.domestic")) and warning.endswith(
        driver.t("zh_CN", "emergency.kept")
    )
    for must in ("110", "告诫书", "人身安全保护令", "第二十三条", "72 小时", "24 小时", "第二十八条"):
        assert must in warning
    await walk.run([("press", "nav:skip"), ("press", "nav:skip"), ("say", "13800138000"), ("press", "any")])
    await walk.do(("press", "nav:submit"))
    [(ticket, unit)] = await tickets_of(driver.db)
    assert ticket.urgent and unit is not None and unit.code == "hantai-police"  # not the judicial office
    assert ticket.details["domestic_violence"] is True
    to_police = await driver.replies(police)
    to_court = await driver.replies(court)
    assert any(ticket.number in r.text and "t:claim:" in str(r.to_payload()) for r in to_police)
    copied = [r for r in to_court if ticket.number in r.text]
    assert copied and driver.t("zh_CN", "desk.alert.urgent") in copied[0].text and not copied[0].buttons
    assert not [r for r in await driver.replies(mediator) if ticket.number in r.text]

    english = await start(driver, "dv-en", "en")
    told = await english.do(("say", "my husband hits me every night"))
    assert told[0].text == driver.t("en", "emergency.domestic")  # no form open, so nothing is "kept"
    assert "Art. 23" in told[0].text and "72 hours" in told[0].text and "24 hours" in told[0].text


async def test_self_harm_is_answered_warmly_with_12356_and_120(driver: DeskDriver) -> None:
    walk = await start(driver, "low", "zh_CN")
    told = await walk.do(("say", "我真的不想活了"))
    assert told[0].text == driver.t("zh_CN", "emergency.self_harm")
    assert "12356" in told[0].text and "120" in told[0].text
    english = await start(driver, "low-en", "en")
    told = await english.do(("say", "I want to kill myself"))
    assert told[0].text == driver.t("en", "emergency.self_harm") and "12356" in told[0].text


async def test_an_officers_note_about_a_case_never_sets_off_the_citizen_warning(driver: DeskDriver) -> None:
    from tests.support.officer_world import UNIT_A, plant_ticket, staff

    await load_demo_units(driver.db)
    team = await staff(driver)
    citizen = driver.chat("citizen")
    await driver.agree(citizen)
    planted = await plant_ticket(driver, citizen, UNIT_A, status="claimed", officer=team.officer_a)
    await driver.press(team.officer_a, f"t:note:{planted.id}")
    noted = await driver.say(team.officer_a, "当事人称老公打她，已建议报警并申请人身安全保护令")
    warnings = {driver.t("zh_CN", m) for m in ("emergency.call", "emergency.domestic", "emergency.self_harm")}
    assert not [r for r in noted if any(r.text.startswith(w) for w in warnings)]
    assert driver.t("zh_CN", "desk.note.saved", number=planted.number) in noted[-1].text
    still = await driver.say(team.officer_a, "救命")  # outside a form of their own, an officer is a person too
    assert still[0].text == driver.t("zh_CN", "emergency.call")
