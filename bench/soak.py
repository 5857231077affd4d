"""The bot's memory with years of data (#18): RSS on an empty PostgreSQL database, then through an hour of traffic on
the generated city (bench/city.py), against the target of no more than 50 MB above the empty database's.

    python -m bench.soak                                   # the 1 M-ticket city (generated first when missing), 60 min
    python -m bench.soak --database shishi_city_100k --tickets 100000 --minutes 10    # the quick mode

Both phases run a real `python -m bot run` against the fake Bot API with the same open-loop traffic as
bench/capacity.py, at `--rate` updates a second: citizens over `--chats` chats walking the dispute interview (a ticket
every dozen updates) and, on the city, its officers asking for their duty lists (`--officers` of them). The baseline is
the RSS after `--warmup` minutes of that traffic on the empty database (every code path the soak takes already
loaded); the RSS right after start is printed beside it. On the city, RSS is sampled every minute; the verdict judges
the last sample against the baseline and, for a run shorter than an hour, the growth at an hour at the second half's
slope as well. The city keeps what the soak's citizens wrote (a few tickets a minute), and its own follow-ups fall due
as the clock passes its end (reminders and callbacks to its people go out through the fake Bot API as well).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.capacity import Chat, LoadAPI, desk_planner, run_step, start
from bench.city import ensure_database, generate, plain_url
from bench.intake import postgres_database, telegram_env, wait_polling
from bench.machine import rss_mb
from bot.i18n import load_translator
from tests.support.processes import BotProcess

TARGET_MB = 50.0


async def officer_chats(url: str, count: int) -> list[int]:
    import asyncpg

    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT c.external_id FROM officers o JOIN chat_identities c ON c.person_id = o.person_id "
            "AND c.channel = 'telegram' ORDER BY o.id LIMIT $1",
            count,
        )
    finally:
        await connection.close()
    return [int(row["external_id"]) for row in rows]


async def phase(name: str, url: str, args: argparse.Namespace, minutes: int, officers: list[int]) -> list[float]:
    """RSS right after start, then after each minute of traffic."""
    citizen = desk_planner(load_translator())

    def plan(chat: Chat) -> Callable[[], int] | None:
        return (lambda: chat.user.text("/duty")) if chat.user.id in duty else citizen(chat)

    duty = set(officers)
    async with LoadAPI(plan) as api:
        api.add_chats(range(500_000, 500_000 + args.chats), start)
        api.add_chats(officers, lambda chat: lambda: chat.user.text("/duty"), now=True)
        with tempfile.TemporaryDirectory(prefix="shishi-soak-") as tmp:
            desk = BotProcess(Path(tmp), telegram_env(api.base, url), name=name)
            await desk.astart(180.0)
            assert desk.process is not None
            pid = desk.process.pid
            try:
                await wait_polling(api, None)
                samples = [rss_mb(pid)]
                print(f"  {name}: RSS after start {samples[0]:.1f} MB", flush=True)
                for minute in range(1, minutes + 1):
                    step = await run_step(api, args.rate, 60.0, pid)
                    samples.append(rss_mb(pid))
                    print(f"  {name} minute {minute:3}: RSS {samples[-1]:6.1f} MB; {step.answered}/{step.offered} "
                          f"answered, p99 {step.q(0.99) * 1e3:.0f} ms, stalled {step.stalled}, bot CPU "
                          f"{step.cpu['bot']:.2f}", flush=True)  # fmt: skip
                return samples
            finally:
                desk.kill()


async def soak(args: argparse.Namespace) -> bool:
    async with postgres_database() as empty:
        if empty is None:
            return False
        base = await phase("empty", str(empty), args, args.warmup, [])
    url = await ensure_database(args.database)
    summary = await generate(url, tickets=args.tickets, pending_followups=args.tickets // 10,
                             say=lambda line: print(line, flush=True))  # fmt: skip
    city = await phase("city", url, args, args.minutes, await officer_chats(url, args.officers))
    growth = city[-1] - base[-1]
    half = city[len(city) // 2 :]  # the second half's slope, after start-up and the first turns' caches
    slope = (half[-1] - half[0]) / max(len(half) - 1, 1)
    hour = growth + slope * max(60 - args.minutes, 0)
    verdict = "meets" if growth <= TARGET_MB and hour <= TARGET_MB else "MISSES"
    print(f"\nsoak on {summary.line()}\nRSS on the empty database: {base[0]:.1f} MB at start, {base[-1]:.1f} MB after "
          f"{args.warmup} min of traffic (the baseline); on the city: {city[0]:.1f} MB at start, peak {max(city):.1f} "
          f"MB, {city[-1]:.1f} MB after {args.minutes} min at {args.rate:g} upd/s: {growth:+.1f} MB over the baseline, "
          f"growing {slope:+.2f} MB/min over the second half" + (f" ({hour:+.1f} MB at an hour at that rate)"
          if args.minutes < 60 else "") + f" (target ≤ {TARGET_MB:g} MB after an hour) — {verdict}")  # fmt: skip
    return verdict == "meets"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="shishi_city", help="the city's database on SHISHI_TEST_PG")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="the city's size, when it must be generated")
    parser.add_argument("--minutes", type=int, default=60, help="traffic on the city")
    parser.add_argument("--warmup", type=int, default=3, help="minutes of traffic on the empty database")
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second, offered open-loop")
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--officers", type=int, default=100, help="officers of the city asking for /duty")
    return 0 if asyncio.run(soak(parser.parse_args(argv))) else 1


if __name__ == "__main__":
    sys.exit(main())
