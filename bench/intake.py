"""Telegram intake benchmark: simulated citizens complete the dispute interview through the real bot process and
the local fake Bot API, beside a bare aiogram echo bot driven the same way, on SQLite and on PostgreSQL.

Each simulated user waits for the bot's answer, "reads" for --think seconds (people do not answer faster than a
message a second, and the bot keeps Telegram's one-message-a-second pace per chat), then answers. Reported: updates
handled per second over the run, and the reply latency (update offered by the Bot API → first message of the answer
arriving at it), p50 and p99; judged is the p99 against the echo bot's (≤ 3×). The rate is reported but not judged:
both bots wait for the same paced users, so it is theirs, not the bots' (capacity is bench/capacity.py's). The
overall send rate is raised to 1000/s for both (as for paid broadcasts), so the
global 30/s default does not cap what is measured; the per-chat pace stays on.

    python -m bench                      # 60 users, SQLite and PostgreSQL (when reachable)
    python -m bench --users 20 --backends sqlite
    python -m bench --users 300 --think 0 --saturation   # everyone at once, no reading: the desk saturated

After each run of the desk, once its outbox has settled, the report also says how many users finished and how many
replies arrived more than once (messages the fake Bot API received beyond the outbox rows of that chat) or never
(rows not sent). At saturation only those count: every user finishes, nothing twice, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.i18n import load_translator
from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import Media, Phone
from handlers.conversation.interview import Interview, Step
from handlers.interviews.dispute import DISPUTE
from tests.channels.telegram.fake_api import TOKEN, FakeBotAPI, FakeUser, Sent
from tests.support.processes import ROOT, BotProcess

PG_ADMIN_URL = os.environ.get("SHISHI_TEST_PG", "postgresql://127.0.0.1:5432/test")
SECRET = "bench-secret-key-for-field-encryption"
DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成，想请司法所调解"
PATIENCE = 60.0  # seconds a simulated citizen waits for an answer (or the rest of one) before giving up


@dataclass
class Run:
    backend: str
    bot: str
    users: int
    updates: int = 0
    seconds: float = 0.0
    finished: int = 0
    latencies: list[float] = field(default_factory=list)
    duplicates: int | None = None  # replies that arrived more than once (the desk only)
    unsent: int | None = None  # outbox rows never sent once the run settled

    @property
    def exact(self) -> bool:
        return self.finished == self.users and self.duplicates == 0 and self.unsent == 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000

    def line(self) -> str:
        twice = "-" if self.duplicates is None else str(self.duplicates)
        lost = "-" if self.unsent is None else str(self.unsent)
        return (
            f"{self.backend:<9} {self.bot:<7} {self.users:>5} {self.finished:>8} {self.updates:>7} "
            f"{self.rate:>9.1f} {self.percentile(0.5):>8.1f} {self.percentile(0.99):>8.1f} {twice:>6} {lost:>6}"
        )


class Citizen:
    """One simulated citizen in one chat; every update it sends is timed to the first message of the answer."""

    def __init__(self, fake: FakeBotAPI, user_id: int, think: float, run: Run) -> None:
        self.user: FakeUser = fake.user(user_id, "zh-hans")
        self.fake, self.think, self.run = fake, think, run

    async def act(self, push: object) -> list[Sent]:
        before = len(self.user.inbox())
        offered = time.monotonic()
        assert callable(push)
        push()
        messages = await self.fake.wait_messages(self.user.chat_id, before + 1, within=PATIENCE)
        self.run.latencies.append(messages[before].at - offered)
        self.run.updates += 1
        await asyncio.sleep(self.think)  # reading; the rest of a paced answer arrives meanwhile
        return self.user.inbox()[before:]

    async def press(self, reply: list[Sent], label: str) -> list[Sent]:
        waiting_since = time.monotonic()
        while time.monotonic() - waiting_since < PATIENCE:
            holder = next((m for m in reversed(reply) if label in m.labels), None)
            if holder is not None:
                return await self.act(lambda holder=holder: self.user.press(holder, label))
            await asyncio.sleep(0.25)
            reply = self.user.inbox()[-len(reply) - 3 :]
        raise RuntimeError(f"no button {label!r}")

    async def echo(self, steps: int) -> None:
        for n in range(steps):
            await self.act(lambda n=n: self.user.text(f"{DESCRIPTION} {n}"))
        self.run.finished += 1

    async def dispute(self, t: Translator) -> None:
        zh = "zh_CN"
        reply = await self.act(lambda: self.user.text("/start"))
        reply = await self.press(reply, t(zh, "consent.agree"))
        reply = await self.press(reply, t(zh, DISPUTE.title))
        submit = t(zh, "engine.submit")
        answered, waiting_since = 0, time.monotonic()
        while answered < 30 and time.monotonic() - waiting_since < PATIENCE:
            holder = next((m for m in reversed(reply) if m.inline), None)
            if holder is not None and submit in holder.labels:
                await self.press(reply, submit)
                self.run.finished += 1
                return
            step = which_step(DISPUTE, t, zh, reply)
            if step is None:
                await asyncio.sleep(0.25)  # the rest of a paced answer (slow at saturation: waited for as long)
                reply = reply + self.user.inbox()[len(self.user.inbox()) - 1 :]
                continue
            answered, waiting_since = answered + 1, time.monotonic()
            expects = step.expects
            if isinstance(expects, Phone):
                reply = await self.act(lambda: self.user.contact("+86 138 0013 8000"))
            elif isinstance(expects, Media):
                reply = await self.press(reply, t(zh, "nav.skip"))
            elif getattr(expects, "options", None):
                reply = await self.press(reply, t(zh, expects.options[0].label))  # type: ignore[attr-defined]
            elif step.key == "description" or not holder or not _choices(holder, t):
                reply = await self.act(lambda: self.user.text(DESCRIPTION))
            else:
                reply = await self.press(reply, _choices(holder, t)[0])
        raise RuntimeError("the interview did not end")


def which_step(interview: Interview, t: Translator, locale: str, reply: list[Sent]) -> Step | None:
    """The step whose question the reply asks (the last one named, when a reply holds more than one)."""
    text = "\n".join(m.text for m in reply)
    found = [s for s in interview.steps if isinstance(s.ask, str) and t(locale, s.ask) in text]
    return found[-1] if found else None


def _choices(message: Sent, t: Translator) -> list[str]:
    nav = {t("zh_CN", k) for k in ("nav.skip", "nav.back", "nav.cancel")}
    return [label for label in message.labels if label not in nav]


async def drive(run: Run, fake: FakeBotAPI, t: Translator, think: float, steps: int) -> None:
    citizens = [Citizen(fake, 100_000 + n, think, run) for n in range(run.users)]
    started = time.monotonic()

    async def one(citizen: Citizen, delay: float) -> None:
        await asyncio.sleep(delay)  # arrivals spread over one think time, as people do not all start at once
        await (citizen.echo(steps) if run.bot == "echo" else citizen.dispute(t))

    results = await asyncio.gather(
        *(one(c, think * n / max(run.users, 1)) for n, c in enumerate(citizens)), return_exceptions=True
    )
    run.seconds = time.monotonic() - started
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"  {len(failures)} users did not finish: {failures[0]!r}", file=sys.stderr)


async def wait_polling(fake: FakeBotAPI, process: subprocess.Popen[bytes] | None, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not fake.calls_of("getUpdates"):
        if process is not None and process.poll() is not None:
            raise RuntimeError("the bot exited before polling")
        if time.monotonic() > deadline:
            raise RuntimeError("the bot never polled")
        await asyncio.sleep(0.1)


def desk_env(url: str | None, **channel: str) -> dict[str, str]:
    """The desk's environment in a benchmark: the demo city, a fixed key, quiet logs, no daily cap that a simulated
    citizen could reach, on `url` (None: SQLite in the data directory), with the channel's own settings."""
    env = {**channel, "SHISHI_SECRET_KEY": SECRET, "SHISHI_DEMO": "yes", "MAX_TICKETS_PER_DAY": "100000"}
    env["LOG_LEVEL"] = "WARNING"
    if url:
        env["DATABASE_URL"] = url
    return env


def telegram_env(base: str, url: str | None) -> dict[str, str]:
    """Against the fake Bot API at `base`, the overall send rate raised to 1000/s (the per-chat pace stays on)."""
    return desk_env(url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=base, TELEGRAM_RATE_PER_SECOND="1000")


def start_echo(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "echo_bot.py")],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


async def run_echo(backend: str, users: int, think: float, steps: int, t: Translator, workdir: Path) -> Run:
    run = Run(backend, "echo", users)
    async with FakeBotAPI() as fake:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": fake.base, "PYTHONPATH": str(ROOT)}
        process = start_echo(env, workdir / "echo.log")
        try:
            await wait_polling(fake, process)
            await drive(run, fake, t, think, steps)
        finally:
            process.kill()
            process.wait(timeout=10)
    return run


async def run_shishi(backend: str, users: int, think: float, t: Translator, workdir: Path, url: str | None) -> Run:
    run = Run(backend, "shishi", users)
    async with FakeBotAPI() as fake:
        process = BotProcess(workdir / f"shishi-{backend}", telegram_env(fake.base, url), name="shishi")
        try:
            await asyncio.to_thread(process.start, 90.0)
            await wait_polling(fake, None)
            await drive(run, fake, t, think, 0)
            await audit(run, fake, url or f"sqlite+aiosqlite:///{process.db_path}")
        finally:
            process.kill()
    return run


async def audit(run: Run, fake: FakeBotAPI, url: str, within: float = 75.0) -> None:
    """Once the outbox settled: messages a chat received more than once (the same text and buttons: the scripted
    walk never gets the same question twice), and rows never sent. A row the sender lost track of is sent again when
    its 60 s lease ends, so the wait for the outbox to settle is longer than a lease: a duplicate has time to show."""
    from sqlalchemy import func, select

    from storage.crypto import FieldCipher
    from storage.models import OutboxMessage
    from storage.uow import Database

    db = Database(url, FieldCipher.from_secret(SECRET))
    try:
        deadline = time.monotonic() + within
        while True:
            async with db.reading() as uow:
                open_rows = (
                    await uow.session.execute(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.channel == "telegram", OutboxMessage.status.in_(["pending", "sending"]))
                    )
                ).scalar_one()
            if open_rows == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # the last sends reach the fake
        async with db.reading() as uow:
            statuses = (
                await uow.session.execute(select(OutboxMessage.status).where(OutboxMessage.channel == "telegram"))
            ).scalars()
            run.unsent = sum(1 for status in statuses if status != "sent")
    finally:
        await db.dispose()
    seen = Counter((m.chat_id, m.raw, json.dumps(m.reply_markup, sort_keys=True)) for m in fake.sent)
    run.duplicates = sum(count - 1 for count in seen.values())


@contextlib.asynccontextmanager
async def postgres_database() -> object:
    import asyncpg

    try:
        admin = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
    except Exception as error:
        print(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(error).__name__}): skipped", file=sys.stderr)
        yield None
        return
    name = f"shishi_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def bench(args: argparse.Namespace) -> list[tuple[Run, Run]]:
    t = load_translator()
    pairs: list[tuple[Run, Run]] = []
    with tempfile.TemporaryDirectory(prefix="shishi-bench-") as tmp:
        workdir = Path(tmp)
        for backend in args.backends.split(","):
            if backend == "postgres":
                async with postgres_database() as url:
                    if url is None:
                        continue
                    shishi = await run_shishi(backend, args.users, args.think, t, workdir, str(url))
            else:
                shishi = await run_shishi(backend, args.users, args.think, t, workdir, None)
            steps = max(round(shishi.updates / max(shishi.users, 1)), 1)
            echo = await run_echo(backend, args.users, args.think, steps, t, workdir)
            pairs.append((echo, shishi))
    return pairs


HEADER = "backend   bot     users finished updates     upd/s   p50 ms   p99 ms  twice unsent"


def report(pairs: list[tuple[Run, Run]], args: argparse.Namespace) -> bool:
    """Prints the table and the verdicts; True when every target was met."""
    kind = "saturation: everyone at once, " if args.saturation else ""
    print(f"\nTelegram intake: {kind}{args.users} users, think {args.think}s, dispute interview vs. aiogram echo bot")
    print(HEADER)
    for echo, shishi in pairs:
        print(echo.line())
        print(shishi.line())
    met = True
    for echo, shishi in pairs:
        throughput = shishi.rate / echo.rate if echo.rate else float("nan")
        tail = shishi.percentile(0.99) / echo.percentile(0.99)
        exact = (
            f"{shishi.finished} of {shishi.users} users finished, {shishi.duplicates} messages sent twice, "
            f"{shishi.unsent} never sent"
        )
        if args.saturation:  # latency at saturation is queueing, reported but not judged
            ok = shishi.exact
            print(
                f"{shishi.backend}: {exact}; throughput {throughput:.2f}× echo, p99 {tail:.2f}× echo "
                f"— {'meets' if ok else 'MISSES'} the target (all finish, nothing twice, nothing lost)"
            )
        else:
            ok = shishi.exact and tail <= 3  # both bots wait for the same paced users: the rate is the harness's
            print(
                f"{shishi.backend}: p99 {tail:.2f}× echo (target ≤ 3); {exact} — {'meets' if ok else 'MISSES'} the "
                f"target (throughput {throughput:.2f}× echo is the users' pace, not capacity: see bench.capacity)"
            )
        met = met and ok
    if args.json:
        rows = []
        for run in (r for pair in pairs for r in pair):
            row = {**asdict(run), "rate": run.rate, "p50_ms": run.percentile(0.5), "p99_ms": run.percentile(0.99)}
            row.pop("latencies")
            rows.append(row)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--think", type=float, default=2.0, help="seconds a user reads before answering")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--saturation",
        action="store_true",
        help="judge only that every user finishes with every reply exactly once (use with --think 0)",
    )
    args = parser.parse_args(argv)
    pairs = asyncio.run(bench(args))
    met = report(pairs, args)
    return 0 if pairs and met else 1
