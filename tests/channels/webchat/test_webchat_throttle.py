"""A flood from one client is throttled politely and never slows anyone else (real process, real sockets).

Clients bind 127.0.0.2 and 127.0.0.3 as their source address: on Linux all of 127/8 is loopback, so the server
sees three different client addresses, as it would on the internet.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator

import aiohttp
import pytest

from bot.i18n import load_translator
from tests.support.processes import BotProcess
from tests.support.webchat_client import Answer, WebChatClient

pytestmark = pytest.mark.slow

T = load_translator()
RATE_LIMITED = {"error": T("zh_CN", "error.rate_limited")}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The shipped limits: 1 message/s per session (burst 20), 5/s per address (burst 40)."""
    process = BotProcess(tmp_path_factory.mktemp("throttle"))
    process.start()
    yield process
    process.kill()


async def test_two_hundred_messages_in_ten_seconds_are_throttled_and_a_neighbour_is_served_at_normal_speed(
    bot: BotProcess,
) -> None:
    flood: list[Answer] = []
    calm: list[Answer] = []
    flooding = asyncio.Event()
    flood_seconds: list[float] = []

    async def flooder() -> None:
        async with WebChatClient(bot.url, local_addr="127.0.0.2") as client:
            await client.open_page()
            flooding.set()
            started = time.perf_counter()
            for i in range(200):  # one every 50 ms: 200 in 10 s
                await asyncio.sleep(max(0.0, started + i * 0.05 - time.perf_counter()))
                flood.append(await client.say(f"刷屏 {i}"))
            flood_seconds.append(time.perf_counter() - started)

    async def neighbour(answers: list[Answer], until: asyncio.Task[None] | None) -> None:
        async with WebChatClient(bot.url) as client:
            await client.open_page()
            answers.append(await client.agree())
            while True:
                for step in ("menu:dispute", "land", "chenggu"):
                    await asyncio.sleep(1.0)  # a person reads, then taps: the session's sustained rate
                    answers.append(await client.press(step))
                answers.append(await client.say("/cancel"))
                if until is None or until.done():
                    return

    alone: list[Answer] = []
    await neighbour(alone, None)
    flood_task = asyncio.create_task(flooder())
    await flooding.wait()
    await neighbour(calm, flood_task)
    await flood_task

    baseline = [a.seconds for a in alone]
    latencies = [a.seconds for a in calm]
    accepted = [a for a in flood if a.status == 200]
    throttled = [a for a in flood if a.status == 429]
    print(
        f"\nflood: {len(accepted)} answered, {len(throttled)} throttled of {len(flood)}; "
        f"neighbour alone: median {statistics.median(baseline) * 1000:.0f} ms, max {max(baseline) * 1000:.0f} ms; "
        f"during the flood: {len(calm)} requests, median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    assert len(flood) == 200 and len(accepted) + len(throttled) == 200
    assert 20 <= len(accepted) <= 20 + flood_seconds[0] + 2  # the burst of 20, then one a second
    assert all(a.body == RATE_LIMITED and a.headers.get("Retry-After") for a in throttled)
    assert {a.status for a in calm} == {200} and len(calm) >= 8
    # "Normal speed" is the neighbour's own speed without the flood, measured just before on this machine.
    assert statistics.median(latencies) <= max(0.25, 2.5 * statistics.median(baseline))
    assert max(latencies) <= max(1.5, 4 * max(baseline))


async def test_a_flood_that_changes_cookies_is_stopped_by_its_address(bot: BotProcess) -> None:
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.3", 0), limit=100)

    async def fresh_session_message(http: aiohttp.ClientSession, i: int) -> tuple[int, dict[str, str]]:
        async with http.post(f"{bot.url}/api/messages", json={"key": f"r{i}", "text": "/start"}) as response:
            return response.status, await response.json()

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        # No cookie kept: every request is a brand-new session, all hundred at once.
        answers = await asyncio.gather(*(fresh_session_message(http, i) for i in range(100)))
    elapsed = time.perf_counter() - started
    statuses = [status for status, _ in answers]
    assert 40 <= statuses.count(200) <= 40 + 5 * elapsed + 1  # the address's burst, then 5 a second at most
    assert statuses.count(429) >= 30, f"{statuses.count(429)} refused in {elapsed:.1f} s"
    assert all(body == RATE_LIMITED for status, body in answers if status == 429)


async def test_a_websocket_flood_gets_the_polite_message_too(bot: BotProcess) -> None:
    async with WebChatClient(bot.url, local_addr="127.0.0.4") as client:
        await client.open_page()
        ws = await client.http.ws_connect(bot.url.replace("http", "ws") + "/ws", headers={"Origin": bot.url})
        try:
            for i in range(30):
                await ws.send_json({"key": f"w{i}", "text": "/menu"})
            kinds: list[str] = []
            texts: set[str] = set()
            while len([k for k in kinds if k in ("ack", "error")]) < 30:
                message = await asyncio.wait_for(ws.receive_json(), timeout=10)
                kinds.append(message["type"])
                if message["type"] == "error":
                    texts.add(message["text"])
        finally:
            await ws.close()
    assert 18 <= kinds.count("ack") <= 22 and kinds.count("error") >= 8
    assert texts == {RATE_LIMITED["error"]}


async def test_behind_a_trusted_proxy_the_limit_is_per_client_and_a_spoofed_header_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """127.0.0.5 plays the site's reverse proxy; 127.0.0.6 is a client that forges X-Forwarded-For itself."""
    env = {"WEBCHAT_TRUSTED_PROXIES": "127.0.0.5", "WEBCHAT_ADDRESS_BURST": "5", "WEBCHAT_ADDRESS_RATE": "0.01"}
    bot = BotProcess(tmp_path_factory.mktemp("proxied"), env)
    await bot.astart()

    async def statuses(local: str, forwarded_for: list[str]) -> list[int]:
        connector = aiohttp.TCPConnector(local_addr=(local, 0))
        found = []
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
            for i, client in enumerate(forwarded_for):
                headers = {"X-Forwarded-For": f"10.9.9.9, {client}"}  # the proxy appends the address it saw
                body = {"key": f"{local}-{i}", "text": "/start"}
                async with http.post(f"{bot.url}/api/messages", json=body, headers=headers) as response:
                    found.append(response.status)
        return found

    try:
        first = await statuses("127.0.0.5", ["203.0.113.7"] * 7)
        second = await statuses("127.0.0.5", ["203.0.113.8"] * 3)
        forged = await statuses("127.0.0.6", [f"198.51.100.{i}" for i in range(7)])
    finally:
        bot.kill()
    assert first == [200] * 5 + [429] * 2  # one citizen behind the proxy used up their own burst
    assert second == [200] * 3  # the next citizen behind the same proxy is not punished for it
    assert forged == [200] * 5 + [429] * 2  # an untrusted peer's header is ignored: it is still one address
