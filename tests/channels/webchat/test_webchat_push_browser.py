"""Web push on the page, in real headless Chromium (issue #14): the bell is offered only once the privacy notice is
agreed to, the service worker registers at the root, and a push's link (/?ticket=HZ-…) opens the chat at that ticket.
(Headless Chromium has no push service to subscribe with: the push itself is proven against a local push service in
tests/desk/test_reach.py and tests/channels/reach/.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import load_translator
from storage.crypto import FieldCipher
from storage.models import ChatIdentity, Ticket
from storage.uow import Database
from tests.conftest import TEST_SECRET
from tests.support.processes import BotProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]
T = load_translator()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, {"SHISHI_SECRET_KEY": TEST_SECRET})
    await process.astart()
    try:
        yield process
    finally:
        process.kill()


async def plant_ticket(bot: BotProcess) -> str:
    """A ticket of the page's person, as the interview would leave it."""
    from sqlalchemy import select

    db = Database(f"sqlite+aiosqlite:///{bot.db_path}", FieldCipher.from_secret(TEST_SECRET))
    now = datetime.now(UTC)
    try:
        async with db() as uow:
            (person,) = (await uow.session.execute(select(ChatIdentity.person_id))).scalars().all()
            unit = await uow.units.by_code("hantai-justice")
            ticket = await uow.tickets.add(
                Ticket(number=await uow.tickets.next_number("HZ", now.strftime("%Y%m%d")), kind="dispute",
                       category="land", county="hantai", status="new", urgent=False, citizen_id=person,
                       unit_id=unit.id if unit else None, summary="界桩纠纷", details={}, attachments=[],
                       locale="zh_CN", created_at=now, updated_at=now, claim_due_at=now + timedelta(hours=4))
            )  # fmt: skip
            await uow.commit()
            return ticket.number
    finally:
        await db.dispose()


async def test_the_bell_after_consent_and_a_push_link_opens_the_ticket(browser: Any, bot: BotProcess) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    await context.grant_permissions(["notifications"], origin=bot.url)
    page = await context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    await page.goto(f"{bot.url}/")
    await page.wait_for_selector('.chip:enabled[data-value="consent:agree"]')
    await page.wait_for_timeout(1000)
    assert await page.locator("#bell").count() == 0  # nothing offered before the privacy notice is agreed to
    await page.click('.chip:enabled[data-value="consent:agree"]')
    bell = page.locator("#bell")
    await bell.wait_for()
    assert await bell.inner_text() in (T("zh_CN", "webchat.push_on"), T("zh_CN", "webchat.push_offer"))
    await bell.click()
    scope = await page.evaluate(
        "async () => { for (let i = 0; i < 50; i++) { const r = await navigator.serviceWorker.getRegistration('/');"
        " if (r) return r.scope; await new Promise(ok => setTimeout(ok, 100)); } return null; }"
    )
    assert scope == f"{bot.url}/"

    number = await plant_ticket(bot)
    await page.goto(f"{bot.url}/?ticket={number}")  # what tapping the push opens
    await page.wait_for_selector(f"li.msg.bot:has-text('{number}')")
    opened = await page.locator("li.msg.bot .bubble").last.inner_text()
    assert number in opened and T("zh_CN", "mytickets.story") in opened
    assert page.url == f"{bot.url}/"  # the link's query is gone: a reload does not open it again
    await context.close()
    assert problems == [], problems
