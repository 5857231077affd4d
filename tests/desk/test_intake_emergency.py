"""Emergency first: danger words get 110 / 120 / 119 before anything else, at any step, with or without consent;
the interview is kept, and the ticket it opens is urgent. The word lists are data loaded by bot/."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import DEMO_EMERGENCY_WORDS, read_emergency_words, rules_for
from bot.config import Settings
from handlers.conversation.emergency import DEFAULT_WORDS, EmergencyWordsError, is_emergency, parse_words
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
    assert dict(rules.emergency_words) == {"zh_CN": ("山洪",), "en": ("flood",)}
    assert is_emergency("山洪来了", rules.emergency_words) and not is_emergency("救命", rules.emergency_words)
    assert set(WORDS) == {"zh_CN", "en"} and all(WORDS.values())
    for broken in ({}, {"en": {"words": []}}, {"en": {"words": ["ok", " "]}}, {"en": ["fire"]}):
        with pytest.raises(EmergencyWordsError):
            parse_words(broken)
    assert is_emergency("救命", {}) and DEFAULT_WORDS["zh_CN"]  # nothing configured: the built-in lists


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
    assert at_choice[0].text == driver.t("zh_CN", "emergency.call")
    assert driver.t("zh_CN", "common.township") in at_choice[-1].text  # the same step, asked again
    await walk.do(("press", "nav:skip"))
    told = await walk.do(("say", "邻居喝醉了打人，还说要放火烧我家的房子"))
    assert told[0].text == driver.t("zh_CN", "emergency.call")
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
    assert first[0].text == driver.t("zh_CN", "emergency.call")
    assert "consent:agree" in buttons(first[-1])  # then the privacy notice, as for any first contact

    declined = driver.chat("declined")
    await driver.say(declined, "/start")
    await driver.press(declined, "consent:decline")
    again = await driver.say(declined, "有人要跳楼")
    assert again[0].text == driver.t("zh_CN", "emergency.call") and "menu:dispute" in buttons(again[-1])

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
