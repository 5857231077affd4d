"""Who is likely eligible for legal aid, and why — the Legal Aid Law of the PRC (法律援助法, adopted 2021-08-20,
in force 2022-01-01), in one place.

- Art. 31: the civil and administrative matters for which a party in economic hardship may apply.
- Art. 32: circumstances where the economic-hardship condition does not apply at all.
- Art. 34: the hardship standard is set by the province (here Shaanxi) and adjusted over time.
- Art. 40: a person without (full) civil capacity — a minor — applies through a legal representative (guardian).
- Art. 41: an applicant in hardship states it truthfully; the centre checks it (information sharing or a signed
  personal-integrity commitment).
- Art. 42: groups whose hardship check is waived when they bring proof of belonging to the group.
- Art. 43: the centre decides within 7 days of receiving the application.
- Art. 49: a refusal can be challenged before the justice bureau that set up the centre.

The desk never refuses: the outcome is "likely eligible, because …" or "the legal aid centre will review".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

LAW = "Legal Aid Law of the PRC (2021)"

# Art. 31 (1)–(9): the matter, and the item of Art. 31 it falls under.
MATTERS: Mapping[str, str] = {
    "state_compensation": "31(1)",  # 依法请求国家赔偿
    "social_insurance": "31(2)",  # 请求给予社会保险待遇或者社会救助
    "survivor_benefits": "31(3)",  # 请求发给抚恤金
    "support": "31(4)",  # 请求给付赡养费、抚养费、扶养费
    "labour": "31(5)",  # 请求确认劳动关系或者支付劳动报酬
    "capacity": "31(6)",  # 请求认定公民无民事行为能力或者限制民事行为能力
    "work_injury": "31(7)",  # 工伤事故 …
    "traffic": "31(7)",  # 交通事故 …
    "food_drug": "31(7)",  # 食品药品安全事故 …
    "medical": "31(7)",  # 医疗事故人身损害赔偿
    "environment": "31(8)",  # 请求环境污染、生态破坏损害赔偿
    "other": "31(9)",  # 法律、法规、规章规定的其他情形
}

# Art. 32 (1)–(4): no economic-hardship condition.
NO_MEANS_TEST: Mapping[str, str] = {
    "hero_relative": "32(1)",  # 英雄烈士近亲属为维护英雄烈士的人格权益
    "bravery": "32(2)",  # 因见义勇为行为主张相关民事权益
    "retrial_acquittal": "32(3)",  # 再审改判无罪请求国家赔偿
    "abuse_victim": "32(4)",  # 遭受虐待、遗弃或者家庭暴力的受害人主张相关权益
}

# Art. 42 (1)–(3): the hardship check is waived for these groups (with proof of belonging).
WAIVED_GROUPS: Mapping[str, str] = {
    "minor": "42(1)",  # 无固定生活来源的未成年人 …
    "elderly": "42(1)",  # … 老年人 …
    "disabled": "42(1)",  # … 残疾人等特定群体
    "assisted": "42(2)",  # 社会救助、司法救助或者优抚对象
    "migrant": "42(3)",  # 申请支付劳动报酬或者请求工伤事故人身损害赔偿的进城务工人员
}
MIGRANT_MATTERS = ("labour", "work_injury")  # Art. 42(3) covers only pay and work-injury claims

AGES = ("under18", "adult", "elderly")
INCOMES = ("below", "above", "unsure")
SPECIAL_CHOICES = (*NO_MEANS_TEST, "none")
GROUP_CHOICES = (*WAIVED_GROUPS, "none")

Outcome = Literal["likely", "review"]


@dataclass(frozen=True)
class Assessment:
    outcome: Outcome
    article: str  # the rule that decided, e.g. "32(4)", "42(3)", "31+41"
    reason: str  # message id of the reason, which names the article for the citizen
    documents: tuple[str, ...]  # message ids
    guardian: bool  # under 18: apply through a guardian (Art. 40)

    def to_details(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "article": f"{LAW} Art. {self.article}", "guardian": self.guardian}


def group_waives(answers: Mapping[str, Any]) -> bool:
    """Art. 42 applies: a waived group, and for migrant workers only with a pay or work-injury claim."""
    group = answers.get("group")
    if group == "migrant":
        return answers.get("matter") in MIGRANT_MATTERS
    return group in WAIVED_GROUPS


def asks_hardship(answers: Mapping[str, Any]) -> bool:
    """No Art. 32 circumstance and no Art. 42 waiver: ask the hardship questions."""
    return answers.get("special") == "none" and answers.get("group") is not None and not group_waives(answers)


def asks_income(answers: Mapping[str, Any]) -> bool:
    """Hardship questions, and no 低保 / 特困 card (Art. 42(2)): ask the income against the standard (Art. 34)."""
    return asks_hardship(answers) and answers.get("card") == "no"


def _documents(*specific: str, guardian: bool) -> tuple[str, ...]:
    common = ("legal_aid.doc.id", "legal_aid.doc.form", "legal_aid.doc.evidence")
    return common + (("legal_aid.doc.guardian",) if guardian else ()) + specific


def assess(answers: Mapping[str, Any]) -> Assessment:
    """First matching rule wins; anything not clearly eligible goes to the centre's review, never a refusal."""
    guardian = answers.get("age") == "under18"
    special, group, matter = answers.get("special"), answers.get("group"), answers.get("matter")
    if isinstance(special, str) and special in NO_MEANS_TEST:
        return Assessment(
            "likely",
            NO_MEANS_TEST[special],
            f"legal_aid.reason.{special}",
            _documents(f"legal_aid.doc.{special}", guardian=guardian),
            guardian,
        )
    if matter not in MATTERS or matter == "other":
        # Art. 31(9): other matters depend on laws, regulations and rules the centre checks case by case.
        return Assessment(
            "review",
            "31(9)",
            "legal_aid.reason.other_matter",
            _documents("legal_aid.doc.hardship", guardian=guardian),
            guardian,
        )
    if group_waives(answers):
        assert isinstance(group, str)
        return Assessment(
            "likely",
            WAIVED_GROUPS[group],
            f"legal_aid.reason.{group}",
            _documents(f"legal_aid.doc.{group}", guardian=guardian),
            guardian,
        )
    if answers.get("card") == "yes":
        # 低保 and 特困 support are social assistance (Interim Measures on Social Assistance, Art. 2): Art. 42(2).
        return Assessment(
            "likely", "42(2)", "legal_aid.reason.card", _documents("legal_aid.doc.card", guardian=guardian), guardian
        )
    if answers.get("income") == "below":
        return Assessment(
            "likely",
            "31+41",
            "legal_aid.reason.income",
            _documents("legal_aid.doc.hardship", guardian=guardian),
            guardian,
        )
    return Assessment(
        "review", "41+43", "legal_aid.reason.review", _documents("legal_aid.doc.hardship", guardian=guardian), guardian
    )
