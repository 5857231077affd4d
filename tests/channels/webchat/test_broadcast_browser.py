"""An admin in real headless Chromium watches a broadcast's progress: one bubble, edited in place, then a report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.i18n import load_translator
from storage.crypto import FieldCipher
from storage.models import Broadcast, ChatIdentity, Officer, Person, Subscription, Unit
from storage.uow import Database
from tests.conftest import TEST_SECRET
from tests.support.processes import BotProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]

T = load_translator()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(
        tmp_path, {"SHISHI_SECRET_KEY": TEST_SECRET, "BROADCAST_INTERVAL": "0.3", "BROADCAST_PROGRESS_EVERY": "0.5"}
    )
    await process.astart()
    try:
        yield process
    finally:
        process.kill()


async def make_the_page_an_author(db: Database, subscribers: int) -> int:
    """The page's chat becomes an admin who wrote a broadcast another admin approved, to `subscribers` people."""
    now = datetime.now(UTC)
    async with db() as uow:
        author = (
            await uow.session.execute(select(ChatIdentity.person_id).where(ChatIdentity.channel == "webchat"))
        ).scalar_one()
        unit = (await uow.session.execute(select(Unit).limit(1))).scalar_one()
        approver = await uow.people.create("webchat", "w-approver", "zh_CN", now)
        for person, name in ((author, "张管理"), (approver.person_id, "李管理")):
            uow.session.add(
                Officer(person_id=person, unit_id=unit.id, role="admin", name=name, active=True, created_at=now)
            )
        people = (
            await uow.session.execute(
                insert(Person).returning(Person.id),
                [{"locale": "zh_CN", "created_at": now, "consent_declined": False} for _ in range(subscribers)],
            )
        ).scalars()
        ids = list(people)
        await uow.session.execute(
            insert(ChatIdentity),
            [
                {"person_id": p, "channel": "webchat", "external_id": f"w-fan-{p}", "created_at": now}
                | {"last_seen_at": now}
                for p in ids
            ],
        )
        await uow.session.execute(
            insert(Subscription), [{"person_id": p, "topic": "traffic", "created_at": now} for p in ids]
        )
        broadcast = await uow.broadcasts.add(
            Broadcast(
                author_person_id=author,
                topic="traffic",
                county=None,
                text_zh="冬季道路结冰，出行请减速慢行。",
                send_at=now,
                status="scheduled",
                approved_by_person_id=approver.person_id,
                approved_at=now,
                fanout_cursor=0,
                fanned_out=0,
                recipients=0,
                created_at=now,
            )
        )
        await uow.commit()
        return broadcast.id


async def test_the_progress_bubble_is_edited_in_place(browser: Any, bot: BotProcess) -> None:
    page = await (await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")).new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    await page.goto(f"{bot.url}/")
    await page.wait_for_selector('.chip:enabled[data-value="consent:agree"]')

    db = Database(f"sqlite+aiosqlite:///{bot.db_path}", FieldCipher.from_secret(TEST_SECRET))
    try:
        broadcast_id = await make_the_page_an_author(db, 300)
    finally:
        await db.dispose()
    topic = T("zh_CN", "topic.traffic")
    done = T("zh_CN", "broadcast.progress_done", id=broadcast_id, topic=topic)
    started = T("zh_CN", "broadcast.progress_start", id=broadcast_id, topic=topic, count=300)
    await page.wait_for_function(
        "text => [...document.querySelectorAll('li.msg.bot .bubble')].some(b => b.textContent.startsWith(text))",
        arg=done,
    )
    final = T(
        "zh_CN",
        "broadcast.final",
        id=broadcast_id,
        topic=topic,
        sent=300,
        failed=0,
        blocked=0,
        withdrawn=0,
        minutes=0,
        seconds=0,
    )
    await page.wait_for_function(
        "text => [...document.querySelectorAll('li.msg.bot .bubble')].some(b => b.textContent.startsWith(text))",
        arg=final.split("；")[0],
    )
    bubbles = await page.eval_on_selector_all("li.msg.bot .bubble", "els => els.map(e => e.textContent)")
    progress = [b for b in bubbles if b.startswith(done) or b.startswith(started)]
    assert len(progress) == 1  # the edits replaced the first bubble's text; none was added
    assert T("zh_CN", "broadcast.progress_counts", sent=300, failed=0, blocked=0, remaining=0) in progress[0]
    assert problems == []
