"""/mydata in the web chat through a real `python -m bot run` (#16): the reply carries a one-time link; opened with the
session that asked, it gives the JSON copy with the citizen's values once; a second fetch, a forged token, an expired
copy and another browser session holding the very link are all refused."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import aiohttp

from bot.i18n import load_translator
from tests.support.processes import BotProcess
from tests.support.webchat_client import DESCRIPTION, WebChatClient

T = load_translator()
PHONE = "13955507788"
LINK = re.compile(r"https?://\S+/mydata/([A-Za-z0-9_\-]+)")


async def ask_for_copy(citizen: WebChatClient) -> str:
    answer = await citizen.say("/mydata")
    assert answer.status == 200, answer.body
    [token] = LINK.findall(answer.text)
    return token


async def fetch(client: WebChatClient, token: str) -> tuple[int, str, bytes]:
    """What the page's button does: POST /mydata/<token> with the browser's cookies."""
    async with client.http.post(f"{client.base_url}/mydata/{token}") as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


def expire_copies(db_file: Path) -> None:
    """Time passes for the copies not yet fetched: they expire as they were made."""
    with sqlite3.connect(db_file) as connection:
        connection.execute("UPDATE data_copies SET expires_at = created_at WHERE used_at IS NULL")


async def test_the_link_gives_the_copy_once_and_only_to_the_session_that_asked(tmp_path: Path) -> None:
    bot = await BotProcess(tmp_path).astart()
    try:
        async with WebChatClient(bot.url) as citizen, WebChatClient(bot.url) as stranger:
            await citizen.open_page()
            await citizen.agree()
            summary = await citizen.fill(await citizen.press("menu:dispute"), phone=PHONE)
            receipt = await citizen.press("nav:submit")
            [number] = set(re.findall(r"HZ-\d{8}-\d{4}", receipt.text))
            token = await ask_for_copy(citizen)
            assert summary.status == 200

            await stranger.open_page()  # a browser session of its own, holding the very link
            assert (await fetch(stranger, token))[0] == 403
            forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
            assert (await fetch(citizen, forged))[0] == 403

            async with citizen.http.get(f"{bot.url}/mydata/{token}") as page:  # a preview does not use it up
                assert page.status == 200 and T("zh_CN", "privacy.copy.page_button") in await page.text()
            status, kind, body = await fetch(citizen, token)
            assert status == 200 and kind.startswith("application/json")
            data = json.loads(body.decode("utf-8"))
            [ticket] = data["tickets"]
            assert ticket["number"] == number
            assert ticket["answers"]["description"] == DESCRIPTION and ticket["answers"]["phone"] == PHONE
            assert [c["channel"] for c in data["chats"]] == ["webchat"]

            again = await fetch(citizen, token)
            assert again[0] == 403 and b'"tickets"' not in again[2] and PHONE.encode() not in again[2]  # once

            later = await ask_for_copy(citizen)
            expire_copies(bot.db_path)
            assert (await fetch(citizen, later))[0] == 403
    finally:
        bot.kill()
    assert PHONE not in bot.log_text()


async def test_a_link_without_any_session_is_refused(tmp_path: Path) -> None:
    bot = await BotProcess(tmp_path).astart()
    try:
        async with WebChatClient(bot.url) as citizen:
            await citizen.open_page()
            await citizen.agree()
            token = await ask_for_copy(citizen)
        async with aiohttp.ClientSession() as bare, bare.post(f"{bot.url}/mydata/{token}") as response:
            assert response.status == 403  # the link alone, e.g. forwarded or read from a log
    finally:
        bot.kill()
