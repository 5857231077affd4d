"""The ledger dashboard in Debian's headless Chromium against a real `python -m bot run`: the one-time login link
from /dashboard (reused and expired links refused, an officer without leader rights refused), the ledger on a phone
and on a desktop in zh_CN and en with the screenshots checked (elements there, nothing overflowing, Chinese drawn
in the font the project ships), filters, every number clicking through to exactly its tickets (masked), the XLSX
button (CSRF-checked, audited), sign-out."""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.i18n import load_translator
from handlers.conversation.turn import Rules, system_clock
from handlers.desk import Desk
from handlers.ledger import passes
from handlers.ledger.report import subtree
from handlers.staff import invites
from storage.crypto import FieldCipher
from storage.models import AuditEntry
from storage.uow import Database
from tests.conftest import DeskDriver
from tests.support import ledger_world
from tests.support.officer_world import join, person_of
from tests.support.processes import BotProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SECRET = "dashboard-browser-test-secret"
SHOTS = Path(os.environ.get("SHISHI_SCREENSHOT_DIR", "/tmp"))
T = load_translator()
NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, {"SHISHI_SECRET_KEY": SECRET})
    await process.astart()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
async def desk(bot: BotProcess) -> AsyncIterator[DeskDriver]:
    """The same database as the process, worked from the test: the world planted, officers joined, links asked."""
    db = Database(f"sqlite+aiosqlite:///{bot.db_path}", FieldCipher.from_secret(SECRET))
    driver = DeskDriver(Desk(db, T, Rules(public_url=bot.url), system_clock), db, T)
    try:
        yield driver
    finally:
        await db.dispose()


async def login_link(driver: DeskDriver, chat: Any) -> str:
    reply = (await driver.say(chat, "/dashboard"))[-1]
    found = re.search(r"https?://\S+/desk/login/\S+", reply.text)
    assert found, reply.text
    return found.group(0)


async def no_overflow(page: Any) -> list[str]:
    """Elements sticking out of the viewport sideways (a table may scroll inside its own box, nothing else)."""
    return await page.evaluate(
        """() => {
            const width = window.innerWidth;
            const out = [];
            if (document.documentElement.scrollWidth > width) out.push('page ' + document.documentElement.scrollWidth);
            for (const el of document.querySelectorAll('body *')) {
                if (el.closest('.scroll')) continue;
                const box = el.getBoundingClientRect();
                if (box.width && box.right > width + 1) out.push(el.tagName + '#' + el.id + '.' + el.className);
            }
            return out;
        }"""
    )


async def check_shot(page: Any, name: str) -> Path:
    path = SHOTS / f"dashboard-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as shot:
        width, height = shot.size
        colours = shot.convert("RGB").resize((64, 64)).getcolors(64 * 64) or []
    viewport = page.viewport_size
    assert width == viewport["width"] * (2 if "phone" in name else 1)
    assert height > viewport["height"] * 0.9 and len(colours) > 20  # a real page, not blank
    return path


async def shipped_font_drew(page: Any) -> bool:
    return bool(
        await page.evaluate(
            """async () => { await document.fonts.ready;
                return document.fonts.check('16px "Shishi Sans Subset"', '台账看板') &&
                    [...document.fonts].some(f => f.family.includes('Shishi') && f.status === 'loaded'); }"""
        )
    )


async def test_leaders_dashboard_on_a_phone_and_a_desktop(browser: Any, bot: BotProcess, desk: DeskDriver) -> None:
    world = await ledger_world.build(desk)
    leader = await join(desk, "leader-zh", "city-intake", "admin", "钱七")
    link = await login_link(desk, leader)
    assert link.startswith(bot.url + "/desk/login/")

    phone = await browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = await phone.new_page()
    await page.goto(link)
    await page.click("#go")
    await page.wait_for_selector("#filters")
    cookie = next(c for c in await phone.cookies() if c["name"] == "shishi_desk")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/desk"

    await page.goto(f"{bot.url}/desk/?{NOVEMBER}")
    for selector in ("#filters", "#scope", "#rate-response", "#batch-concern", "#batch-dispute", "#batch-aid",
                     "#batch-campaign", "#batch-measure", "#chart-batches svg", "#chart-trend svg", "#rates",
                     "#definitions", "#by-status", "#overdue", "#clusters", "#measures", "#measures-by-county",
                     "#measures-by-unit", "#export"):  # fmt: skip
        assert await page.locator(selector).count() == 1, selector
    assert await page.title() == T("zh_CN", "ledger.desk.title")
    assert await no_overflow(page) == []
    assert await shipped_font_drew(page)
    await check_shot(page, "phone-zh")

    plans = [p for p in world.chosen() if world.counted(p)]
    received = page.locator('#batch-dispute tr[data-figure="dispute_received"] a.num')
    assert await received.inner_text() == str(sum(1 for p in plans if p.kind == "dispute"))

    # Every number that counts tickets opens exactly those tickets (their count and their rows), masked.
    links = await page.eval_on_selector_all("a.num", "els => els.map(e => [e.getAttribute('href'), e.innerText])")
    assert len(links) > 40
    checked = 0
    for href, shown in links[::3]:
        listing = await phone.new_page()
        await listing.goto(bot.url + href)
        total = int(await listing.get_attribute("#count", "data-total"))
        assert total == int(shown.replace(",", "").split(" / ")[0]), href
        assert await listing.locator("tr.ticket").count() == min(total, 50)
        text = await listing.inner_text("body")
        assert "界桩" not in text and ledger_world.PHONE not in text
        if total:
            assert "139****5678" in text
        assert await no_overflow(listing) == []
        await listing.close()
        checked += 1
    assert checked > 10

    # Filters: a county narrows every number to it.
    await page.select_option("#f-period", "")
    await page.fill("#f-from", "2026-11-01")
    await page.fill("#f-to", "2026-11-30")
    await page.select_option("#f-county", "hantai")
    await page.click("#apply")
    await page.wait_for_url(re.compile(r"county=hantai"))
    hantai = [p for p in plans if p.county == "hantai"]
    assert await received.inner_text() == str(sum(1 for p in hantai if p.kind == "dispute"))
    assert T("zh_CN", "county.hantai") in await page.inner_text("#scope")
    await received.click()
    await page.wait_for_selector("#count")
    assert int(await page.get_attribute("#count", "data-total")) == sum(1 for p in hantai if p.kind == "dispute")
    await page.click("#back")
    await page.wait_for_selector("#filters")

    # The XLSX button: a download, audited.
    async with page.expect_download() as downloading:
        await page.click("#export")
    download = await downloading.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    saved = Path(await download.path())
    book = openpyxl.load_workbook(io.BytesIO(await asyncio.to_thread(saved.read_bytes)))
    assert book.sheetnames[0] == T("zh_CN", "ledger.sheet.summary")
    async with desk.db.reading() as uow:
        exports = (await uow.session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ledger_export")
        )).scalar_one()  # fmt: skip
    assert exports == 1

    # A form posted without the page's CSRF token does nothing; sign-out ends the session.
    forged = await page.request.post(f"{bot.url}/desk/export", form={"csrf": "forged"})
    assert forged.status == 403
    await page.click("#logout")
    await page.wait_for_load_state()
    assert T("zh_CN", "ledger.desk.signed_out") in await page.inner_text("body")
    await phone.close()

    # An English-speaking leader of one unit, on a desktop: their subtree, in English.
    english = await join(desk, "leader-en", "hantai-justice", "leader", "Zhao", language="en")
    desktop = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = await desktop.new_page()
    await page.goto(await login_link(desk, english))
    assert T("en", "ledger.desk.login.lead") in await page.inner_text("body")
    await page.click("#go")
    await page.goto(f"{bot.url}/desk/?{NOVEMBER}")
    assert await page.title() == "Ledger dashboard"
    assert "Hantai District Justice Bureau and the units under it" in await page.inner_text("#scope")
    tree = [p for p in plans if p.unit in ledger_world.HANTAI_TREE]
    received = page.locator('#batch-dispute tr[data-figure="dispute_received"] a.num')
    assert await received.inner_text() == str(sum(1 for p in tree if p.kind == "dispute"))
    units = await page.eval_on_selector_all("#f-unit option", "els => els.map(e => e.value).filter(Boolean)")
    async with desk.db.reading() as uow:
        everyone = await uow.units.all()
    root = next(u.id for u in everyone if u.code == "hantai-justice")
    assert sorted(int(u) for u in units) == sorted(subtree(everyone, root))  # the bureau and the units under it
    outside = await page.goto(f"{bot.url}/desk/?unit=1&{NOVEMBER}")  # the city intake centre: not theirs
    assert outside is not None and outside.status == 403
    await page.goto(f"{bot.url}/desk/?{NOVEMBER}")
    assert await no_overflow(page) == []
    await check_shot(page, "desktop-en")
    await desktop.close()


async def test_links_are_one_time_short_lived_and_for_leaders_only(
    browser: Any, bot: BotProcess, desk: DeskDriver
) -> None:
    await ledger_world.build(desk, count=12)
    leader = await join(desk, "leader", "hantai-justice", "leader", "赵六")
    officer = await join(desk, "officer", "hantai-justice", "officer", "张三")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = await context.new_page()

    link = await login_link(desk, leader)
    await page.goto(link)
    await page.click("#go")
    await page.wait_for_selector("#filters")
    again = await context.new_page()
    response = await again.goto(link)  # reused
    assert response is not None and response.status == 403
    assert T("zh_CN", "ledger.desk.link.used") in await again.inner_text("body")

    # Expired: a link issued eleven minutes ago.
    async with desk.db() as uow:
        stale = await passes.issue(
            uow, await person_of(desk, leader), passes.LOGIN, datetime.now(UTC) - timedelta(minutes=11)
        )
        await uow.commit()
    response = await again.goto(f"{bot.url}/desk/login/{stale}")
    assert response is not None and response.status == 403
    assert T("zh_CN", "ledger.desk.link.expired") in await again.inner_text("body")
    forged = await again.goto(f"{bot.url}/desk/login/{'x' * 32}")
    assert forged is not None and forged.status == 403

    # An officer without leader rights: refused in chat, and a link made for them opens nothing.
    refused = await desk.say(officer, "/dashboard")
    assert refused[-1].text == T("zh_CN", "desk.command_refused")
    async with desk.db() as uow:
        theirs = await passes.issue(uow, await person_of(desk, officer), passes.LOGIN, datetime.now(UTC))
        await uow.commit()
    stranger = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = await stranger.new_page()
    await page.goto(f"{bot.url}/desk/login/{theirs}")
    await page.click("#go")
    await page.wait_for_load_state()
    assert T("zh_CN", "ledger.desk.refused") in await page.inner_text("body")
    assert not [c for c in await stranger.cookies() if c["name"] == "shishi_desk"]
    response = await page.goto(f"{bot.url}/desk/")
    assert response is not None and response.status == 401
    await stranger.close()
    await context.close()


async def test_ledger_in_the_web_chat_shows_the_chart_and_a_pressable_login_link(
    browser: Any, bot: BotProcess, desk: DeskDriver
) -> None:
    await ledger_world.build(desk, count=30)
    code = await invites.make_invite(desk.db, "city-intake", "admin", timedelta(hours=1), datetime.now(UTC))
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(bot.url + "/")
    await page.wait_for_selector("li.msg.bot")

    async def say(text: str) -> None:
        await page.fill("#text", text)
        await page.press("#text", "Enter")

    await say(f"/join {code} 钱七")
    await page.wait_for_function("() => document.querySelectorAll('li.msg.bot').length >= 2")
    await say("/ledger 2026-11")
    chart = page.locator("li.msg.bot img.file").last
    await chart.wait_for()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await chart.element_handle())
    assert await chart.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1080, 1350]
    source = await chart.get_attribute("src")
    assert source is not None and source.startswith("/media/ledger-")
    stranger = await browser.new_context()  # another browser (no web chat session of that chat) gets nothing
    assert (await stranger.request.get(bot.url + source)).status == 404
    await stranger.close()
    await say("/dashboard")
    login = page.locator(f'li.msg.bot a[href^="{bot.url}/desk/login/"]').last
    await login.wait_for()
    async with context.expect_page() as opened:
        await login.click()
    dashboard = await opened.value
    await dashboard.wait_for_load_state()
    assert await dashboard.locator("#go").count() == 1
    await check_shot(page, "webchat-ledger")
    await context.close()
