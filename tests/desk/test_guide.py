"""The service guide (便民服务指南) on real SQLite and PostgreSQL: real queries find the right entry first, free text
outside an interview becomes a search (also after declining the privacy notice), and the data file loads all or
nothing through `python -m bot guide load`."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from handlers.outreach.guide import GuideDataError, convincing, load_guide, search
from storage.uow import Database
from tests.conftest import TEST_SECRET, DeskDriver, FakeClock, buttons

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "demo" / "guide.toml"

# What citizens type, and the entry that must come first.
QUERIES = [
    ("新车上户 西乡", "xixiang-vehicle-registration"),
    ("听力障碍 立案", "yangxian-court-accessible-window"),
    ("法律援助 怎么申请", "legal-aid-apply"),
    ("洋县 上牌", "yangxian-vehicle-registration"),
    ("过户 城固", "chenggu-vehicle-registration"),
    ("勉县新车登记", "mianxian-vehicle-registration"),
    ("驾考 乡镇", "rural-driving-test"),
    ("云上法庭", "cloud-court"),
    ("老人 打官司", "yangxian-court-accessible-window"),
    ("交不起诉讼费", "court-fee-relief"),
    ("无犯罪记录证明", "no-criminal-record"),
    ("身份证丢了怎么补办", "id-card-replacement"),
    ("讨薪", "legal-aid-wages"),
    ("车祸", "traffic-accident-quick"),
    ("公证 遗嘱", "hantai-notary"),
    ("new car registration in Mianxian", "mianxian-vehicle-registration"),
    ("how do I apply for legal aid", "legal-aid-apply"),
    ("online court hearing", "cloud-court"),
    ("deaf court Yang County", "yangxian-court-accessible-window"),
    ("driving test countryside", "rural-driving-test"),
    ("hukou transfer", "household-migration"),
    ("legal aid hotline", "legal-hotline-12348"),
]
# Chatter that must not be answered with a card.
NOT_QUERIES = ["你好", "在吗", "谢谢", "有人吗", "好的", "hello", "ok", "I need help", "123"]


def guide_data() -> dict[str, Any]:
    return tomllib.loads(GUIDE.read_text(encoding="utf-8"))


async def test_real_queries_find_the_right_entry_first(db: Database, clock: FakeClock) -> None:
    assert await load_guide(db, guide_data(), clock()) == 23
    wrong = {}
    async with db.reading() as uow:
        for query, expected in QUERIES:
            results = convincing(await search(uow, query))
            first = results[0].entry.code if results else None
            if first != expected:
                wrong[query] = first
        shown = {text: [r.entry.code for r in convincing(await search(uow, text))] for text in NOT_QUERIES}
    assert wrong == {}
    assert all(codes == [] for codes in shown.values()), shown


async def test_a_county_in_the_query_lifts_that_county_above_the_others(db: Database, clock: FakeClock) -> None:
    await load_guide(db, guide_data(), clock())
    async with db.reading() as uow:
        for county, code in [("西乡", "xixiang"), ("洋县", "yangxian"), ("城固", "chenggu"), ("勉县", "mianxian")]:
            results = await search(uow, f"新车上户 {county}")
            assert results[0].entry.code == f"{code}-vehicle-registration"
            assert results[0].hit.score > 3 * results[1].hit.score  # not a coin toss between the four counties
        # Without a county, the citizen's own county (from their subscription settings) tips the balance.
        home = await search(uow, "新车上户", home_county="mianxian")
    assert home[0].entry.code == "mianxian-vehicle-registration"


async def test_free_text_outside_an_interview_shows_cards_then_the_menu(driver: DeskDriver) -> None:
    await load_guide(driver.db, guide_data(), driver.desk.clock())
    chat = driver.chat("g1")
    await driver.say(chat, "/start")
    declined = (await driver.press(chat, "consent:decline"))[-1]
    assert "guide:home" in buttons(declined)  # the guide stays in the menu after a Decline
    replies = await driver.say(chat, "新车上户 西乡")
    assert "西乡县机动车登记服务站" in replies[0].text and "12123" in replies[0].text
    assert replies[-1].text.startswith(driver.t("zh_CN", "guide.more", count=len(replies) - 1))
    assert {"menu:dispute", "guide:home", "sub:show"} <= set(buttons(replies[-1]))
    chatter = await driver.say(chat, "你好")
    assert len(chatter) == 1 and "menu:dispute" in buttons(chatter[0])
    english = await driver.say(chat, "/lang en")
    assert english
    cards = await driver.say(chat, "legal aid for unpaid wages")
    assert cards[0].text.startswith("📌 Fast lane for migrant workers' unpaid wages")
    assert "Legal Aid Law, Art. 42" in cards[0].text  # a rule from law names its source


async def test_browse_by_category_and_open_the_related_interview(driver: DeskDriver) -> None:
    await load_guide(driver.db, guide_data(), driver.desk.clock())
    chat = driver.chat("g2")
    home = (await driver.press(chat, "guide:home"))[-1]
    assert "guide:c:vehicles" in buttons(home) and "guide:c:disputes" in buttons(home)
    listing = (await driver.press(chat, "guide:c:disputes"))[-1]
    assert "guide:e:people-mediation" in buttons(listing)
    card = (await driver.press(chat, "guide:e:people-mediation"))[-1]
    assert "《人民调解法》第四条" in card.text
    assert "menu:dispute" in buttons(card)  # the card opens the dispute interview
    opened = await driver.press(chat, "menu:dispute")
    assert opened[-1].buttons  # the privacy notice or the first step: the interview started
    searched = await driver.say(chat, "/guide 云上法庭")
    assert "云上法庭" in searched[0].text


async def test_a_bad_data_file_changes_nothing(db: Database, clock: FakeClock) -> None:
    await load_guide(db, guide_data(), clock())
    broken = guide_data()
    broken["entry"][3]["county"] = "atlantis"
    with pytest.raises(GuideDataError, match="atlantis"):
        await load_guide(db, broken, clock())
    missing = guide_data()
    del missing["entry"][0]["en"]["title"]
    with pytest.raises(GuideDataError, match="title"):
        await load_guide(db, missing, clock())
    async with db.reading() as uow:
        assert await uow.guide.count() == 23
        assert convincing(await search(uow, "新车上户 西乡"))[0].entry.code == "xixiang-vehicle-registration"


def test_guide_load_command(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHISHI_DATA_DIR": str(tmp_path),
        "SHISHI_SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'guide.db'}",
        "LOG_LEVEL": "WARNING",
    }
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "guide", "load", str(GUIDE)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "loaded 23 guide entries"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[category]]\ncode = "x"\nzh = "x"\nen = "x"\n[[entry]]\ncode = "a"\ncategory = "nope"\n')
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "guide", "load", str(bad)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "unknown category 'nope'" in refused.stderr
