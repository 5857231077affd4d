"""WeChat intake benchmark (issue #13): simulated followers walk the dispute interview by numbered replies through the
real bot process and the local fake WeChat (pushes signed by wechatpy, retried as WeChat retries), on SQLite and on
PostgreSQL, beside the Telegram run of `python -m bench`.

Reported per backend: pushes, the share answered passively (in the HTTP response) and deferred (`success`, then the
customer-service API), the response time p50 / p99 / max, and, once the outbox settled, followers finished, messages
that reached a follower twice and rows never sent. The target: every push answered within WeChat's five seconds
(no retry needed), every follower finished, nothing twice, nothing lost.

    python -m bench.wechat                       # 60 followers, think 2 s, SQLite and PostgreSQL (when reachable)
    python -m bench.wechat --users 20 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.intake import SECRET, desk_env, postgres_database
from bot.i18n import load_translator
from handlers.conversation.i18n import Translator
from handlers.interviews.dispute import DISPUTE
from tests.channels.wechat.fake_api import APP_ID, APP_SECRET, TOKEN, FakeWeChat, Follower, Pushed, Pusher
from tests.channels.wechat.walk import Plan, Walker
from tests.support.processes import BotProcess

WECHAT_PATIENCE = 5.0  # WeChat's own: an answer later than this is not read, and the push comes again


@dataclass
class WeChatRun:
    backend: str
    users: int
    finished: int = 0
    pushes: int = 0
    passive: int = 0
    deferred: int = 0
    retried: int = 0  # pushes WeChat had to send again (no answer within five seconds, or a 5xx)
    seconds: list[float] = field(default_factory=list)
    duplicates: int | None = None
    unsent: int | None = None

    def percentile(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000

    @property
    def met(self) -> bool:
        within = bool(self.seconds) and max(self.seconds) < WECHAT_PATIENCE
        return within and self.retried == 0 and self.finished == self.users and self.duplicates == 0 and not self.unsent

    def line(self) -> str:
        share = 100 * self.passive / self.pushes if self.pushes else 0.0
        worst = max(self.seconds) * 1000 if self.seconds else float("nan")
        twice = "-" if self.duplicates is None else str(self.duplicates)
        lost = "-" if self.unsent is None else str(self.unsent)
        return (
            f"{self.backend:<9} {self.users:>5} {self.finished:>8} {self.pushes:>6} {share:>8.1f}% {self.deferred:>8} "
            f"{self.retried:>7} {self.percentile(0.5):>8.1f} {self.percentile(0.99):>8.1f} {worst:>8.1f} "
            f"{twice:>6} {lost:>6}"
        )


class TimedFollower(Follower):
    """A follower whose every push is timed, first try to the answer WeChat reads."""

    run: WeChatRun | None = None

    async def push(self, kind: str, fields: dict[str, str], *, created: int | None = None) -> Pushed:
        started = time.monotonic()
        pushed = await super().push(kind, fields, created=created)
        if self.run is not None:
            self.run.pushes += 1
            self.run.seconds.append(time.monotonic() - started)
            self.run.retried += pushed.tries - 1
            if pushed.passive is not None:
                self.run.passive += 1
            elif pushed.bodies and pushed.bodies[-1] == "success":
                self.run.deferred += 1
        return pushed


async def walk(follower: TimedFollower, t: Translator, think: float, run: WeChatRun) -> None:
    walker = Walker(follower, t, "zh_CN")
    original = walker.hands.type

    async def reading(text: str) -> list[str]:
        await asyncio.sleep(think)
        return await original(text)

    walker.hands.type = reading  # type: ignore[method-assign]
    menu = await walker.start()
    await walker.interview(menu, DISPUTE, Plan())
    run.finished += 1


async def audit(run: WeChatRun, fake: FakeWeChat, url: str) -> None:
    """Once the outbox settled: rows never sent, and customer-service messages beyond the rows sent by that API."""
    from sqlalchemy import select

    from storage.crypto import FieldCipher
    from storage.models import OutboxMessage
    from storage.uow import Database

    db = Database(url, FieldCipher.from_secret(SECRET))
    try:
        for _ in range(150):
            async with db.reading() as uow:
                rows = (
                    await uow.session.execute(
                        select(OutboxMessage.status, OutboxMessage.platform_message_id).where(
                            OutboxMessage.channel == "wechat"
                        )
                    )
                ).all()
            if not any(status in ("pending", "sending") for status, _ in rows):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        run.unsent = sum(1 for status, _ in rows if status != "sent")
        by_api = sum(1 for status, platform in rows if status == "sent" and platform != "passive")
        run.duplicates = max(len(fake.customs) - by_api, 0)
    finally:
        await db.dispose()


async def run_wechat(
    backend: str, users: int, think: float, t: Translator, workdir: Path, url: str | None
) -> WeChatRun:
    run = WeChatRun(backend, users)
    fake = FakeWeChat()
    await fake.start()
    channel = {"WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET}
    env = desk_env(url, **channel, WECHAT_API_BASE=fake.base)
    process = BotProcess(workdir / f"wechat-{backend}", env, name="shishi-wechat")
    try:
        await asyncio.to_thread(process.start, 90.0)
        followers = []
        for _ in range(users):
            follower = TimedFollower(fake, Pusher(f"{process.url}/wechat"))
            follower.run = run
            followers.append(follower)
        results = await asyncio.gather(*(walk(f, t, think, run) for f in followers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                print(f"a follower did not finish: {type(result).__name__}: {result}"[:300], file=sys.stderr)
        await audit(run, fake, url or f"sqlite+aiosqlite:///{process.db_path}")
    finally:
        process.kill()
        await fake.stop()
    return run


async def bench(args: argparse.Namespace) -> list[WeChatRun]:
    t = load_translator()
    runs: list[WeChatRun] = []
    with tempfile.TemporaryDirectory(prefix="shishi-bench-wechat-") as tmp:
        for backend in args.backends.split(","):
            if backend == "postgres":
                async with postgres_database() as url:
                    if url is None:
                        continue
                    runs.append(await run_wechat(backend, args.users, args.think, t, Path(tmp), str(url)))
            else:
                runs.append(await run_wechat(backend, args.users, args.think, t, Path(tmp), None))
    return runs


HEADER = "backend   users finished pushes  passive deferred retried   p50 ms   p99 ms   max ms  twice unsent"


def report(runs: list[WeChatRun], args: argparse.Namespace) -> bool:
    print(f"\nWeChat intake: {args.users} followers, think {args.think}s, dispute interview by numbered replies")
    print(HEADER)
    for run in runs:
        print(run.line())
    for run in runs:
        print(
            f"{run.backend}: every push answered within {WECHAT_PATIENCE:.0f} s with no retry, every follower "
            f"finished, nothing twice, nothing lost — {'meets' if run.met else 'MISSES'} the target"
        )
    return all(run.met for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wechat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--think", type=float, default=2.0, help="seconds a follower reads before answering")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    runs = asyncio.run(bench(args))
    return 0 if runs and report(runs, args) else 1


if __name__ == "__main__":
    sys.exit(main())
