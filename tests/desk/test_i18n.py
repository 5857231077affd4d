"""Both catalogs complete: every id the code uses (literal, dotted, or built from a table) in zh_CN and en, nothing
fuzzy or untranslated, the same placeholders in both; `make i18n` keeps every translation; the language comes from
the client and /lang switches it."""

from __future__ import annotations

import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from bot.catalog import dotted_literals, extracted_ids, template, used_ids
from bot.i18n import LOCALES
from handlers.conversation.i18n import SUPPORTED, Translator
from handlers.conversation.places import COUNTIES, COURTS, TOWNSHIPS, township_label
from handlers.interviews import CATEGORIES
from handlers.router import INTERVIEWS
from handlers.tickets import lifecycle
from tests.conftest import DeskDriver

VENV_BIN = Path(sys.executable).parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def po_path(locale: str, root: Path = LOCALES) -> Path:
    return root / locale / "LC_MESSAGES" / "messages.po"


def read(locale: str, root: Path = LOCALES) -> dict[str, tuple[str, bool]]:
    with po_path(locale, root).open("rb") as handle:
        return {str(m.id): (str(m.string or ""), m.fuzzy) for m in read_po(handle, locale=locale) if m.id}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_no_fuzzy_untranslated_or_duplicate_entry_and_the_same_ids_in_both() -> None:
    catalogs = {locale: read(locale) for locale in SUPPORTED}
    for locale, catalog in catalogs.items():
        assert not [k for k, (_, fuzzy) in catalog.items() if fuzzy], f"fuzzy entries in {locale}"
        assert not [k for k, (text, _) in catalog.items() if not text.strip()], f"untranslated entries in {locale}"
        ids = re.findall(r'^msgid "(.+)"$', po_path(locale).read_text(encoding="utf-8"), re.M)
        assert not {i for i in ids if ids.count(i) > 1}, f"duplicate ids in {locale}"
    assert set(catalogs["zh_CN"]) == set(catalogs["en"])


def test_placeholders_are_the_same_in_both_languages_and_format() -> None:
    zh, en = read("zh_CN"), read("en")
    differ = {k: (fields(zh[k][0]), fields(en[k][0])) for k in zh if fields(zh[k][0]) != fields(en[k][0])}
    assert not differ
    for catalog in (zh, en):
        for text, _ in catalog.values():
            text.format(**{name: "x" for name in fields(text)})  # no stray brace, no positional field


def test_every_id_the_code_uses_is_in_both_catalogs() -> None:
    used = used_ids()
    for locale in SUPPORTED:
        catalog = read(locale)
        missing = {msgid: where for msgid, where in used.items() if msgid not in catalog}
        assert not missing, f"missing in {locale}: {missing}"
    assert "welcome" in extracted_ids()  # t("welcome"): a literal call
    assert "input.id_checksum" in dotted_literals({"input"})  # Rejected("input.id_checksum"): a dotted literal


def test_the_dynamic_families_are_complete_and_really_translated(translator: Translator) -> None:
    family = [f"county.{c}" for c in COUNTIES] + [f"court.{c}" for c in COURTS]
    family += [township_label(c, t) for c, codes in TOWNSHIPS.items() for t in codes]
    family += [f"{kind}.cat.{code}" for kind, codes in CATEGORIES.items() for code in codes]
    family += [f"status.{s}" for s in lifecycle.STATUSES]
    family += [f"kind.{i.kind}" for i in INTERVIEWS.values() if i.kind]
    family += [i.title for i in INTERVIEWS.values()]
    zh, en = read("zh_CN"), read("en")
    for msgid in family:
        assert msgid in zh and msgid in en, msgid
        assert CJK.search(zh[msgid][0]), f"{msgid} is not Chinese in zh_CN"
        assert zh[msgid][0] != en[msgid][0], f"{msgid} is the same in both languages"
    assert set(CATEGORIES) == {i.kind for i in INTERVIEWS.values() if i.kind}
    assert len(family) > 90


def test_make_i18n_extracts_and_updates_without_losing_a_translation(tmp_path: Path) -> None:
    """The desk reads the .po catalogs themselves (bot/i18n.py): there is nothing to compile."""
    root = tmp_path / "locales"
    shutil.copytree(LOCALES, root, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    pot = root / "messages.pot"
    with pot.open("wb") as handle:
        write_po(handle, template(), omit_header=True, width=0)
    command = ["update", "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap", "-i", str(pot), "-d", str(root)]
    done = subprocess.run([str(VENV_BIN / "pybabel"), *command, "-D", "messages"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for locale in SUPPORTED:
        assert read(locale, root) == read(locale)  # same ids, same translations, nothing fuzzy


@pytest.mark.parametrize(
    ("hint", "locale"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("zh-TW,zh;q=0.9", "zh_CN"),
        ("zh-hans", "zh_CN"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "en"),
        ("de-DE", "zh_CN"),
        (None, "zh_CN"),
    ],
)
def test_the_language_comes_from_the_client(translator: Translator, hint: str | None, locale: str) -> None:
    assert translator.locale_for(hint) == locale


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_the_first_message_picks_the_language_and_lang_switches_it_mid_interview(driver: DeskDriver) -> None:
    english = driver.chat("en-client", language="en-GB,en;q=0.9")
    assert (await driver.say(english, "/start"))[0].text == driver.t("en", "welcome")
    await driver.press(english, "consent:agree")
    await driver.press(english, "menu:service")
    menu = (await driver.say(english, "/lang"))[-1]
    assert [b.data for b in menu.all_buttons()] == ["lang:zh_CN", "lang:en"]
    switched = await driver.press(english, "lang:zh_CN")
    assert switched[0].text == driver.t("zh_CN", "lang.set", name="简体中文")
    assert driver.t("zh_CN", "service.help") in switched[-1].text  # the same step, now in Chinese
    later = driver.chat("en-client", language="en")  # the client's hint no longer overrides the choice
    assert (await driver.say(later, "/menu"))[-1].text == driver.t("zh_CN", "menu.title")
    back = await driver.say(english, "/lang en")
    assert driver.t("en", "service.help") in back[-1].text
