"""The deadline ladder driven by a fake clock on real SQLite and PostgreSQL: every follow-up kind, across the
National Day week 2026 (with its make-up Saturday) and the Spring Festival, quiet hours, urgent tickets, digests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.words import deadline_text
from handlers.followups import firing, ladder
from storage.uow import Database
from tests.conftest import FakeClock
from tests.support.followup_world import ZONE, World, local, make_world


@pytest.fixture
async def world(db: Database, translator: Translator, clock: FakeClock) -> World:
    return await make_world(db, translator, clock)


def at(world: World, moment) -> str:  # type: ignore[no-untyped-def]
    return deadline_text(world.translator, "zh_CN", moment, ZONE)


async def test_an_unclaimed_ticket_climbs_the_ladder_across_the_national_day_week(world: World) -> None:
    world.clock.now = local(2026, 9, 30, 16)  # the afternoon before the holiday
    ticket_id = await world.open()
    ticket = await world.ticket(ticket_id)
    assert ticket.claim_due_at == local(2026, 10, 8, 11)  # 1.5 h on Sep 30, the holiday skipped, 2.5 h on Oct 8
    kind = world.t("kind.dispute")

    world.clock.now = local(2026, 10, 7, 23, 59)
    report = await world.tick()
    assert report.fired == 1  # only the citizen's "still being handled" (5 days, on Oct 5)
    assert await world.texts("officer-1") == []
    assert await world.texts(world.citizen_chat) == [
        world.t("followup.still_handling", number=ticket.number, unit="汉台区司法局", due=at(world, ticket.due_at))
    ]

    world.clock.now = local(2026, 10, 8, 9)  # half of the 4 working hours
    assert (await world.tick()).fired == 1
    for chat in ("officer-1", "officer-2", "leader-1"):
        name = {"officer-1": "王警官", "officer-2": "赵干事", "leader-1": "李科长"}[chat]
        assert await world.texts(chat) == [
            world.t(
                "followup.claim_reminder",
                name=name,
                number=ticket.number,
                kind=kind,
                due=at(world, local(2026, 10, 8, 11)),
            )
        ]
    assert await world.texts("leader-p") == []

    world.clock.now = local(2026, 10, 8, 11)
    assert (await world.tick()).fired == 1
    assert len(await world.texts("leader-1")) == 2 and len(await world.texts("officer-1")) == 1
    assert (await world.texts("leader-1"))[-1].startswith("⚠️ 李科长，工单 " + ticket.number)

    world.clock.now = local(2026, 10, 8, 17)  # four more working hours: the parent unit
    assert (await world.tick()).fired == 1
    assert await world.texts("leader-p") == [
        world.t("followup.parent_escalation", name="张局长", unit="汉台区司法局", number=ticket.number, kind=kind,
                due=at(world, local(2026, 10, 8, 11)))
    ]  # fmt: skip

    world.clock.now = local(2026, 10, 8, 17, 30)  # first contact: 1 working day after Sep 30, nobody called
    assert (await world.tick()).fired == 1
    assert (await world.texts("leader-1"))[-1].startswith("📞 李科长")
    assert (await world.tick()).fired == 0  # every rung fires once
    assert await world.events(ticket_id) == [
        "created",
        "update_sent",
        "claim_reminded",
        "escalated_to_leader",
        "escalated_to_parent",
        "contact_overdue",
    ]


async def test_a_claimed_ticket_reminds_its_officer_at_80_percent_and_escalates_when_overdue(world: World) -> None:
    ticket_id = await world.open(kind="service", category="guide")  # Friday 10:00, 3 working days
    ticket = await world.ticket(ticket_id)
    assert ticket.due_at == local(2026, 12, 2, 17, 30)
    world.clock.advance(minutes=30)
    await world.move(ticket_id, "claimed", by=world.officer, assign=True)
    statuses = {r.kind: r.status for r in await world.rows(ticket_id)}
    assert statuses["claim_reminder"] == statuses["claim_escalation"] == statuses["parent_escalation"] == "cancelled"
    plan = world.rules.deadlines.work("service", "guide", ticket.created_at, local(2026, 12, 2, 17, 30))
    assert plan.remind_at == local(2026, 12, 2, 10, 12)  # 80 % of 26.5 working hours

    world.clock.now = local(2026, 11, 30, 17, 30)  # first contact due: claimed, but no word to the citizen
    assert (await world.tick()).fired == 1
    assert (await world.texts("officer-1"))[-1].startswith("📞 王警官")

    world.clock.now = local(2026, 12, 2, 10, 11)
    await world.tick()  # the citizen update (due 10:00) sees the claim at 10:30 five days ago and waits
    assert await world.texts(world.citizen_chat) == []
    assert len(await world.texts("officer-1")) == 1

    world.clock.now = local(2026, 12, 2, 10, 12)
    assert (await world.tick()).fired == 1
    assert (await world.texts("officer-1"))[-1].startswith("⏰ 王警官，您承办的工单 " + ticket.number)
    assert world.t("deadline.source.local") in (await world.texts("officer-1"))[-1]
    world.clock.now = local(2026, 12, 2, 10, 30)
    assert (await world.tick()).fired == 1
    assert len(await world.texts(world.citizen_chat)) == 1

    world.clock.now = local(2026, 12, 2, 17, 30)
    assert (await world.tick()).fired == 1
    assert (await world.texts("leader-1"))[-1].startswith("⚠️ 李科长，工单 " + ticket.number)
    assert "王警官" in (await world.texts("leader-1"))[-1]
    assert (await world.texts("officer-1"))[-1].startswith("⚠️ 王警官，您承办的工单")
    assert await world.texts("officer-2") == []


async def test_spring_festival_pushes_the_work_ladder_past_the_holiday(world: World) -> None:
    world.clock.now = local(2026, 2, 12, 10)  # legal aid applied for the Thursday before the festival
    ticket_id = await world.open(kind="legal_aid", category="labour")
    world.clock.now = local(2026, 2, 12, 11)
    await world.move(ticket_id, "claimed", by=world.officer, assign=True)
    ticket = await world.ticket(ticket_id)
    assert ticket.due_at == local(2026, 2, 24, 17, 30)  # Legal Aid Law Art. 43: 7 days; Feb 19 is a day off
    reminder = next(r for r in await world.rows(ticket_id) if r.kind == "due_reminder")
    # 80 % of 5.5 + 7 + 7 (make-up Saturday) + 7 working hours = 21.2 h: Feb 24, 08:30 + 1 h 42 min
    assert reminder.due_at == local(2026, 2, 24, 10, 12)
    world.clock.now = local(2026, 2, 23, 23)
    await world.tick()
    assert all("⏰" not in text for text in await world.texts("officer-1"))
    world.clock.now = local(2026, 2, 24, 10, 12)
    await world.tick()
    assert "《中华人民共和国法律援助法》第四十三条" in (await world.texts("officer-1"))[-1]


async def test_quiet_hours_hold_back_the_ordinary_but_never_the_urgent(world: World) -> None:
    async with world.db() as uow:
        colleague = await uow.officers.get(world.colleague.officer_id)
        assert colleague is not None
        colleague.quiet_start, colleague.quiet_end = "20:00", "09:00"
        await uow.commit()
    world.clock.now = local(2026, 9, 30, 10)
    ordinary = await world.open()  # reminder due 12:00, escalation 16:00 — but the bot is down till the night of Oct 3
    world.clock.now = local(2026, 10, 3, 23)  # a National Day night
    urgent = await world.open(urgent=True)
    world.clock.now = local(2026, 10, 3, 23, 15)
    await world.tick()  # the ordinary one's rungs fire late (the bot was down) and wait; the urgent one goes now
    messages = {m.payload["text"]: m.not_before for m in await world.inbox("officer-2")}
    number = (await world.ticket(urgent)).number
    urgent_text = next(text for text in messages if number in text)
    assert urgent_text.startswith(world.t("followup.urgent"))
    assert messages[urgent_text] == world.clock.now
    ordinary_number = (await world.ticket(ordinary)).number
    late = [m for m in await world.inbox("officer-2") if ordinary_number in m.payload["text"]]
    assert late and all(m.not_before == local(2026, 10, 4, 9) for m in late)  # this officer's own quiet end
    late_1 = [m for m in await world.inbox("officer-1") if ordinary_number in m.payload["text"]]
    assert late_1 and all(m.not_before == local(2026, 10, 4, 7, 30) for m in late_1)  # the default 22:00–07:30
    world.clock.now = local(2026, 10, 3, 23, 30)
    await world.tick()
    assert any(number in text and text.startswith(world.t("followup.urgent")) for text in await world.texts("leader-1"))
    world.clock.now = local(2026, 10, 5, 23)  # the citizen's five-day update falls due at night
    await world.tick()
    citizen = [m for m in await world.inbox(world.citizen_chat) if ordinary_number in m.payload["text"]]
    assert [m.not_before for m in citizen] == [local(2026, 10, 6, 8)]  # citizens' quiet hours end at 08:00


async def test_every_rung_cancels_itself_when_the_ticket_moves_on(world: World) -> None:
    ticket_id = await world.open()
    world.clock.advance(hours=1)
    await world.move(ticket_id, "transferred")
    rows = await world.rows(ticket_id)
    assert {r.kind for r in rows if r.status == "cancelled"} == {
        "claim_reminder",
        "claim_escalation",
        "parent_escalation",
    }
    pending = {r.kind: r for r in rows if r.status == "pending"}
    assert set(pending) == {
        "claim_reminder",
        "claim_escalation",
        "parent_escalation",
        "contact_check",
        "citizen_update",
    }
    assert (await world.ticket(ticket_id)).claim_due_at == local(2026, 11, 27, 17)  # 4 working hours from 11:00
    await world.move(ticket_id, "cancelled")
    assert {r.status for r in await world.rows(ticket_id)} <= {"cancelled"}
    world.clock.advance(days=40)
    assert (await world.tick()).fired == 0
    assert await world.texts("officer-1") == [] and await world.texts(world.citizen_chat) == []


async def test_a_citizen_visible_note_postpones_the_update_and_counts_as_first_contact(world: World) -> None:
    ticket_id = await world.open()
    await world.move(ticket_id, "claimed", by=world.officer, assign=True)
    world.clock.now = local(2026, 11, 30, 9)
    await world.note(ticket_id, world.officer)
    world.clock.now = local(2026, 12, 2, 10)
    await world.tick()
    assert await world.texts("officer-1") == []  # contacted before the first-contact deadline
    assert await world.texts(world.citizen_chat) == []  # news three days ago
    update = [r for r in await world.rows(ticket_id) if r.kind == "citizen_update" and r.status == "pending"]
    assert [r.due_at for r in update] == [local(2026, 12, 5, 9)]
    world.clock.now = local(2026, 12, 5, 9)
    await world.tick()
    assert len(await world.texts(world.citizen_chat)) == 1


async def test_the_morning_digest_counts_and_lists_the_five_due_soonest(world: World) -> None:
    async with world.db() as uow:
        assert await ladder.ensure_digest(uow, world.rules.deadlines, world.clock())
        assert not await ladder.ensure_digest(
            uow, world.rules.deadlines, world.clock()
        )  # one row per day, however often asked
        await uow.commit()
    numbers = []
    for index in range(7):
        world.clock.advance(minutes=10)
        ticket_id = await world.open(kind="service" if index % 2 else "dispute")
        numbers.append((await world.ticket(ticket_id)).number)
        if index < 6:
            await world.move(ticket_id, "claimed", by=world.officer, assign=True)
    world.clock.now = local(2026, 11, 30, 8)  # Monday
    await world.tick()
    digest = [t for t in await world.texts("officer-1") if t.startswith("早上好")]
    assert len(digest) == 1
    lines = digest[0].split("\n")
    assert lines[0] == world.t("digest.title", name="王警官", mine=6, overdue=0, today=0, unclaimed=1)
    assert len(lines) == 6
    assert numbers[6] in lines[1]  # the unclaimed one, past its claim deadline, comes first
    assert [next(n for n in numbers if n in line) for line in lines[2:]] == [
        numbers[1],
        numbers[3],
        numbers[5],
        numbers[0],
    ]
    leader = [t for t in await world.texts("leader-1") if t.startswith("早上好")]
    assert leader and leader[0].startswith(
        world.t("digest.title", name="李科长", mine=0, overdue=0, today=0, unclaimed=1)
    )
    assert await world.texts("leader-p") == []  # nothing on their desk, no message
    digests = [r for r in await world.rows() if r.kind == "digest"]
    assert [(r.status, r.key) for r in digests] == [("done", "digest:2026-11-30"), ("pending", "digest:2026-12-01")]


async def test_a_failing_row_is_retried_then_given_up_without_blocking_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await world.open()
    second = await world.open()
    broken = 0

    async def explode(f, row, ticket) -> None:  # type: ignore[no-untyped-def]
        nonlocal broken
        if ticket is not None and ticket.id == first:
            broken += 1
            await f.to_person(ticket.citizen_id, lambda locale: Reply(text="half"), not_before=None)
            raise RuntimeError("boom")
        await original(f, row, ticket)

    original = firing.FIRE["claim_reminder"]
    monkeypatch.setitem(firing.FIRE, "claim_reminder", explode)
    world.clock.now = local(2026, 11, 27, 12)
    report = await world.tick()
    assert (report.failed, broken) == (1, 1)
    assert await world.texts(world.citizen_chat) == []  # the half-done row left nothing behind
    number = (await world.ticket(second)).number
    assert any(number in text for text in await world.texts("officer-1"))
    for _ in range(firing.MAX_ATTEMPTS):
        world.clock.advance(hours=2)
        await world.tick()
    row = next(r for r in await world.rows(first) if r.kind == "claim_reminder")
    assert (row.status, row.attempts) == ("failed", firing.MAX_ATTEMPTS)
    assert broken == firing.MAX_ATTEMPTS
    assert timedelta(0) < firing.backoff(1) <= timedelta(hours=1)
