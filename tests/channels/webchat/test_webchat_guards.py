"""The web chat's guards against a real process: headers, cookie, origin, sizes, bad JSON, caps, push, uploads."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.webchat.uploads import sniff, upload_path
from bot.i18n import load_translator
from tests.support.processes import BotProcess
from tests.support.tcp_proxy import TcpProxy
from tests.support.webchat_client import WebChatClient, button_data

pytestmark = pytest.mark.slow

T = load_translator()
MAX_UPLOAD = 300_000
TRACE_WORDS = ("Traceback", 'File "', "sqlalchemy", "aiohttp", "sqlite3", "Exception", "Error:", "line ")


def zh(msgid: str, **params: object) -> str:
    return T("zh_CN", msgid, **params)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """One process for the whole module; the address limit is opened wide because every test is 127.0.0.1."""
    env = {
        "MAX_TICKETS_PER_DAY": "1",
        "WEBCHAT_MAX_UPLOAD": str(MAX_UPLOAD),
        "WEBCHAT_MAX_UPLOADS": "3",
        "WEBCHAT_ADDRESS_RATE": "1000",
        "WEBCHAT_ADDRESS_BURST": "1000",
    }
    process = BotProcess(tmp_path_factory.mktemp("guards"), env)
    process.start()
    yield process
    process.kill()


def png(extra: int = 0) -> bytes:
    """A real 1×1 PNG, optionally padded with a text chunk to a chosen size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pad = chunk(b"tEXt", b"c\x00" + b"x" * extra) if extra else b""
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pad + idat + chunk(b"IEND", b"")


def no_internals(text: str) -> None:
    for word in TRACE_WORDS:
        assert word not in text, f"{word!r} leaked into {text!r}"


async def test_page_and_static_files_carry_a_strict_content_security_policy(bot: BotProcess) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{bot.url}/") as page:
            assert page.status == 200 and "text/html" in page.headers["Content-Type"]
            csp = page.headers["Content-Security-Policy"]
            html = await page.text()
        async with http.get(f"{bot.url}/static/chat.js") as script:
            assert script.status == 200 and script.headers["Content-Security-Policy"] == csp
        for bad in ("..%2Fserver.py", "index.html", "%00", "chat.js%00.png", "nope.js"):
            async with http.get(f"{bot.url}/static/{bad}") as missing:
                assert missing.status == 404, bad
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in html and " style=" not in html and "http" not in html.replace("http-equiv", "")


async def test_cookie_is_httponly_samesite_and_the_session_survives_a_reload(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen, WebChatClient(bot.url) as stranger:
        first = await citizen.open_page()
        set_cookie = first.headers.getall("Set-Cookie")[0]
        assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/" in set_cookie
        await citizen.agree()
        await citizen.press("menu:dispute")
        reload = await citizen.open_page()
        assert "Set-Cookie" not in reload.headers  # the same session, not a new one
        history = await citizen.history(after=0)
        await stranger.open_page()
        theirs = await stranger.history(after=0)
    assert history.status == 200
    texts = [m["text"] for m in history.messages]
    assert zh("welcome") in texts[0] and zh("dispute.category") in texts[-1]
    assert theirs.messages == []  # another cookie sees nothing of it


async def test_a_forged_cookie_starts_a_new_session_and_never_reaches_the_database_raw(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        citizen.http.cookie_jar.update_cookies({"shishi_sid": "'; DROP TABLE people; --"})
        page = await citizen.open_page()
        assert page.status == 200 and "Set-Cookie" in page.headers
        answer = await citizen.say("/start")
    assert answer.status == 200 and zh("welcome") in answer.text


async def test_websocket_from_a_foreign_origin_is_refused(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        ws_url = bot.url.replace("http", "ws") + "/ws"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await citizen.http.ws_connect(ws_url, headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
        forged = await citizen.http.post(
            f"{bot.url}/api/messages", json={"key": "x1", "text": "/start"}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status == 403 and (await forged.json())["error"] == zh("webchat.origin_refused")
        own = await citizen.http.ws_connect(ws_url, headers={"Origin": bot.url})
        await own.close()
    async with aiohttp.ClientSession() as cookieless:
        with pytest.raises(aiohttp.WSServerHandshakeError) as no_session:
            await cookieless.ws_connect(ws_url, headers={"Origin": bot.url})
        assert no_session.value.status == 401


async def test_websocket_pushes_replies_without_a_reload(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        ws = await citizen.http.ws_connect(bot.url.replace("http", "ws") + "/ws?after=0", headers={"Origin": bot.url})
        try:
            await ws.send_json({"key": "ws-1", "text": "/start"})
            ack, pushed = await _ws_until(ws, "ack"), await _ws_until(ws, "messages")
            assert ack["key"] == "ws-1"
            assert zh("welcome") in pushed["messages"][0]["text"]
            # A message sent over plain HTTP from the same session is pushed to the open socket at once.
            loop = asyncio.get_running_loop()
            sent_at = loop.time()
            await citizen.press("consent:agree")
            more = await _ws_until(ws, "messages")
            latency = loop.time() - sent_at
            await ws.send_str("{not json")
            complaint = await _ws_until(ws, "error")
        finally:
            await ws.close()
    assert zh("consent.thanks") in more["messages"][0]["text"]
    assert latency < 1.5, f"pushed after {latency:.2f} s: that is the 3 s re-check, not a push"
    assert complaint["text"] == zh("webchat.bad_request")


async def _ws_until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = await asyncio.wait_for(ws.receive_json(), timeout=10)
        if message["type"] == kind:
            return dict(message)


async def test_long_poll_fallback_wakes_when_a_reply_is_queued(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        await citizen.say("/start")
        waiting = asyncio.create_task(citizen.history(after=citizen.cursor, wait=20))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # nothing new yet: the poll is holding
        await citizen.press("consent:agree")
        polled = await asyncio.wait_for(waiting, timeout=5)
    assert polled.status == 200 and 0.4 < polled.seconds < 3
    assert zh("consent.thanks") in polled.messages[0]["text"]


async def test_oversize_body_gets_413_with_the_polite_message(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        answer = await citizen.say("汉" * 200_000)  # 600 kB of UTF-8, over the 512 kB limit
        fits = await citizen.say("x" * 100_000)  # fits: the interview itself refuses it politely
    assert answer.status == 413 and answer.body == {"error": zh("error.too_large")}
    assert fits.status == 200


async def test_malformed_requests_get_a_polite_400(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        raw = await citizen.http.post(
            f"{bot.url}/api/messages", data=b"{not json", headers={"Content-Type": "application/json"}
        )
        raw_body = await raw.json()
        cases = [
            {"text": "no key"},
            {"key": "", "text": "empty key"},
            {"key": "k", "text": 5},
            {"key": "k", "choice": ["a"]},
            {"key": "k", "text": "\ud800 lone surrogate"},
            {"key": "k", "attachments": "photo"},
            {"key": "k", "attachments": [{"kind": "photo", "ref": "../../secret.key"}]},
        ]
        answers = []
        for body in cases:
            async with citizen.http.post(f"{bot.url}/api/messages", json=body) as response:
                answers.append((response.status, await response.json()))
        listed = await citizen.http.post(f"{bot.url}/api/messages", json=["a", "list"])
        listed_body = await listed.json()
        huge_cursor = await citizen.post({"text": "/start", "after": 10**30})
        poll = await citizen.http.get(f"{bot.url}/api/messages?after=not-a-number")
        poll_body = await poll.json()
        far = await citizen.history(after=10**30, wait=float("nan"))
        handled = await citizen.history(after=0)
    polite = {"error": zh("webchat.bad_request")}
    assert (raw.status, raw_body) == (400, polite)
    assert answers == [(400, polite)] * len(cases)
    assert (listed.status, listed_body) == (400, polite)
    assert huge_cursor.status == 200 and huge_cursor.messages == []  # handled; a forged cursor just sees nothing
    assert (poll.status, poll_body) == (400, polite)
    assert far.status == 200 and far.messages == []
    assert zh("welcome") in handled.text


async def test_daily_ticket_cap_per_identity_gives_the_catalog_message(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        await citizen.dispute()
        receipt = await citizen.press("nav:submit")
        assert "HZ-" in receipt.text
        second = await citizen.press("menu:dispute")
    assert second.last["text"].startswith(zh("ticket.daily_cap", limit=1))
    assert "menu:dispute" in button_data(second.last)  # the menu again, not a dead end


async def _upload(
    client: WebChatClient, content: bytes, content_type: str, filename: str = "photo.png"
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=filename, content_type=content_type)
    async with client.http.post(f"{client.base_url}/api/upload", data=form) as response:
        return response.status, await response.json()


async def test_upload_takes_a_photo_and_the_message_carries_it_as_an_attachment(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen, WebChatClient(bot.url) as other:
        await citizen.open_page()
        await other.open_page()
        await citizen.agree()  # a file may hold personal data: uploads wait for the privacy consent
        status, stored = await _upload(citizen, png(), "image/png", filename="张三身份证.png")
        assert status == 200 and stored["kind"] == "photo" and stored["ref"].endswith(".png")
        assert "张三" not in stored["ref"] and stored["size"] == len(png())
        asked = await citizen.fill(await citizen.press("menu:dispute"), stop=lambda m: "done" in button_data(m))
        attachment = {"attachments": [{"kind": "voice", "ref": stored["ref"]}]}  # the kind is the server's call
        if "done" in button_data(asked.last):  # the interview has an evidence step
            taken = await citizen.post(attachment)
            assert taken.status == 200 and zh("input.media_received", count=1, max=5) in taken.text
            summary = await citizen.fill(await citizen.press("done"))
            assert zh("input.media_count", count=1) in summary.last["text"]
        stolen = await other.post({"attachments": [{"kind": "photo", "ref": stored["ref"]}]})
    files = list((bot.data_dir / "uploads").rglob("*"))
    stored_files = [f for f in files if f.is_file()]
    assert [f.name for f in stored_files if f.name == stored["ref"]] == [stored["ref"]]
    assert not [f for f in stored_files if f.name.endswith(".part")]
    assert stolen.status == 400  # another session cannot attach it
    chat_dir = next(f.parent for f in stored_files if f.name == stored["ref"])
    assert upload_path(bot.data_dir / "uploads", f"webchat:{chat_dir.name}/{stored['ref']}") is not None
    assert upload_path(bot.data_dir / "uploads", f"webchat:{chat_dir.name}/../../secret.key") is None


async def test_photo_at_a_text_step_is_refused_with_the_reason_and_the_same_step(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        await citizen.agree()
        _, stored = await _upload(citizen, png(), "image/png")
        await citizen.fill(await citizen.press("menu:dispute"), stop=lambda m: zh("dispute.description") in m["text"])
        refused = await citizen.post({"attachments": [{"kind": "photo", "ref": stored["ref"]}]})
    assert refused.status == 200
    assert refused.last["text"].startswith(zh("input.text_expected"))
    assert zh("dispute.description") in refused.last["text"]


async def test_upload_refuses_foreign_types_oversize_files_and_strangers_politely(bot: BotProcess) -> None:
    html = b"<html><script>alert(1)</script></html>"
    async with WebChatClient(bot.url) as citizen:
        await citizen.open_page()
        await citizen.agree()
        results = {
            "html as html": await _upload(citizen, html, "text/html", "x.html"),
            "html as png": await _upload(citizen, html, "image/png"),
            "svg": await _upload(citizen, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", "x.svg"),
            "png as audio": await _upload(citizen, png(), "audio/mpeg", "x.mp3"),
            "too big": await _upload(citizen, png(extra=MAX_UPLOAD), "image/png"),
            "empty": await _upload(citizen, b"", "image/png"),
        }
        not_multipart = await citizen.http.post(f"{bot.url}/api/upload", json={"file": "x"})
        not_multipart_body = await not_multipart.json()
    async with aiohttp.ClientSession() as stranger:
        form = aiohttp.FormData()
        form.add_field("file", png(), filename="a.png", content_type="image/png")
        async with stranger.post(f"{bot.url}/api/upload", data=form) as cookieless:
            cookieless_status = cookieless.status
    kind = {"error": zh("webchat.upload_type")}
    assert results["html as html"] == (415, kind)
    assert results["html as png"] == (415, kind)
    assert results["svg"] == (415, kind)
    assert results["png as audio"] == (415, kind)
    assert results["too big"] == (413, {"error": zh("webchat.upload_too_large", max=1)})
    assert results["empty"] == (400, {"error": zh("webchat.upload_empty")})
    assert (not_multipart.status, not_multipart_body) == (400, {"error": zh("webchat.bad_request")})
    assert cookieless_status == 401
    leftovers = [f for f in (bot.data_dir / "uploads").rglob("*") if f.is_file() and not f.name.endswith(".png")]
    assert leftovers == []  # nothing refused was kept, not even a partial file


async def test_a_session_cannot_fill_the_disk_with_uploads(bot: BotProcess) -> None:
    async with WebChatClient(bot.url) as citizen, WebChatClient(bot.url) as neighbour:
        await citizen.open_page()
        await neighbour.open_page()
        await citizen.agree()
        await neighbour.agree()
        taken = [await _upload(citizen, png(), "image/png") for _ in range(3)]
        fourth = await _upload(citizen, png(), "image/png")
        theirs = await _upload(neighbour, png(), "image/png")
    assert [status for status, _ in taken] == [200, 200, 200]
    assert fourth == (429, {"error": zh("webchat.upload_quota", files=3)})
    assert theirs[0] == 200  # the quota is the session's, not everyone's


@pytest.mark.parametrize(
    ("head", "declared", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", "jpg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic", "heic"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00", "audio/mp4", "m4a"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", "video/mp4", None),
        (b"OggS\x00\x02", "audio/ogg", "ogg"),
        (b"\x1a\x45\xdf\xa3\x9f", "audio/webm;codecs=opus", "webm"),
        (b"\x1a\x45\xdf\xa3\x9f", "video/webm", None),
        (b"ID3\x04\x00", "audio/mpeg", "mp3"),
        (b"\xff\xfb\x90\x00", "audio/mpeg", "mp3"),
        (b"\xff\xf1\x50\x80", "audio/aac", "aac"),
        (b"#!AMR\n", "audio/amr", "amr"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav", "wav"),
        (b"\x89PNG\r\n\x1a\n", "audio/mpeg", None),
        (b"<svg ", "image/svg+xml", None),
        (b"MZ\x90\x00", "image/png", None),
    ],
)
def test_uploads_are_recognised_by_their_first_bytes(head: bytes, declared: str, expected: str | None) -> None:
    assert sniff(head, declared) == expected


async def test_internal_error_gets_an_apology_and_never_a_stack_trace(
    tmp_path: Path, pg_database: tuple[str, str]
) -> None:
    """Cut the database away from a running process: every answer stays polite, the log keeps the detail, and the
    message sent during the outage is handled once the database is back. (PostgreSQL behind a relay the test can
    cut; an embedded SQLite file cannot be unplugged from a process that holds it open.)"""
    _, direct = pg_database
    proxy = await TcpProxy.before(direct).start()
    bot = BotProcess(tmp_path, {"DATABASE_URL": proxy.through(direct)})
    try:
        await bot.astart()
        async with WebChatClient(bot.url) as citizen:
            await citizen.open_page()
            await citizen.say("/start", key="before")
            await proxy.stop()
            failed = await citizen.say("/menu", key="during")
            polled = await citizen.history(after=0)
            async with citizen.http.get(f"{bot.url}/healthz") as health:
                health_status, health_body = health.status, await health.text()
            await proxy.start()
            recovered = await _health_within(citizen.http, bot.url, 15)
            retried = await citizen.say("/menu", key="during")  # the same message again: nothing was lost
    finally:
        bot.kill()
        await proxy.stop()
    assert failed.status == 503 and failed.body == {"error": zh("error.internal")}
    assert polled.status == 503 and polled.body == {"error": zh("error.internal")}
    assert health_status == 503 and json.loads(health_body)["database"] == "unreachable"
    for text in (json.dumps(failed.body, ensure_ascii=False), json.dumps(polled.body, ensure_ascii=False)):
        no_internals(text)
    no_internals(health_body)
    assert recovered == 200
    assert retried.status == 200 and zh("menu.title") in retried.text
    assert "Traceback" in bot.log_text()  # the detail is for the operator, in the log


async def _health_within(http: aiohttp.ClientSession, url: str, seconds: float) -> int:
    """/healthz once the pool has reconnected (its broken connections are replaced on first use)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with http.get(f"{url}/healthz") as health:
            if health.status == 200 or asyncio.get_running_loop().time() > deadline:
                return health.status
        await asyncio.sleep(0.2)
