"""The composition root wires the follow-up clock: APScheduler ticks the real rows, plans the digest, takes no
personal data in its jobs, and stops cleanly."""

from __future__ import annotations

import asyncio

from bot.app import build
from bot.config import Settings
from tests.conftest import TEST_SECRET, FakeClock
from tests.support.followup_world import local, make_world


async def test_build_wires_a_scheduler_that_ticks_the_rows(sqlite_url: str, clock: FakeClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=sqlite_url,
        shishi_secret_key=TEST_SECRET,
        shishi_data_dir=tmp_path,
        followup_interval=0.05,
        office_hours="09:00-12:00,13:00-18:00",
        _env_file=None,  # type: ignore[call-arg]
    )
    services = build(settings, clock=clock)
    ticker = services.followups
    assert ticker is not None and services.desk.rules.deadlines is ticker.deadlines
    assert ticker.deadlines.calendar.office_hours[0][0].hour == 9
    world = await make_world(services.db, services.translator, clock, services.desk.rules)
    ticket_id = await world.open()
    claim_due = (await world.ticket(ticket_id)).claim_due_at
    assert claim_due == local(2026, 11, 27, 15)  # 10–12, 13–15 with these office hours
    clock.now = claim_due
    await ticker.start()
    try:
        jobs = {job.id: job for job in ticker.scheduler.get_jobs()}
        assert set(jobs) == {"follow-ups", "morning-digest", "retention"}  # retention: the daily job (#16)
        assert all(job.args == () and job.kwargs == {} for job in jobs.values())
        for _ in range(200):
            if ticker.fired >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await ticker.stop()
    assert ticker.fired == 2  # the reminder and the escalation, once each
    assert len(await world.texts("leader-1")) == 2
    digest = [r for r in await world.rows() if r.kind == "digest"]
    assert [(r.key, r.status) for r in digest] == [("digest:2026-11-30", "pending")]
    await services.db.dispose()
