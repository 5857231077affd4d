"""The desk's reads on a city's years of data (bench/city.py): the follow-up due-scan, an officer's duty list and a
citizen's ticket list against their targets, and the other reads every turn makes, each timed through the desk's own
repositories (what the handlers call, ORM and all) with the key lines of its PostgreSQL plan; then /duty and /status
as whole turns through the real Desk.

    python -m bench.queries --database shishi_city              # the 1 M city (generated first when missing)
    python -m bench.queries --database town --tickets 20000     # a small one

Each read runs `--runs` times after two warm-up runs; p50, p95 and the slowest are reported and the p95 is judged.
Whole turns write (inbox, conversation, outbox): what they queue is marked sent afterwards, so a bot started on the
city later sends none of it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from bench.city import SECRET, ensure_database, generate
from storage.crypto import FieldCipher
from storage.uow import Database, UnitOfWork

PLAN_WORDS = ("Scan", "Sort", "Limit", "Join", "Loop", "Aggregate", "Execution Time", "LockRows", "Filter:", "Cond:")


@dataclass
class Timing:
    name: str
    target_ms: float | None
    samples: list[float] = field(default_factory=list)
    plans: list[list[str]] = field(default_factory=list)

    def q(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)]

    @property
    def verdict(self) -> str:
        if self.target_ms is None:
            return ""
        return f"target ≤ {self.target_ms:g} ms: " + ("meets" if self.q(0.95) <= self.target_ms else "MISSES")

    def line(self) -> str:
        return (
            f"{self.name:<44} p50 {statistics.median(self.samples):7.2f} ms  p95 {self.q(0.95):7.2f} ms  "
            f"max {max(self.samples):7.2f} ms  {self.verdict}"
        )


class Statements:
    """The SQL a measured call sent, with its parameters, to be explained afterwards."""

    def __init__(self, db: Database) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.on = False
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._record)
        if db.read_engine is not db.engine:
            event.listen(db.read_engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on and not statement.lstrip().upper().startswith(("EXPLAIN", "SAVEPOINT", "RELEASE")):
            self.seen.append((statement, parameters))


def key_lines(plan: list[str]) -> list[str]:
    return [line.rstrip() for line in plan if any(word in line for word in PLAN_WORDS)][:12]


async def measure(
    db: Database,
    statements: Statements,
    name: str,
    call: Callable[[UnitOfWork], Awaitable[object]],
    *,
    target_ms: float | None = None,
    runs: int = 30,
    write: bool = False,
    explain: bool = True,
) -> Timing:
    timing = Timing(name, target_ms)
    for n in range(runs + 2):
        async with db() if write else db.reading() as uow:  # a write is rolled back: the city stays as it was
            started = time.perf_counter()
            await call(uow)
            elapsed = (time.perf_counter() - started) * 1000
        if n >= 2:
            timing.samples.append(elapsed)
    if explain:
        statements.seen, statements.on = [], True
        async with db() if write else db.reading() as uow:
            await call(uow)
            statements.on = False
            explained: set[str] = set()
            for sql, parameters in statements.seen:
                if sql in explained:  # the same statement for another officer: one plan is enough
                    continue
                explained.add(sql)
                connection = await uow.session.connection()
                result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", parameters)
                timing.plans.append([row[0] for row in result.all()])
    return timing


@dataclass(frozen=True)
class Subjects:
    """Who the reads are for: the busiest officer (most tickets at work), the unit with most unclaimed, the citizen
    with most tickets and an ordinary one, a web chat citizen, and "now" just after the city's history ends."""

    officer_id: int
    officer_person: int
    officer_chat: str
    unit_id: int
    open_of_officer: int
    unclaimed_of_unit: int
    heavy_citizen: int
    heavy_chat: tuple[str, str]
    heavy_tickets: int
    plain_citizen: int
    webchat_citizen: str
    now: datetime


WORKING = ("claimed", "in_progress", "mediation_scheduled", "reopened")
UNCLAIMED = ("new", "transferred")


async def subjects(db: Database) -> Subjects:
    async with db.reading() as uow:
        run = uow.session.execute
        working = ", ".join(f"'{s}'" for s in WORKING)
        officer_id, open_of_officer = (
            await run(text(f"SELECT officer_id, count(*) FROM tickets WHERE status IN ({working}) "
                           "GROUP BY officer_id ORDER BY count(*) DESC LIMIT 1"))
        ).one()  # fmt: skip
        officer_person, unit_id = (
            await run(text("SELECT person_id, unit_id FROM officers WHERE id = :id"), {"id": officer_id})
        ).one()
        officer_chat = (
            await run(
                text("SELECT external_id FROM chat_identities WHERE person_id = :p AND channel = 'telegram'"),
                {"p": officer_person},
            )
        ).scalar_one()
        unclaimed_of_unit = (
            await run(
                text("SELECT count(*) FROM tickets WHERE unit_id = :u AND officer_id IS NULL "
                     "AND status IN ('new', 'transferred')"),
                {"u": unit_id},
            )
        ).scalar_one()  # fmt: skip
        heavy, heavy_tickets = (
            await run(text("SELECT citizen_id, count(*) FROM tickets GROUP BY citizen_id ORDER BY 2 DESC LIMIT 1"))
        ).one()
        heavy_chat = (
            await run(text("SELECT channel, external_id FROM chat_identities WHERE person_id = :p"), {"p": heavy})
        ).one()
        plain = (await run(text("SELECT citizen_id FROM tickets ORDER BY id DESC LIMIT 1 OFFSET 5000"))).scalar_one()
        webchat = (
            await run(
                text("SELECT external_id FROM chat_identities WHERE channel = 'webchat' ORDER BY id DESC LIMIT 1")
            )
        ).scalar_one()
        end = (await run(text("SELECT max(created_at) FROM tickets"))).scalar_one()
    return Subjects(officer_id, officer_person, officer_chat, unit_id, int(open_of_officer), int(unclaimed_of_unit),
                    heavy, (heavy_chat[0], heavy_chat[1]), int(heavy_tickets), plain, webchat,
                    end + timedelta(minutes=1))  # fmt: skip


async def reads(db: Database, who: Subjects, runs: int) -> list[Timing]:
    from handlers.followups.firing import BATCH
    from storage.repositories.webchat import due_transcript

    statements = Statements(db)
    working, unclaimed = set(WORKING), set(UNCLAIMED)
    lease = timedelta(seconds=60)

    async def duty(uow: UnitOfWork) -> None:  # what /duty reads (handlers/staff/lists.py)
        await uow.officers.of_person(who.officer_person)
        await uow.tickets.assigned(who.officer_id, working)
        await uow.tickets.unclaimed(who.unit_id, unclaimed)

    async def digest(uow: UnitOfWork) -> None:  # the morning digest: every officer's duty (followups/firing.py)
        for officer in await uow.officers.active():
            await uow.tickets.duty_of(officer, working, unclaimed)

    timings = [
        await measure(db, statements, "follow-up due-scan (the tick's claim)",
                      lambda uow: uow.follow_ups.claim_due(who.now, BATCH), target_ms=10, runs=runs, write=True),
        await measure(db, statements, f"duty list ({who.open_of_officer} at work, {who.unclaimed_of_unit} unclaimed)",
                      duty, target_ms=50, runs=runs),
        await measure(db, statements, f"citizen's list ({who.heavy_tickets} tickets)",
                      lambda uow: uow.tickets.of_citizen(who.heavy_citizen, limit=10), target_ms=20, runs=runs),
        await measure(db, statements, "citizen's list (an ordinary citizen)",
                      lambda uow: uow.tickets.of_citizen(who.plain_citizen, limit=10), target_ms=20, runs=runs),
        await measure(db, statements, "turn: who (officer's chat, unsent check)",
                      lambda uow: uow.people.who("telegram", who.officer_chat, unsent_below=1), runs=runs),
        await measure(db, statements, "turn: tickets opened today (daily cap)",
                      lambda uow: uow.tickets.count_created_since(who.heavy_citizen, who.now - timedelta(days=1)),
                      runs=runs),
        await measure(db, statements, "turn: routing rules",
                      lambda uow: uow.units.rules(kind="dispute", category="land", county="hantai",
                                                  township="puzhen"), runs=runs),
        await measure(db, statements, "sender: claim due Telegram rows",
                      lambda uow: uow.outbox.claim_due("telegram", who.now, 300, lease), runs=runs, write=True),
        await measure(db, statements, "web chat: a page's transcript",
                      lambda uow: due_transcript(uow.session, "webchat", who.webchat_citizen, after=0, held_since=None,
                                                 now=who.now, limit=100), runs=runs),
        await measure(db, statements, "morning digest: every officer's duty", digest, runs=max(runs // 10, 3)),
    ]  # fmt: skip
    return timings


async def turns(db: Database, who: Subjects, runs: int) -> list[Timing]:
    """/duty and /status through the real Desk, as a channel hands them over."""
    from bot.i18n import load_translator
    from handlers.conversation.messages import Incoming
    from handlers.conversation.turn import Rules
    from handlers.desk import Desk

    desk = Desk(db, load_translator(), Rules(), clock=lambda: who.now)
    async with db.reading() as uow:
        before = (await uow.session.execute(text("SELECT coalesce(max(id), 0) FROM outbox"))).scalar_one()
    found = []
    for name, channel, chat, command in (
        ("turn: /duty (the busiest officer)", "telegram", who.officer_chat, "/duty"),
        ("turn: /status (the citizen with most tickets)", who.heavy_chat[0], who.heavy_chat[1], "/status"),
    ):
        timing = Timing(name, None)
        for n in range(runs + 2):
            started = time.perf_counter()
            await desk.handle(Incoming(channel=channel, chat_id=chat, update_key=f"bench-{uuid.uuid4().hex}",
                                       text=command))  # fmt: skip
            if n >= 2:
                timing.samples.append((time.perf_counter() - started) * 1000)
        found.append(timing)
    async with db() as uow:  # nothing of the benchmark's own is left for a bot to send
        await uow.session.execute(
            text("UPDATE outbox SET status = 'sent', sent_at = now() WHERE id > :id AND status = 'pending'"),
            {"id": before},
        )
        await uow.commit()
    return found


def report(timings: list[Timing], who: Subjects, *, plans: bool = True) -> bool:
    print(f"\nreads on the city (now = {who.now:%Y-%m-%d %H:%M} UTC)")
    if plans:
        print("(plans for these values; from its sixth run a prepared statement may be planned once for any values,")
        print(" and the timings are of what really ran)")
    for timing in timings:
        print(timing.line())
        if plans:
            for plan in timing.plans:
                for line in key_lines(plan):
                    print(f"    {line}")
    judged = [t for t in timings if t.target_ms is not None]
    met = all(t.q(0.95) <= (t.target_ms or 0) for t in judged)
    print(f"{sum(t.q(0.95) <= (t.target_ms or 0) for t in judged)} of {len(judged)} targets met")
    return met


async def run(args: argparse.Namespace) -> bool:
    url = args.url or await ensure_database(args.database)
    summary = await generate(url, tickets=args.tickets, pending_followups=args.tickets // 10, seed=args.seed,
                             say=lambda line: print(line, flush=True))  # fmt: skip
    print(summary.line())
    db = Database(url, FieldCipher.from_secret(SECRET))
    try:
        async with db() as uow:
            await uow.session.execute(text("ANALYZE"))
            await uow.commit()
        who = await subjects(db)
        timings = await reads(db, who, args.runs)
        timings += await turns(db, who, max(args.runs // 3, 5))
        return report(timings, who, plans=not args.no_plans)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url")
    where.add_argument("--database")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    met = asyncio.run(run(args))
    print(f"({(datetime.now(UTC) - started).total_seconds():.0f} s)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
