"""Exactly once: two bot processes on one PostgreSQL share 1 000 due follow-ups and deliver each once; after a
10-minute stop every overdue follow-up fires once on restart — none lost, none twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.i18n import load_translator
from bot.scheduler import FollowUpScheduler
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Rules
from handlers.followups import ladder
from storage.models import FollowUp, OutboxMessage, Ticket, TicketEvent
from storage.uow import Database
from tests.conftest import FakeClock, open_db
from tests.support.followup_world import World, make_world, tick

ROOT = Path(__file__).resolve().parents[2]


async def due_follow_ups(world: World, count: int, first_due: datetime, spread: timedelta) -> list[int]:
    """`count` open tickets, each with one "still being handled" follow-up; due times spread over `spread`."""
    created = first_due - timedelta(days=10)
    async with world.db() as uow:
        tag = first_due.strftime("%H%M%S")
        tickets = [
            Ticket(
                number=f"T{tag}-{i:05d}",
                kind="dispute",
                category="land",
                status="new",
                citizen_id=world.citizen_id,
                unit_id=world.unit_id,
                summary="",
                locale="zh_CN",
                created_at=created,
                updated_at=created,
            )
            for i in range(count)
        ]
        uow.session.add_all(tickets)
        await uow.flush()
        step = spread / max(count - 1, 1)
        rows = [
            FollowUp(
                ticket_id=t.id,
                kind=ladder.CITIZEN_UPDATE,
                due_at=first_due + step * i,
                status="pending",
                attempts=0,
                params={},
                created_at=created,
            )
            for i, t in enumerate(tickets)
        ]
        uow.session.add_all(rows)
        await uow.commit()
        return [r.id for r in rows]


async def delivered(db: Database) -> Counter[int]:
    """How many outbox messages each follow-up produced (every message names its follow-up)."""
    async with db.reading() as uow:
        payloads = (await uow.session.execute(select(OutboxMessage.payload))).scalars().all()
    return Counter(int(p["follow_up"]) for p in payloads if "follow_up" in p)


async def statuses(db: Database, ids: list[int]) -> Counter[tuple[str, int]]:
    async with db.reading() as uow:
        rows = (await uow.session.execute(select(FollowUp).where(FollowUp.id.in_(ids)))).scalars().all()
    return Counter((r.status, r.attempts) for r in rows)


@pytest.mark.slow
@pytest.mark.postgres
async def test_two_processes_on_postgresql_deliver_1000_follow_ups_exactly_once(
    pg_url: str, translator: Translator, clock: FakeClock, tmp_path: Path
) -> None:
    db = await open_db(pg_url)
    clock.now = datetime.now(UTC)
    world = await make_world(db, translator, clock)
    ids = await due_follow_ups(world, 1000, clock.now - timedelta(minutes=5), timedelta(minutes=4))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.followup_worker", pg_url, str(go), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]  # fmt: skip
    for worker in workers:
        assert worker.stdout is not None
        assert (await asyncio.wait_for(worker.stdout.readline(), 60)).strip() == b"ready"
    go.touch()  # both start ticking at the same moment
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 150)
    logs = [err.decode()[-2000:] for _, err in outputs]
    assert [w.returncode for w in workers] == [0, 0], logs
    results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    fired = [r["fired"] for r in results]
    print("fired per process:", fired)
    assert sum(fired) == 1000 and all(f > 0 for f in fired), (results, logs)  # both took a share
    sent = await delivered(db)
    assert set(sent) == set(ids) and set(sent.values()) == {1}  # each follow-up exactly one message
    assert await statuses(db, ids) == Counter({("done", 1): 1000})
    async with db.reading() as uow:
        events = (
            await uow.session.execute(
                select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "update_sent")
            )
        ).scalar_one()
    assert events == 1000
    await db.dispose()


async def test_after_a_ten_minute_stop_each_overdue_follow_up_fires_once(
    db_url: str, translator: Translator, clock: FakeClock
) -> None:
    """Bot A ticks every 30 s until it stops at T; 200 follow-ups fall due during the next 10 minutes; two fresh
    processes (their own engines) restart at T + 10 min and tick at once — every row fires once, in time order."""
    first = await open_db(db_url)
    world = await make_world(first, translator, clock)
    start = clock.now
    early = await due_follow_ups(world, 20, start - timedelta(minutes=2), timedelta(minutes=1))
    for _ in range(5):
        await tick(first, translator, clock.now)
        clock.advance(seconds=30)
    assert await statuses(first, early) == Counter({("done", 1): 20})
    stop = clock.now
    overdue = await due_follow_ups(
        world, 200, stop + timedelta(seconds=1), timedelta(minutes=10) - timedelta(seconds=2)
    )
    await first.dispose()

    clock.advance(minutes=10)  # the outage
    restarted = [await open_db_keep(db_url) for _ in range(2)]
    schedulers = [
        FollowUpScheduler(db, load_translator(), Rules(), clock=clock, interval=0.02, batch=25) for db in restarted
    ]
    for scheduler in schedulers:
        await scheduler.start()
    for _ in range(1800):  # 90 s at most
        if (await statuses(restarted[0], overdue))[("done", 1)] == 200:
            break
        await asyncio.sleep(0.05)
    for scheduler in schedulers:
        await scheduler.stop()
    sent = await delivered(restarted[0])
    assert set(sent) == set(early) | set(overdue) and set(sent.values()) == {1}
    assert await statuses(restarted[0], overdue) == Counter({("done", 1): 200})
    assert sum(s.fired for s in schedulers) == 200
    assert (await tick(restarted[1], translator, clock.now)).fired == 0  # nothing left to fire twice
    for db in restarted:
        await db.dispose()


async def open_db_keep(url: str) -> Database:
    """A second process's view of the same database: its own engine, nothing truncated."""
    from storage.crypto import FieldCipher
    from tests.conftest import TEST_SECRET

    return Database(url, FieldCipher.from_secret(TEST_SECRET))
