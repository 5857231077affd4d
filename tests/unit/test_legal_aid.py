"""Legal-aid outcomes, one test per rule of handlers/legal_aid.py, each asserting the article it cites — in the rule's
result, in the ticket's details, and in the text the citizen reads in both languages."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from handlers.conversation.i18n import Translator
from handlers.tickets.legal_aid import (
    AGES,
    GROUP_CHOICES,
    INCOMES,
    LAW,
    MATTERS,
    SPECIAL_CHOICES,
    Assessment,
    asks_hardship,
    asks_income,
    assess,
)

# How the article of each rule reads in each catalog.
ARTICLE_TEXT = {
    "32(1)": ("第三十二条第一项", "Art. 32(1)"),
    "32(2)": ("第三十二条第二项", "Art. 32(2)"),
    "32(3)": ("第三十二条第三项", "Art. 32(3)"),
    "32(4)": ("第三十二条第四项", "Art. 32(4)"),
    "42(1)": ("第四十二条第一项", "Art. 42(1)"),
    "42(2)": ("第四十二条第二项", "Art. 42(2)"),
    "42(3)": ("第四十二条第三项", "Art. 42(3)"),
    "31+41": ("第四十一条", "Art. 31 and 41"),
    "31(9)": ("第三十一条第九项", "Art. 31(9)"),
    "41+43": ("第四十一条", "Art. 41"),
}


def answers(**given: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"matter": "support", "special": "none", "age": "adult", "group": "none"}
    return {**base, **given}


def says(translator: Translator, result: Assessment) -> None:
    """The reason the citizen reads names the article, in both languages, and the outcome never says no."""
    zh, en = ARTICLE_TEXT[result.article]
    assert zh in translator("zh_CN", result.reason)
    assert en in translator("en", result.reason)
    for doc in result.documents:
        assert translator("zh_CN", doc) != doc and translator("en", doc) != doc


@pytest.mark.parametrize(
    ("special", "article"),
    [("hero_relative", "32(1)"), ("bravery", "32(2)"), ("retrial_acquittal", "32(3)"), ("abuse_victim", "32(4)")],
)
def test_art_32_needs_no_means_test_whatever_the_matter_or_income(
    translator: Translator, special: str, article: str
) -> None:
    for matter in ("state_compensation", "other"):
        result = assess(answers(matter=matter, special=special, group=None, income="above"))
        assert (result.outcome, result.article) == ("likely", article)
        assert f"legal_aid.doc.{special}" in result.documents
        says(translator, result)
    assert not asks_hardship(answers(special=special))


@pytest.mark.parametrize("group", ["minor", "elderly", "disabled"])
def test_art_42_1_waives_the_hardship_check_for_people_without_a_fixed_income(
    translator: Translator, group: str
) -> None:
    result = assess(answers(group=group, income="above"))
    assert (result.outcome, result.article, result.reason) == ("likely", "42(1)", f"legal_aid.reason.{group}")
    says(translator, result)
    assert not asks_hardship(answers(group=group))


def test_art_42_2_waives_it_for_recipients_of_assistance_relief_or_special_care(translator: Translator) -> None:
    result = assess(answers(group="assisted"))
    assert (result.outcome, result.article) == ("likely", "42(2)")
    assert "legal_aid.doc.assisted" in result.documents
    says(translator, result)


def test_a_dibao_or_tekun_card_is_social_assistance_under_art_42_2(translator: Translator) -> None:
    facts = answers(card="yes")
    assert asks_hardship(facts) and not asks_income(facts)
    result = assess(facts)
    assert (result.outcome, result.article, result.reason) == ("likely", "42(2)", "legal_aid.reason.card")
    says(translator, result)


@pytest.mark.parametrize("matter", ["labour", "work_injury"])
def test_art_42_3_migrant_workers_claiming_pay_or_work_injury(translator: Translator, matter: str) -> None:
    result = assess(answers(matter=matter, group="migrant"))
    assert (result.outcome, result.article) == ("likely", "42(3)")
    says(translator, result)


def test_art_42_3_does_not_reach_a_migrant_workers_other_matters() -> None:
    facts = answers(matter="traffic", group="migrant")
    assert asks_hardship(facts)  # so the card and income questions come next
    assert assess({**facts, "card": "no", "income": "unsure"}).outcome == "review"


def test_income_at_or_below_the_standard_is_likely_under_art_31_and_41(translator: Translator) -> None:
    facts = answers(matter="medical", card="no", income="below")
    assert asks_income(facts)
    result = assess(facts)
    assert (result.outcome, result.article) == ("likely", "31+41")
    assert "legal_aid.doc.hardship" in result.documents
    says(translator, result)


@pytest.mark.parametrize("income", ["above", "unsure", None])
def test_above_the_standard_or_unsure_goes_to_the_centres_review_not_a_refusal(
    translator: Translator, income: str | None
) -> None:
    result = assess(answers(card="no", income=income))
    assert (result.outcome, result.article) == ("review", "41+43")
    says(translator, result)


def test_a_matter_outside_the_art_31_list_is_reviewed_under_art_31_9(translator: Translator) -> None:
    result = assess(answers(matter="other", group="assisted"))
    assert (result.outcome, result.article) == ("review", "31(9)")
    says(translator, result)


def test_under_18_is_guided_to_apply_with_a_guardian_under_art_40(translator: Translator) -> None:
    result = assess(answers(age="under18", group="minor"))
    assert result.guardian and "legal_aid.doc.guardian" in result.documents
    assert "第四十条" in translator("zh_CN", "legal_aid.guardian_note")
    assert "Art. 40" in translator("en", "legal_aid.guardian_note")
    assert not assess(answers(age="adult", group="minor")).guardian


def test_every_answer_combination_has_an_outcome_that_cites_the_law(translator: Translator) -> None:
    """No combination (including skipped answers) refuses or goes without an article."""
    seen = set()
    for matter, special, age, group, card, income in itertools.product(
        MATTERS, SPECIAL_CHOICES, (*AGES, None), (*GROUP_CHOICES, None), ("yes", "no", None), (*INCOMES, None)
    ):
        result = assess(
            {"matter": matter, "special": special, "age": age, "group": group, "card": card, "income": income}
        )
        assert result.outcome in ("likely", "review")
        assert result.to_details()["article"].startswith(f"{LAW} Art. ")
        seen.add(result.article)
        if result.reason not in seen:
            seen.add(result.reason)
            says(translator, result)
    assert set(ARTICLE_TEXT) <= seen


def test_the_decision_deadline_is_art_43_seven_days_and_the_objection_art_49(translator: Translator) -> None:
    zh, en = translator("zh_CN", "legal_aid.deadline"), translator("en", "legal_aid.deadline")
    assert "7 日内" in zh and "第四十三条" in zh and "第四十九条" in zh
    assert "7 days" in en and "Art. 43" in en and "Art. 49" in en
