"""/healthz says whether the database answers: 200 when it does, 503 (quickly) when it does not."""

from __future__ import annotations

import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build
from bot.config import Settings
from tests.support.processes import free_port

OK = {"status": "ok", "database": "ok"}
DOWN = {"status": "unavailable", "database": "unreachable"}


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        shishi_secret_key="health-test-secret",  # type: ignore[arg-type]
        shishi_data_dir=data_dir,
        telegram_bot_token=None,
    )


async def health(settings: Settings) -> tuple[int, dict[str, str], float]:
    services = build(settings)
    try:
        async with TestClient(TestServer(services.app, host="127.0.0.1", port=0)) as client:
            started = time.perf_counter()
            response = await client.get("/healthz")
            return response.status, await response.json(), time.perf_counter() - started
    finally:
        await services.db.dispose()


async def test_healthz_is_503_when_postgresql_is_not_listening(tmp_path: Path) -> None:
    closed = free_port()  # nobody listens there
    status, body, seconds = await health(
        settings_for(f"postgresql+asyncpg://shishi@127.0.0.1:{closed}/shishi", tmp_path)
    )
    assert (status, body) == (503, DOWN)
    assert seconds < 5


async def test_healthz_is_200_on_a_reachable_postgresql(pg_url: str, tmp_path: Path) -> None:
    status, body, _ = await health(settings_for(pg_url, tmp_path))
    assert (status, body) == (200, OK)


async def test_healthz_is_200_on_sqlite_and_503_when_its_directory_is_gone(sqlite_url: str, tmp_path: Path) -> None:
    assert (await health(settings_for(sqlite_url, tmp_path)))[:2] == (200, OK)
    gone = f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'shishi.db'}"
    assert (await health(settings_for(gone, tmp_path)))[:2] == (503, DOWN)
