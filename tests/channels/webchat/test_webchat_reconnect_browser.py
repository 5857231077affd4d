"""The page in real headless Chromium while its server restarts: the "connection lost" banner goes once the server is
back, the WebSocket comes back (not a long poll for ever), and a message typed while the server was down is sent by
the page itself, with the same key, and handled exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import load_translator
from tests.channels.webchat.test_webchat_browser import tap
from tests.support.processes import BotProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]

T = load_translator()


def inbox_keys(bot: BotProcess) -> list[str]:
    with sqlite3.connect(f"file:{bot.db_path}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT update_key FROM inbox WHERE channel = 'webchat'")]


async def until(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {within:.0f}s")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("stop", ["sigterm", "kill -9"])
async def test_after_a_server_restart_the_page_reconnects_and_sends_what_was_typed_once(
    browser: Any, tmp_path: Path, stop: str
) -> None:
    bot = BotProcess(tmp_path)
    await bot.astart()
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = await context.new_page()
        sockets: list[Any] = []
        page.on("websocket", lambda ws: sockets.append(ws))
        await page.goto(f"{bot.url}/")
        await page.wait_for_selector('.chip:enabled[data-value="consent:agree"]')
        await tap(page, "consent:agree")
        await until(lambda: bool(sockets) and not sockets[-1].is_closed(), 10, "the first WebSocket")
        keys_before = inbox_keys(bot)

        if stop == "sigterm":
            await asyncio.to_thread(bot.stop)
        else:
            await asyncio.to_thread(bot.kill)
        await page.wait_for_selector("#status:not([hidden])", timeout=10_000)  # the page says so
        await page.fill("#text", "/help")
        await page.press("#text", "Enter")  # tapped while the server is down
        await asyncio.sleep(2.0)  # the page tries and fails meanwhile
        opened_before = len(sockets)
        await bot.astart()

        await page.wait_for_selector("#status", state="hidden", timeout=30_000)
        await until(lambda: len(sockets) > opened_before and not sockets[-1].is_closed(), 40, "a new WebSocket")
        help_text = T("zh_CN", "help.text").split("\n")[0]
        await page.wait_for_selector(f"li.msg.bot:has-text('{help_text}')", timeout=30_000)
        await asyncio.sleep(1.5)  # would a second copy come?
        bubbles = await page.locator("li.msg.bot .bubble").all_inner_texts()
        mine = await page.locator("li.msg.me .bubble").all_inner_texts()
        banner_hidden = await page.locator("#status").is_hidden()
    finally:
        await context.close()
        bot.kill()
    new_keys = [k for k in inbox_keys(bot) if k not in keys_before]
    assert len(new_keys) == 1, new_keys  # the message typed during the outage, handled once
    assert sum(help_text in b for b in bubbles) == 1
    assert mine.count("/help") == 1
    assert banner_hidden
