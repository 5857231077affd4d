"""The deployment's shape, for real: Debian's nginx with deploy/nginx/shishi.conf in front of two desk processes and
one PostgreSQL. A citizen's page (headless Chromium, through nginx) and an officer on the other process: the officer's
message is on the page within a second. The citizen's process is killed: the page reconnects through nginx to the
other one and the same conversation goes on, nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.support import nginx
from tests.support.desks import Officer, desk, file_dispute, newest_ticket, prepare
from tests.support.processes import BotProcess
from tests.support.webchat_client import WebChatClient

pytestmark = [pytest.mark.slow, pytest.mark.browser]

WITHIN = 1.0


class Handshakes:
    """Which process answered each of the page's WebSocket handshakes (nginx names it in X-Shishi-Upstream)."""

    def __init__(self) -> None:
        self.upstreams: list[str] = []

    def seen(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event.get("response", {}).get("headers", {}).items()}
        if event.get("response", {}).get("status") == 101:  # the last one nginx tried is the one that answered
            self.upstreams.append(headers.get("x-shishi-upstream", "?").split(",")[-1].strip())

    async def next(self, count: int, within: float = 30.0) -> str:
        deadline = time.monotonic() + within
        while len(self.upstreams) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no WebSocket #{count} within {within}s")
            await asyncio.sleep(0.05)
        return self.upstreams[count - 1]


async def bubble(page: Any, text: str, within: float = 10.0) -> float:
    """When a bot message holding `text` showed on the page (time.monotonic())."""
    await page.wait_for_selector(f"li.msg.bot .bubble:has-text('{text}')", timeout=within * 1000)
    return time.monotonic()


async def test_behind_nginx_a_message_crosses_processes_within_a_second_and_the_page_survives_a_kill(
    browser: Any, tmp_path: Path, pg_database: tuple[str, str]
) -> None:
    need(nginx.installed(), f"Debian's nginx is not installed at {nginx.NGINX}")
    _, url = pg_database
    db = await prepare(url)
    trusted = {"WEBCHAT_TRUSTED_PROXIES": "127.0.0.1"}
    a, b = desk(tmp_path, url, "a", **trusted), desk(tmp_path, url, "b", **trusted)
    await a.astart()
    await b.astart()
    proxy = nginx.Nginx(tmp_path / "nginx", [a.port, b.port]).start()
    by_port: dict[str, BotProcess] = {f"127.0.0.1:{a.port}": a, f"127.0.0.1:{b.port}": b}
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        # Both processes answer behind nginx.
        assert {proxy.upstream_of() for _ in range(4)} == set(by_port)

        # The citizen files a dispute through nginx; their browser carries on in the same session.
        async with WebChatClient(proxy.url) as citizen, WebChatClient(a.url) as on_a, WebChatClient(b.url) as on_b:
            await file_dispute(citizen)
            ticket = await newest_ticket(db)
            cookie = citizen.session_cookie
            assert cookie is not None
            await context.add_cookies([{"name": "shishi_sid", "value": cookie, "url": proxy.url}])
            page = await context.new_page()
            handshakes = Handshakes()
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.enable")
            cdp.on("Network.webSocketHandshakeResponseReceived", handshakes.seen)
            await page.goto(f"{proxy.url}/")
            await page.wait_for_selector(f"li.msg.bot .bubble:has-text('{ticket.number}')")
            held_by = by_port[await handshakes.next(1)]
            other = b if held_by is a else a

            # The officer works on the process the page is not on.
            officer = Officer(on_b if other is b else on_a)
            await officer.join(db, ticket.unit_id)
            assert (await officer.claim(ticket.id)).status == 200
            first = "请本周三上午九点带上土地承包合同到司法所"
            sent = await officer.write(ticket.id, first)
            assert await bubble(page, first) - sent < WITHIN

            # The page's process dies: the page reconnects through nginx to the other one.
            held_by.kill()
            again = by_port[await handshakes.next(2)]
            assert again is other
            second = "收到您的回复后我们会电话联系"
            sent = await officer.write(ticket.id, second)
            assert await bubble(page, second) - sent < WITHIN

            # The citizen answers from the page; the officer reads it on their process.
            await page.fill("#text", "好的，周三上午我过去")
            await page.press("#text", "Enter")
            deadline = time.monotonic() + 10
            while "好的，周三上午我过去" not in (await officer.client.history(after=0)).text:
                assert time.monotonic() < deadline, "the officer never got the citizen's answer"
                await asyncio.sleep(0.2)
            shown = await page.locator("li.msg.bot .bubble").all_inner_texts()
    finally:
        await context.close()
        proxy.stop()
        a.kill()
        b.kill()
    assert sum(first in text for text in shown) == 1 and sum(second in text for text in shown) == 1
    assert "Traceback" not in a.log_text() + b.log_text()


async def test_behind_nginx_the_address_is_the_one_nginx_saw_whatever_the_client_claims(
    tmp_path: Path, pg_database: tuple[str, str]
) -> None:
    """The per-address limit counts the client nginx saw; an X-Forwarded-For the client wrote itself changes
    nothing (nginx replaces it, and only nginx is trusted)."""
    need(nginx.installed(), f"Debian's nginx is not installed at {nginx.NGINX}")
    _, url = pg_database
    await prepare(url)
    limits = {"WEBCHAT_TRUSTED_PROXIES": "127.0.0.1", "WEBCHAT_ADDRESS_BURST": "3", "WEBCHAT_ADDRESS_RATE": "0.01"}
    a = desk(tmp_path, url, "a", **limits)
    await a.astart()
    proxy = nginx.Nginx(tmp_path / "nginx", [a.port]).start()
    try:
        statuses = []
        for n in range(5):  # a new session each time, and a new made-up address each time
            async with WebChatClient(proxy.url, local_addr="127.0.0.2") as client:
                client.http.headers["X-Forwarded-For"] = f"203.0.113.{n + 1}"
                statuses.append((await client.say("/start")).status)
        async with WebChatClient(proxy.url, local_addr="127.0.0.3") as neighbour:
            other = (await neighbour.say("/start")).status
    finally:
        proxy.stop()
        a.kill()
    assert statuses == [200, 200, 200, 429, 429], statuses
    assert other == 200  # another client address nginx saw has its own allowance
