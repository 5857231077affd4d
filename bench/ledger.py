"""The ledger (台账) over a city's years of tickets (bench/city.py: 1 M tickets, 80 units, three years) on PostgreSQL:
a year at city level, as an admin's /ledger and the dashboard build it (handlers/ledger/report.py, every query the
report makes), against the target of one second; then a county leader's subtree. Prints the figure, "meets" or
"misses", each statement's share, and the key lines of the heaviest statements' plans.

    python -m bench.ledger --database shishi_city                # the 1 M city (generated first when missing)
    python -m bench.ledger --database town --tickets 20000       # a small one
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from bench.city import SECRET, ensure_database, generate
from handlers.ledger.period import between
from handlers.ledger.report import build
from handlers.tickets.policy import Actor, Role
from storage.crypto import FieldCipher
from storage.models.ledger import LEDGER_INDEX, RELIEF_INDEX
from storage.uow import Database

TARGET = 1.0  # seconds for a year at city level
ZONE_NAME = "Asia/Shanghai"
KEY_LINES = ("Scan", "Aggregate", "Heap Fetches", "Sort Method", "Batches", "Workers", "Execution Time")


async def _ensure_indexes(db: Database, say: Any) -> None:
    """A city migrated before migration 0011 had the ledger's indexes gets them here, as 0011 makes them now; and
    its visibility map set (what autovacuum does in time), so an index-only scan reads no table pages."""
    from sqlalchemy.schema import CreateIndex

    async with db.engine.connect() as connection:
        for index in (LEDGER_INDEX, RELIEF_INDEX):
            found = await connection.scalar(text("SELECT to_regclass(:name)"), {"name": index.name})
            if found is None:
                say(f"creating {index.name} (a city generated before migration 0011 had it)")
                ddl = str(CreateIndex(index).compile(dialect=db.engine.dialect))
                await connection.execute(text(ddl))
                await connection.commit()
        visible, pages = (
            await connection.execute(text("SELECT relallvisible, relpages FROM pg_class WHERE relname = 'tickets'"))
        ).one()
    if pages and visible < 0.9 * pages:
        say(f"vacuuming tickets ({visible:,} of {pages:,} pages all-visible)")
        raw = await db.engine.raw_connection()
        try:
            await raw.driver_connection.execute("VACUUM (ANALYZE) tickets")
        finally:
            raw.close()


async def _city_end(db: Database) -> datetime:
    async with db.engine.connect() as connection:
        latest = await connection.scalar(text("SELECT max(created_at) FROM tickets"))
    return latest if isinstance(latest, datetime) else datetime.now(UTC)


async def _timed(db: Database, actor: Actor, first: Any, last: Any, now: datetime, runs: int) -> list[float]:
    from zoneinfo import ZoneInfo

    period = between(first, last, ZoneInfo(ZONE_NAME))
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        async with db.reading() as uow:
            report = await build(uow, actor, period, now)
        took.append(time.perf_counter() - began)
        assert report is not None
    return took


async def run(url: str, runs: int, say: Any) -> int:
    db = Database(url, FieldCipher.from_secret(SECRET))
    try:
        await _ensure_indexes(db, say)
        end = await _city_end(db)
        last = end.astimezone(UTC).date()
        first = last - timedelta(days=364)
        admin = Actor(person_id=None, officer_id=0, unit_id=None, role=Role.ADMIN)
        statements: list[tuple[float, str, Any]] = []
        started: dict[int, float] = {}

        @event.listens_for(db.read_engine.sync_engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            started[id(conn)] = time.perf_counter()

        @event.listens_for(db.read_engine.sync_engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            statements.append((time.perf_counter() - started.pop(id(conn), time.perf_counter()), statement, parameters))

        await _timed(db, admin, first, last, end, 2)  # warm-up: caches, prepared statements
        statements.clear()
        took = await _timed(db, admin, first, last, end, runs)
        median = statistics.median(took)
        verdict = "meets" if median <= TARGET else "misses"
        print(f"ledger, a year at city level ({first} – {last}), {runs} runs: median {median:.3f} s, "
              f"best {min(took):.3f} s, slowest {max(took):.3f} s — target ≤ {TARGET:.1f} s: {verdict}")  # fmt: skip
        share: dict[str, list[float]] = {}
        for seconds, statement, _ in statements:
            if statement.lstrip().upper().startswith("SET"):
                continue
            share.setdefault(" ".join(statement.split())[:90], []).append(seconds)
        for name, values in sorted(share.items(), key=lambda kv: -sum(kv[1]))[:6]:
            print(f"  {statistics.median(values) * 1000:7.1f} ms  {name}")
        heaviest = sorted(
            ((s, st, p) for s, st, p in statements if not st.lstrip().upper().startswith("SET")), reverse=True
        )
        seen: set[str] = set()
        async with db.read_engine.connect() as connection:
            await connection.exec_driver_sql("SET work_mem = '64MB'")
            await connection.exec_driver_sql("SET jit = off")
            await connection.exec_driver_sql("SET enable_sort = off")
            await connection.exec_driver_sql("SET parallel_setup_cost = 10")
            await connection.exec_driver_sql("SET parallel_tuple_cost = 0.001")
            for _, statement, parameters in heaviest:
                if statement in seen or len(seen) >= 3:
                    continue
                seen.add(statement)
                plan = await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print(f"plan of: {' '.join(statement.split())[:90]}…")
                for (line,) in plan:
                    if any(key in line for key in KEY_LINES):
                        print(f"    {line.strip()}")
        async with db.reading() as uow:
            county_unit = next(u for u in await uow.units.all() if u.code == "hantai-justice")
        leader = Actor(person_id=None, officer_id=0, unit_id=county_unit.id, role=Role.LEADER)
        subtree = await _timed(db, leader, first, last, end, max(runs // 2, 3))
        print(f"ledger, the same year for a county bureau's subtree (hantai-justice): median "
              f"{statistics.median(subtree):.3f} s")  # fmt: skip
        return 0 if verdict == "meets" else 1
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="postgresql+asyncpg://… of a city (generated there first when empty)")
    where.add_argument("--database", help="a database name on the SHISHI_TEST_PG server, created when missing")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="the city's size, when it must be generated")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    async def go() -> int:
        url = args.url or await ensure_database(args.database)
        summary = await generate(url, tickets=args.tickets, pending_followups=args.tickets // 10, say=say)  # as queries
        say(summary.line())
        return await run(url, args.runs, say)

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main())
