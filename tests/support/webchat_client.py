"""A web chat citizen as chat.js is one: a cookie session, POST /api/messages with a fresh key, a cursor."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成"
PREFER = ("land", "chenggu")  # the category and county the tests pick when the interview offers them


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def last(self) -> dict[str, Any]:
        return self.messages[-1]

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages)


def button_data(message: dict[str, Any]) -> list[str]:
    return [b["data"] for row in message.get("buttons", []) for b in row]


class WebChatClient:
    """One browser tab's worth of session. `local_addr="127.0.0.2"` makes it another client address."""

    def __init__(self, base_url: str, *, local_addr: str | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url
        connector = aiohttp.TCPConnector(local_addr=(local_addr, 0) if local_addr else None, force_close=False)
        self.http = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: accept cookies from an IP address host
            timeout=aiohttp.ClientTimeout(total=timeout),
            headers={"Accept-Language": "zh-CN,zh;q=0.9"},
        )
        self.cursor: int | str = 0
        self.seen: set[int] = set()
        self.transcript: list[dict[str, Any]] = []

    async def __aenter__(self) -> WebChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.close()

    @property
    def session_cookie(self) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == "shishi_sid":
                return cookie.value
        return None

    async def open_page(self) -> aiohttp.ClientResponse:
        async with self.http.get(f"{self.base_url}/") as response:
            await response.read()
            return response

    def _take(self, body: dict[str, Any]) -> None:
        for message in body.get("messages", []):
            if message["id"] not in self.seen:
                self.seen.add(message["id"])
                self.transcript.append(message)
        if isinstance(body.get("cursor"), str | int):
            self.cursor = body["cursor"]  # opaque: the server's, handed back as it came

    async def post(self, body: dict[str, Any], *, key: str | None = None) -> Answer:
        payload = {"key": key or uuid.uuid4().hex, "after": self.cursor, **body}
        started = time.perf_counter()
        async with self.http.post(f"{self.base_url}/api/messages", json=payload) as response:
            raw = await response.read()
            seconds = time.perf_counter() - started
            data = _json(raw)
            answer = Answer(response.status, data, seconds, dict(response.headers))
        if answer.status == 200:
            self._take(data)
        return answer

    async def say(self, text: str, **kw: Any) -> Answer:
        return await self.post({"text": text}, **kw)

    async def press(self, data: str, **kw: Any) -> Answer:
        return await self.post({"choice": data}, **kw)

    async def history(self, after: int | str = 0, wait: float = 0) -> Answer:
        started = time.perf_counter()
        url = f"{self.base_url}/api/messages?after={after}&wait={wait}"
        async with self.http.get(url) as response:
            raw = await response.read()
            return Answer(response.status, _json(raw), time.perf_counter() - started, dict(response.headers))

    # ---- the dispute interview, step by step

    async def agree(self) -> Answer:
        await self.say("/start")
        return await self.press("consent:agree")

    async def fill(
        self,
        current: Answer,
        *,
        phone: str = "13800138000",
        description: str = DESCRIPTION,
        prefer: tuple[str, ...] = PREFER,
        stop: Callable[[dict[str, Any]], bool] = lambda message: False,
        max_steps: int = 25,
    ) -> Answer:
        """Answer whatever the interview asks until its summary shows (or `stop` holds), so the steps can grow.

        Choices: the preferred value if offered, else the first; the phone step gets `phone`; an optional step
        with nothing to choose is skipped; any other step gets `description` typed.
        """
        for _ in range(max_steps):
            assert current.status == 200, current.body
            message = current.last
            offered = button_data(message)
            if "nav:submit" in offered or stop(message):
                return current
            choices = [d for d in offered if ":" not in d and d != "done"]
            if message.get("request") == "contact":
                current = await self.say(phone)
            elif choices:
                current = await self.press(next((p for p in prefer if p in choices), choices[0]))
            elif "nav:skip" in offered:
                current = await self.press("nav:skip")
            else:
                current = await self.say(description)
        raise AssertionError(f"no summary after {max_steps} answers; last question: {current.last['text']!r}")

    async def dispute(self, **kw: Any) -> Answer:
        """Consent, the dispute interview from the menu, and every step answered: the summary is showing."""
        await self.agree()
        return await self.fill(await self.press("menu:dispute"), **kw)


def _json(raw: bytes) -> dict[str, Any]:
    import json

    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"raw": raw.decode("utf-8", errors="replace")}
    return data if isinstance(data, dict) else {"raw": data}
