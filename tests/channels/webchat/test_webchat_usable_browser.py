"""The web chat stays usable, in real headless Chromium against a real `python -m bot run`:

- an officer's alerts and ticket card are actions, not questions: a new alert leaves the older one's Claim alone,
  revealing the phone leaves "contact the citizen" on the card, and "open attachments" shows the citizen's photo,
  served to that officer's page only;
- a citizen's guide results keep their "do it here" under the menu that follows; /lang switches the header, the
  notice and the Send button; "send my location" sends where the browser is (after the browser's own consent);
- a broadcast's image shows.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert, select

from bot.channels.webchat.live import chat_id_for
from bot.i18n import load_translator
from storage.crypto import FieldCipher
from storage.models import Broadcast, ChatIdentity, Officer, Subscription, Unit
from storage.uow import Database
from tests.channels.webchat.test_webchat_browser import act_and_wait, tap, tiny_png, type_and_send
from tests.conftest import TEST_SECRET
from tests.support.processes import BotProcess
from tests.support.webchat_client import WebChatClient, button_data

pytestmark = [pytest.mark.slow, pytest.mark.browser]

T = load_translator()
UNIT = "hantai-so-beiguan"  # where a Hantai land dispute in Beiguan goes


def zh(msgid: str, **params: object) -> str:
    return T("zh_CN", msgid, **params)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(
        tmp_path,
        {"SHISHI_SECRET_KEY": TEST_SECRET, "BROADCAST_INTERVAL": "0.3", "WEBCHAT_SESSION_BURST": "100"},
    )
    await process.astart()
    try:
        yield process
    finally:
        process.kill()


def invite(bot: BotProcess, unit: str, role: str = "officer") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "invite", "--unit", unit, "--role", role],
        env=bot.environment(),
        cwd=bot.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def phone_page(browser: Any, **options: Any) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", **options)
    page = await context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return context, page, problems


async def citizen_dispute_with_photo(bot: BotProcess) -> None:
    """A citizen on the web chat (over HTTP) reports a Beiguan land dispute with one photo."""
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        await citizen.agree()
        evidence = await citizen.fill(
            await citizen.press("menu:dispute"),
            prefer=("land", "hantai", "beiguan"),
            stop=lambda message: "done" in button_data(message),
        )
        assert "done" in button_data(evidence.last)
        form = aiohttp.FormData()
        form.add_field("file", tiny_png(), filename="photo.png", content_type="image/png")
        async with citizen.http.post(f"{bot.url}/api/upload", data=form) as response:
            assert response.status == 200
            ref = (await response.json())["ref"]
        await citizen.post({"attachments": [{"kind": "photo", "ref": ref}]})
        summary = await citizen.fill(await citizen.press("done"), prefer=("land", "hantai", "beiguan"))
        assert "nav:submit" in button_data(summary.last)
        await citizen.press("nav:submit")


async def chips(page: Any, prefix: str) -> dict[str, bool]:
    """Every chip whose value starts with `prefix`: value → can it still be tapped."""
    found = await page.eval_on_selector_all(
        f'.chip[data-value^="{prefix}"]',
        "els => els.map(e => [e.dataset.value, !e.disabled && e.offsetParent !== null])",
    )
    return dict(found)


async def test_an_officers_alerts_and_card_stay_usable_and_attachments_open_for_them_only(
    browser: Any, bot: BotProcess
) -> None:
    context, page, problems = await phone_page(browser)
    await page.goto(f"{bot.url}/")
    await page.wait_for_selector('.chip:enabled[data-value="consent:agree"]')
    await type_and_send(page, f"/join {invite(bot, UNIT)} 张三")
    with sqlite3.connect(bot.db_path) as db:  # no quiet hours for this officer, whatever the time of the run
        db.execute("UPDATE officers SET quiet_start = '00:00', quiet_end = '00:00'")

    await citizen_dispute_with_photo(bot)
    await page.wait_for_function("() => document.querySelectorAll('.chip[data-value^=\"t:claim:\"]').length >= 1")
    await citizen_dispute_with_photo(bot)
    await page.wait_for_function("() => document.querySelectorAll('.chip[data-value^=\"t:claim:\"]').length >= 2")
    claims = await chips(page, "t:claim:")
    assert len(claims) == 2 and all(claims.values()), claims  # the second alert left the first one's Claim alone
    first, other = sorted(claims, key=lambda v: int(v.rsplit(":", 1)[1]))
    ticket = first.rsplit(":", 1)[1]

    await tap(page, first)
    assert (await chips(page, "t:claim:"))[other] is True  # claiming one ticket leaves the other alert alone
    await tap(page, f"t:phone:{ticket}")
    assert (await chips(page, f"t:msg:{ticket}")).get(f"t:msg:{ticket}") is True  # contact the citizen: still there
    await tap(page, f"t:msg:{ticket}")
    asked = await page.locator("li.msg.bot .bubble").last.inner_text()
    assert asked.startswith(zh("desk.ask.message", number="").split("{")[0][:4])
    await tap(page, f"t:abort:{ticket}")

    await act_and_wait(page, page.locator(f'.chip:enabled[data-value="t:files:{ticket}"]').last.click)
    image = page.locator("li.msg.bot .bubble img.file").last
    await image.wait_for()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await image.element_handle())
    source = await image.get_attribute("src")
    assert source is not None and source.startswith("/api/file/")
    assert "webchat:" not in await page.content()  # the file's place on the server never reaches the page

    async with aiohttp.ClientSession() as stranger:  # another session, or none: nothing
        async with stranger.get(f"{bot.url}/") as response:
            await response.read()
        async with stranger.get(f"{bot.url}{source}") as response:
            assert response.status == 404
    fetched = await context.request.get(f"{bot.url}{source}")
    assert fetched.status == 200 and (await fetched.body()).startswith(b"\x89PNG")
    await context.close()
    assert problems == [], problems


async def test_guide_results_language_and_location_for_a_citizen(browser: Any, bot: BotProcess) -> None:
    context, page, problems = await phone_page(
        browser, geolocation={"latitude": 33.0677, "longitude": 107.0238}, permissions=["geolocation"]
    )
    await page.goto(f"{bot.url}/")
    await page.wait_for_selector('.chip:enabled[data-value="consent:agree"]')
    await tap(page, "consent:agree")

    # Guide results, then the menu: each result keeps its "do it here".
    await type_and_send(page, "法律援助")
    await page.locator('.chip[data-value="menu:dispute"]').last.wait_for()
    here = await chips(page, "menu:legal_aid")
    assert here.get("menu:legal_aid") is True, here
    await tap(page, "menu:legal_aid")
    question = await page.locator("li.msg.bot .bubble").last.inner_text()
    assert zh("legal_aid.matter") in question
    await tap(page, "nav:cancel")

    # "Send my location" on the service interview's address step.
    await tap(page, "menu:service")
    await tap(page, "home_visit")
    await tap(page, "hantai")
    location = page.locator('.chip:enabled[data-value="request:location"]').last
    await location.wait_for()
    await act_and_wait(page, location.click)
    asked = await page.locator("li.msg.bot .bubble").last.inner_text()
    assert zh("service.when") in asked  # the location answered the address step
    assert await page.locator("li.msg.me", has_text="33.06770, 107.02380").count() == 1
    await tap(page, "nav:cancel")

    # /lang en: the page's own words follow the chosen language.
    assert await page.locator("#send").inner_text() == zh("webchat.send")
    await type_and_send(page, "/lang en")
    en = functools.partial(T, "en")
    await page.wait_for_function("text => document.querySelector('#send').textContent === text", arg=en("webchat.send"))
    assert await page.locator("#title").inner_text() == en("webchat.title")
    assert await page.locator("#notice").inner_text() == en("webchat.footer")
    assert await page.get_attribute("html", "lang") == "en"
    await page.reload()
    await page.wait_for_function("text => document.querySelector('#send').textContent === text", arg=en("webchat.send"))
    await context.close()
    assert problems == [], problems


async def test_a_broadcast_image_shows_in_the_web_chat(browser: Any, bot: BotProcess) -> None:
    context, page, problems = await phone_page(browser)
    await page.goto(f"{bot.url}/")
    await page.wait_for_selector('.chip:enabled[data-value="consent:agree"]')
    await tap(page, "consent:agree")
    uploaded = await page.evaluate(
        """async (bytes) => {
            const data = new FormData();
            data.append("file", new Blob([new Uint8Array(bytes)], { type: "image/png" }), "x.png");
            const response = await fetch("/api/upload", { method: "POST", body: data, credentials: "same-origin" });
            return response.json();
        }""",
        list(tiny_png()),
    )
    token = next(c["value"] for c in await context.cookies() if c["name"] == "shishi_sid")
    chat = chat_id_for(token)
    db = Database(f"sqlite+aiosqlite:///{bot.db_path}", FieldCipher.from_secret(TEST_SECRET))
    try:
        await broadcast_with_image(db, chat, f"webchat|webchat:{chat}/{uploaded['ref']}")
    finally:
        await db.dispose()
    image = page.locator("li.msg.bot .bubble img.file").last
    await image.wait_for(timeout=30_000)
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await image.element_handle())
    bubble = await page.locator("li.msg.bot:has(img.file) .bubble").last.inner_text()
    assert "冬季道路结冰" in bubble
    await context.close()
    assert problems == [], problems


async def broadcast_with_image(db: Database, chat: str, photo: str) -> None:
    """The page's person subscribes; two admins wrote and approved a broadcast with the page's upload as its image."""
    now = datetime.now(UTC)
    async with db() as uow:
        person = (
            await uow.session.execute(select(ChatIdentity.person_id).where(ChatIdentity.external_id == chat))
        ).scalar_one()
        unit = (await uow.session.execute(select(Unit).limit(1))).scalar_one()
        admins = []
        for name in ("张管理", "李管理"):
            identity = await uow.people.create("webchat", f"w-{name}", "zh_CN", now)
            uow.session.add(
                Officer(person_id=identity.person_id, unit_id=unit.id, role="admin", name=name, active=True,
                        created_at=now)
            )  # fmt: skip
            admins.append(identity.person_id)
        await uow.session.execute(insert(Subscription), [{"person_id": person, "topic": "traffic", "created_at": now}])
        await uow.broadcasts.add(
            Broadcast(
                author_person_id=admins[0],
                topic="traffic",
                county=None,
                text_zh="冬季道路结冰，出行请减速慢行。",
                photo=photo,
                send_at=now,
                status="scheduled",
                approved_by_person_id=admins[1],
                approved_at=now,
                fanout_cursor=0,
                fanned_out=0,
                recipients=0,
                created_at=now,
            )
        )
        await uow.commit()
    await asyncio.sleep(0)
