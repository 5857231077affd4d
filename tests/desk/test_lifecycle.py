"""The ticket state machine: legal moves leave an event, illegal ones are refused and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Effects, Rules
from handlers.router import SUBSCRIBERS
from handlers.tickets import lifecycle
from handlers.tickets.events import StatusChanged
from storage.models import FollowUp, Person, Ticket
from storage.uow import Database

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def make_ticket(db: Database) -> int:
    async with db() as uow:
        person = Person(locale="zh_CN", created_at=NOW, consent_declined=False)
        uow.session.add(person)
        await uow.flush()
        ticket = await uow.tickets.add(
            Ticket(
                number="HZ-20261127-0009",
                kind="dispute",
                category="land",
                county="hantai",
                status="new",
                citizen_id=person.id,
                locale="zh_CN",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await uow.follow_ups.add(FollowUp(ticket_id=ticket.id, kind="reminder", due_at=NOW, created_at=NOW))
        await uow.commit()
        return ticket.id


async def test_a_ticket_walks_the_happy_path_with_one_event_per_step(db: Database, translator: Translator) -> None:
    ticket_id = await make_ticket(db)
    path = ["claimed", "in_progress", "mediation_scheduled", "resolved", "closed"]
    async with db() as uow:
        ticket = await uow.tickets.get_for_update(ticket_id)
        assert ticket is not None
        Effects(uow, translator, Rules(), NOW, SUBSCRIBERS)  # as the desk runs a use case: the ladder listens
        for status in path:
            await lifecycle.transition(uow, ticket, status, actor_person_id=None, now=NOW)
        recorded = [(e.from_status, e.to_status) for e in uow.events if isinstance(e, StatusChanged)]
        await uow.commit()
    assert recorded == list(zip(["new", *path[:-1]], path, strict=True))
    async with db.reading() as uow:
        events = await uow.tickets.events(ticket_id)
        follow_up = await uow.session.get(FollowUp, 1)
    assert [(e.from_status, e.to_status) for e in events] == list(zip(["new", *path[:-1]], path, strict=True))
    assert follow_up is not None and follow_up.status == "cancelled"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [([], "resolved"), ([], "closed"), (["claimed", "resolved", "closed"], "reopened"), (["rejected"], "claimed")],
)
async def test_illegal_transitions_are_refused_and_change_nothing(db: Database, path: list[str], illegal: str) -> None:
    ticket_id = await make_ticket(db)
    async with db() as uow:
        ticket = await uow.tickets.get_for_update(ticket_id)
        assert ticket is not None
        for status in path:
            await lifecycle.transition(uow, ticket, status, actor_person_id=None, now=NOW)
        before = ticket.status
        with pytest.raises(lifecycle.IllegalTransition):
            await lifecycle.transition(uow, ticket, illegal, actor_person_id=None, now=NOW)
        assert ticket.status == before
        assert len(await uow.tickets.events(ticket_id)) == len(path)


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(lifecycle.TRANSITIONS) == set(lifecycle.STATUSES)
    for targets in lifecycle.TRANSITIONS.values():
        assert targets <= set(lifecycle.STATUSES)
