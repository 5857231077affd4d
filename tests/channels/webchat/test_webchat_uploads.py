"""Web chat sessions and uploads against a real process: a session exists only when the server issued it (a token
the client chose is never taken, so it can neither read someone's transcript nor be a fresh quota per request),
uploads wait for the privacy consent, and quotas per session, per client address and overall hold, also for a
burst of uploads at the same instant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from bot.i18n import load_translator
from tests.channels.webchat.test_webchat_guards import png
from tests.support.processes import BotProcess
from tests.support.webchat_client import WebChatClient

pytestmark = pytest.mark.slow

T = load_translator()
MAX_UPLOAD = 64 * 1024
PER_SESSION = 3
PER_ADDRESS = 5
OVERALL = 10 * MAX_UPLOAD  # bytes no ticket holds yet, everyone's together


def zh(msgid: str, **params: object) -> str:
    return T("zh_CN", msgid, **params)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    env = {
        "WEBCHAT_MAX_UPLOAD": str(MAX_UPLOAD),
        "WEBCHAT_MAX_UPLOADS": str(PER_SESSION),
        "WEBCHAT_ADDRESS_UPLOADS": str(PER_ADDRESS),
        "WEBCHAT_UPLOAD_TOTAL_BYTES": str(OVERALL),
        "WEBCHAT_ADDRESS_RATE": "1000",
        "WEBCHAT_ADDRESS_BURST": "1000",
        "WEBCHAT_SESSION_RATE": "1000",
        "WEBCHAT_SESSION_BURST": "1000",
    }
    process = BotProcess(tmp_path_factory.mktemp("uploads"), env)
    process.start()
    yield process
    process.kill()


def stored_files(bot: BotProcess) -> list[str]:
    root = bot.data_dir / "uploads"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def upload(http: aiohttp.ClientSession, url: str, content: bytes, cookie: str | None = None) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", content, filename="photo.png", content_type="image/png")
    headers = {"Cookie": f"shishi_sid={cookie}"} if cookie else {}
    async with http.post(f"{url}/api/upload", data=form, headers=headers) as response:
        return response.status, await response.json()


async def test_a_token_the_client_chose_is_never_a_session(bot: BotProcess) -> None:
    """Session fixation: a token planted in the victim's browser gets a new, server-issued session, so whoever
    planted it reads nothing of what the victim says."""
    planted = "attacker-chose-this-token-0123456789"
    async with WebChatClient(bot.url) as victim:
        victim.http.cookie_jar.update_cookies({"shishi_sid": planted}, response_url=URL(bot.url))  # as for the site
        page = await victim.open_page()
        assert page.status == 200 and "Set-Cookie" in page.headers
        await victim.say("/start")
        await victim.press("consent:agree")
        issued = victim.session_cookie
    assert issued is not None and issued != planted
    planted_cookie = {"Cookie": f"shishi_sid={planted}"}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as attacker,
        attacker.get(f"{bot.url}/api/messages?after=0", headers=planted_cookie) as response,
    ):
        seen = await response.json()
        renewed = response.headers.get("Set-Cookie", "")
    assert seen["messages"] == [], "the planted token reads the victim's transcript"
    assert "shishi_sid=" in renewed and planted not in renewed  # and it is not taken even now


async def test_uploads_need_an_issued_session_and_consent(bot: BotProcess) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        # A fresh self-made cookie per request (the way 800 MB went in 8 s): never a session, never a file.
        made_up = await asyncio.gather(*(upload(http, bot.url, png(), f"self-made-token-{n:032d}") for n in range(20)))
    assert {status for status, _ in made_up} == {401}
    assert all(body == {"error": zh("webchat.reload")} for _, body in made_up)
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        await citizen.say("/start")
        before_consent = await upload(citizen.http, bot.url, png())
        await citizen.press("consent:agree")
        after_consent = await upload(citizen.http, bot.url, png())
    assert before_consent == (403, {"error": zh("webchat.upload_consent")})
    assert after_consent[0] == 200 and after_consent[1]["ref"] in stored_files(bot)


async def consenting(url: str, local_addr: str) -> WebChatClient:
    client = WebChatClient(url, local_addr=local_addr)
    await client.open_page()
    await client.agree()
    return client


async def test_quotas_per_session_per_address_and_overall_hold_for_bursts(bot: BotProcess) -> None:
    # One session, ten uploads at the same instant: the session's quota, not ten files.
    first = await consenting(bot.url, "127.0.0.21")
    second = await consenting(bot.url, "127.0.0.21")  # another session from the same address
    try:
        burst = await asyncio.gather(*(upload(first.http, bot.url, png()) for _ in range(10)))
        taken = [s for s, _ in burst if s == 200]
        assert len(taken) == PER_SESSION, [s for s, _ in burst]
        assert {b["error"] for s, b in burst if s != 200} == {zh("webchat.upload_quota", files=PER_SESSION)}
        more = [await upload(second.http, bot.url, png()) for _ in range(3)]
    finally:
        await first.close()
        await second.close()
    # The address has uploaded PER_ADDRESS files whatever its sessions; the rest waits for tomorrow.
    assert [s for s, _ in more] == [200] * (PER_ADDRESS - PER_SESSION) + [429]
    assert more[-1][1] == {"error": zh("webchat.upload_later")}

    # Other addresses, each within its own quotas, until everyone's files no ticket holds reach the overall quota.
    statuses = []
    for n in range(6):
        client = await consenting(bot.url, f"127.0.0.{30 + n}")
        try:
            for _ in range(2):
                statuses.append((await upload(client.http, bot.url, png(extra=MAX_UPLOAD - 200)))[0])
        finally:
            await client.close()
    kept = sum(p.stat().st_size for p in (bot.data_dir / "uploads").rglob("*") if p.is_file())
    assert statuses.count(200) >= 4 and statuses[-1] == 503, statuses
    assert statuses == sorted(statuses)  # once full, full: no request slips through after a refusal
    assert kept <= OVERALL
