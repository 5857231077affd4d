"""Runs `python -m bot run` as a real process for tests: own data dir, free port, stderr to a file, kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Settings a developer's shell or CI may carry; a test process starts from none of them unless it asks.
_SCRUBBED_PREFIXES = (
    "SHISHI_",
    "TELEGRAM_",
    "WECHAT_",
    "WEBCHAT_",
    "BROADCAST_",
    "DATABASE_URL",
    "HTTP_",
    "MAX_TICKETS",
)


# Started through this launcher, the bot dies with the test runner (timeout, Ctrl-C, kill -9 of pytest): Linux's
# parent-death signal, set before exec and kept across it. Linux ties it to the *thread* that spawned the child,
# so async tests spawn from the event loop's thread (`astart`), not from a worker thread.
_LAUNCHER = """
import ctypes, os, signal, sys
runner = int(sys.argv[1])
if sys.platform == "linux":
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != runner:
    sys.exit(1)  # the runner died before the signal was armed
os.execv(sys.executable, [sys.executable, "-m", "bot", *sys.argv[2:]])
"""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel picks it); `BotProcess.start` retries if it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """One bot process on a data directory. `start` again after `kill` to restart it on the same data.

    The environment is the test's own: inherited SHISHI_*/DATABASE_URL/… are dropped, `env` is laid on top,
    the working directory is the data directory's parent (so no developer `.env` is read).
    """

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None, *, name: str = "bot") -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.name = name
        self.extra_env = dict(env or {})
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Everything the process wrote to stderr, over all its starts."""
        return self.workdir / f"{self.name}.stderr.log"

    @property
    def stdout_path(self) -> Path:
        return self.workdir / f"{self.name}.stdout.log"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "shishi.db"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "SHISHI_DATA_DIR": str(self.data_dir),
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(self.port),
                # A real process reads the wall clock: without this, broadcasts sent by a test run during
                # Hanzhong's evening (21:00-08:00) would wait for the morning. Quiet hours are proven in-process
                # with a fake clock (tests/test_broadcasts.py); a test may still set its own window.
                "CITIZEN_QUIET_HOURS": "00:00-00:00",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> BotProcess:
        """Start and wait until /healthz answers 200; keeps the port of an earlier start, so clients reconnect."""
        for attempt in range(3):
            self._spawn(new_port=attempt > 0)
            if self._wait_healthy(timeout):
                return self._started()
            if not self._worth_another_port():
                break
        return self._failed()

    async def astart(self, wait: float = 30.0) -> BotProcess:
        """`start` for async tests: spawns on the event loop's thread, waits for health without blocking it."""
        for attempt in range(3):
            self._spawn(new_port=attempt > 0)
            if await asyncio.to_thread(self._wait_healthy, wait):
                return self._started()
            if not self._worth_another_port():
                break
        return self._failed()

    def _started(self) -> BotProcess:
        self.starts += 1
        return self

    def _worth_another_port(self) -> bool:
        if self.process is not None and self.process.poll() is None:
            return False  # running but not healthy: another port will not help
        return "address already in use" in self.log_text().lower()

    def _failed(self) -> BotProcess:
        tail = self.log_text()[-4000:]
        self.kill()
        raise RuntimeError(f"{self.name} did not become healthy on port {self.port}; stderr tail:\n{tail}")

    def _spawn(self, *, new_port: bool) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        if new_port or not self.port:
            self.port = free_port()
        runner = os.getpid()
        with self.log_path.open("ab") as err, self.stdout_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(runner), "run"],
                cwd=self.workdir,
                env=self.environment(),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: a kill never reaches the test runner
            )

    def _wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        return False

    def kill(self) -> None:
        """kill -9: no cleanup, no flush — what a power cut or the OOM killer does to the process."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """A polite SIGTERM, then kill -9 if it does not leave in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@contextmanager
def running_bot(workdir: Path, env: Mapping[str, str] | None = None, *, name: str = "bot") -> Iterator[BotProcess]:
    """`with running_bot(tmp_path, {"MAX_TICKETS_PER_DAY": "1"}) as bot: …` — always killed at the end.

    For async tests prefer `bot = await BotProcess(tmp_path).astart()` with `bot.kill()` in a `finally`.
    """
    bot = BotProcess(workdir, env, name=name)
    try:
        yield bot.start()
    finally:
        bot.kill()
