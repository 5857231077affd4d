"""A follow-up process for tests: `python -m tests.support.followup_worker URL GO_FILE` waits for GO_FILE, runs the real
FollowUpScheduler (APScheduler ticking fast) until nothing is due, and prints what it fired as JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.i18n import load_translator
from bot.scheduler import FollowUpScheduler
from handlers.conversation.turn import Rules
from storage.crypto import FieldCipher
from storage.models import FollowUp
from storage.uow import Database

TEST_SECRET = "test-secret-key-for-field-encryption"


async def due_count(db: Database) -> int:
    async with db.reading() as uow:
        stmt = (
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.status == "pending", FollowUp.due_at <= datetime.now(UTC))
        )
        return int((await uow.session.execute(stmt)).scalar_one())


async def main(url: str, go: Path) -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    db = Database(url, FieldCipher.from_secret(TEST_SECRET))
    scheduler = FollowUpScheduler(db, load_translator(), Rules(), interval=0.02, batch=20)
    await db.ping()
    print("ready", flush=True)
    for _ in range(6000):  # a minute at most
        if await asyncio.to_thread(go.exists):
            break
        await asyncio.sleep(0.01)
    await scheduler.start()
    idle, deadline = 0, time.monotonic() + 120
    for _ in range(1200):
        await asyncio.sleep(0.1)
        idle = idle + 1 if await due_count(db) == 0 else 0
        if idle >= 3 or time.monotonic() > deadline:
            break
    await scheduler.stop()
    await db.dispose()
    print(json.dumps({"fired": scheduler.fired, "ticks": scheduler.ticks}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
