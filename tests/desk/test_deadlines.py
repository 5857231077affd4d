"""The deadline policy file: every number has a source, the sources are in both catalogs, the citizen is told."""

from __future__ import annotations

import tomllib

import pytest

from bot.i18n import load_catalogs
from bot.scheduler import DEADLINES_FILE
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Incoming, Reply
from handlers.conversation.turn import Rules, State, Turn
from handlers.interviews.submit import NewTicket, open_ticket
from handlers.router import SUBSCRIBERS
from handlers.tickets.deadlines import DeadlineDataError, parse_policy
from handlers.tickets.workcal import WorkCalendar
from storage.uow import Database
from tests.conftest import FakeClock
from tests.support.followup_world import local

POLICY = parse_policy(tomllib.loads(DEADLINES_FILE.read_text(encoding="utf-8")))


def test_every_term_names_a_source_that_both_catalogs_explain() -> None:
    catalogs = load_catalogs()
    assert POLICY.sources() >= {"local", "legal_aid_law_art43", "mediation_rules_art33"}
    for source in POLICY.sources():
        for locale in ("zh_CN", "en"):
            assert f"deadline.source.{source}" in catalogs[locale], (locale, source)
    assert "第四十三条" in catalogs["zh_CN"]["deadline.source.legal_aid_law_art43"]
    assert "Art. 43" in catalogs["en"]["deadline.source.legal_aid_law_art43"]


def test_kinds_and_categories_override_the_default() -> None:
    legal_aid = POLICY.for_ticket("legal_aid", "labour")
    assert (legal_aid.resolve.amount, legal_aid.resolve.unit, legal_aid.resolve.source) == (
        7,
        "days",
        "legal_aid_law_art43",
    )
    assert legal_aid.claim == POLICY.default.claim
    family = POLICY.for_ticket("dispute", "family")
    assert (family.claim.amount, family.resolve.source) == (2, "mediation_rules_art33")
    assert POLICY.for_ticket("dispute", "land").claim.amount == 4
    assert POLICY.for_ticket("unheard_of", None) == POLICY.default
    urgent = POLICY.default.claim_urgent
    assert (urgent.amount, urgent.unit) == (30, "minutes")


@pytest.mark.parametrize(
    "raw",
    [
        {"default": {"claim": {"working_hours": 4}}},  # no source
        {"default": {"claim": {"working_hours": 4, "minutes": 3, "source": "local"}}},  # two lengths
        {"default": {"claim": {"fortnights": 1, "source": "local"}}},
        {"default": {"claim": {"working_hours": -1, "source": "local"}}},
        {"default": {"claim": {"working_hours": 4, "source": "local"}}},  # the other terms are missing
    ],
)
def test_a_bad_policy_file_is_refused_with_a_reason(raw: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(DeadlineDataError):
        parse_policy(raw)


def test_legal_aid_is_decided_within_seven_days_of_the_application_across_the_spring_festival() -> None:
    deadlines = Rules().deadlines  # the shipped demo policy
    due, source = deadlines.resolve_by("legal_aid", "labour", local(2026, 2, 12, 10))
    assert due == local(2026, 2, 24, 17, 30)  # Feb 19 is a day off: Civil Code Art. 203
    assert source == "legal_aid_law_art43"
    urgent = deadlines.claim("dispute", "land", True, local(2026, 10, 3, 23))  # a holiday night
    assert (urgent.remind_at, urgent.due_at) == (local(2026, 10, 3, 23, 15), local(2026, 10, 3, 23, 30))
    assert isinstance(deadlines.calendar, WorkCalendar)


async def test_the_receipt_tells_the_citizen_the_deadlines_and_their_source(
    db: Database, clock: FakeClock, translator: Translator
) -> None:
    now = clock()
    async with db() as uow:
        identity = await uow.people.create("webchat", "deadline-receipt", "zh_CN", now)
        person = await uow.people.get(identity.person_id)
        turn = Turn(
            uow=uow,
            incoming=Incoming("webchat", "deadline-receipt", "k1"),
            identity=identity,
            person=person,
            conversation=await uow.conversations.get_for_update(person.id, now),
            state=State(),
            translator=translator,
            rules=Rules(),
            now=now,
            subscribers=SUBSCRIBERS,
        )
        ticket = await open_ticket(turn, NewTicket(kind="dispute", category="land", county="hantai", summary="界桩"))
        receipt = Reply.from_payload(turn.outbox.pending[-1].payload)
        kinds = sorted(f.kind for f in await uow.follow_ups.of_ticket(ticket.id))
        await uow.commit()
    # Friday 10:00: claim by 16:00 today; 30 days later is Sunday Dec 27, so the term ends Monday Dec 28 17:30.
    assert "2026年11月27日 16:00" in receipt.text
    assert "2026年12月28日 17:30" in receipt.text
    assert translator("zh_CN", "deadline.source.mediation_rules_art33") in receipt.text
    assert ticket.number in receipt.text
    assert ticket.claim_due_at == local(2026, 11, 27, 16)
    assert ticket.due_at == local(2026, 12, 28, 17, 30)
    assert kinds == sorted(
        ["claim_reminder", "claim_escalation", "parent_escalation", "contact_check", "citizen_update"]
    )
