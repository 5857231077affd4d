"""Broadcast send-rate benchmark: the real bot process fans an approved broadcast out to N Telegram subscribers and
sends it through the local fake Bot API; reported is the achieved rate as a fraction of the configured limit
(TELEGRAM_RATE_PER_SECOND), and the busiest one-second window (which must stay at or under the limit).

    python -m bench.broadcast_rate                       # limits 30/s and 1000/s, SQLite and PostgreSQL if reachable
    python -m bench.broadcast_rate --limits 30 --seconds 10 --backends sqlite

N is the limit × --seconds, so each run should take about that long at full speed. The per-chat pace (1/s) does not
matter here: a broadcast sends one message per chat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from bisect import bisect_left
from dataclasses import asdict, dataclass
from pathlib import Path

from storage.crypto import FieldCipher
from storage.migrate import upgrade
from storage.uow import Database
from tests.channels.telegram.broadcast_world import TEXT, approve_broadcast, broadcast_statuses, seed
from tests.channels.telegram.fake_api import TOKEN, FakeBotAPI
from tests.support.processes import BotProcess

PG_ADMIN_URL = os.environ.get("SHISHI_TEST_PG", "postgresql://127.0.0.1:5432/test")
SECRET = "bench-secret-key-for-field-encryption"


@dataclass
class Result:
    backend: str
    limit: float
    messages: int
    seconds: float
    rate: float
    fraction: float
    busiest_second: int
    statuses: dict[str, int]


async def _pg_database() -> tuple[str, str] | None:
    try:
        import asyncpg

        admin = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 3)
    except Exception:
        return None
    name = f"shishi_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    return name, url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _drop_pg(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def busiest(times: list[float]) -> int:
    """The most messages that arrived within any one second (from one arrival up to, not including, a second on)."""
    return max((bisect_left(times, start + 1.0) - i for i, start in enumerate(times)), default=0)


async def run_one(backend: str, limit: float, seconds: float, workdir: Path) -> Result | None:
    subscribers = max(int(limit * seconds), 50)
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "SHISHI_SECRET_KEY": SECRET,
        "TELEGRAM_RATE_PER_SECOND": str(limit),
        "SENDER_INTERVAL": "0.1",
        "BROADCAST_INTERVAL": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    pg_name = None
    if backend == "postgres":
        created = await _pg_database()
        if created is None:
            print(f"  postgres: not reachable at {PG_ADMIN_URL}, skipped", file=sys.stderr)
            return None
        pg_name, env["DATABASE_URL"] = created
    fake = await FakeBotAPI().start()
    env["TELEGRAM_API_BASE"] = fake.base
    process = BotProcess(workdir / f"{backend}-{int(limit)}", env, name="bench-broadcast")
    url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{process.db_path}"
    process.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(url, FieldCipher.from_secret(SECRET))
    try:
        await asyncio.to_thread(upgrade, url)
        world = await seed(db, subscribers)
        chats = set(world.subscriber_chats)
        broadcast_id = await approve_broadcast(db, world)
        await asyncio.to_thread(process.start)
        deadline = time.monotonic() + seconds * 20 + 120
        while time.monotonic() < deadline:
            done = sum(1 for m in fake.sent if m.chat_id in chats and m.text.startswith(TEXT[:8]))
            if done >= subscribers:
                break
            await asyncio.sleep(0.25)
        times = sorted(m.at for m in fake.sent if m.chat_id in chats and m.text.startswith(TEXT[:8]))
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        rate = (len(times) - 1) / span if span else 0.0
        statuses = await broadcast_statuses(db, broadcast_id)
        return Result(backend, limit, len(times), round(span, 2), round(rate, 1), round(rate / limit, 3),
                      busiest(times), statuses)  # fmt: skip
    finally:
        await asyncio.to_thread(process.kill)
        await db.dispose()
        await fake.stop()
        if pg_name:
            await _drop_pg(pg_name)


async def run(limits: list[float], seconds: float, backends: list[str], keep: Path | None = None) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="shishi-bench-") as scratch:
        tmp = keep or scratch
        for backend in backends:
            for limit in limits:
                result = await run_one(backend, limit, seconds, Path(tmp))
                if result is not None:
                    results.append(result)
                    print(
                        f"{backend:9} limit {limit:6.0f}/s: {result.messages} messages in {result.seconds:.1f}s = "
                        f"{result.rate:.1f}/s = {result.fraction:.0%} of the limit; busiest second "
                        f"{result.busiest_second} ({result.statuses})",
                        flush=True,
                    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast_rate", description=__doc__.split("\n")[0])
    parser.add_argument("--limits", default="30,1000", help="configured send limits to try, per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="messages = limit × seconds")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--keep", type=Path, help="keep the bot's data and logs in this directory")
    args = parser.parse_args(argv)
    limits = [float(x) for x in args.limits.split(",") if x.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results = asyncio.run(run(limits, args.seconds, backends, args.keep))
    if args.json:
        print(json.dumps([asdict(r) for r in results], ensure_ascii=False))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
