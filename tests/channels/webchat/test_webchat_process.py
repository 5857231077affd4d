"""The real process over the web chat's real HTTP API: kill -9 and resume, 50 citizens at once, no plaintext phone."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from bot.i18n import load_translator
from tests.support.processes import BotProcess
from tests.support.webchat_client import DESCRIPTION, Answer, WebChatClient

pytestmark = pytest.mark.slow

T = load_translator()


def zh(msgid: str, **params: object) -> str:
    return T("zh_CN", msgid, **params)


def tickets_in(db_file: Path) -> list[tuple[str, str, str | None]]:
    """Read the SQLite file itself, as an auditor would (the process may be dead)."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT number, kind, phone_masked FROM tickets ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


async def start(bot: BotProcess) -> BotProcess:
    return await bot.astart()


def conversation_step(db_file: Path) -> list[tuple[str | None, str | None]]:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as connection:
        return [tuple(r) for r in connection.execute("SELECT interview, step FROM conversations").fetchall()]


def asks_description(message: dict[str, object]) -> bool:
    return zh("dispute.description") in str(message["text"])


def asks_phone(message: dict[str, object]) -> bool:
    return message.get("request") == "contact"


async def test_kill_9_half_way_then_restart_resumes_at_the_same_step_and_gives_one_ticket(tmp_path: Path) -> None:
    bot = await start(BotProcess(tmp_path))
    try:
        async with WebChatClient(bot.url) as citizen:
            await citizen.open_page()
            cookie = citizen.session_cookie
            await citizen.agree()
            asked = await citizen.fill(await citizen.press("menu:dispute"), stop=asks_description)
            assert asks_description(asked.last)

            bot.kill()
            assert conversation_step(bot.db_path) == [("dispute", "description")]
            await start(bot)

            assert citizen.session_cookie == cookie
            history = await citizen.history(after=0)
            assert history.status == 200 and asks_description(history.messages[-1])
            resumed = await citizen.say(DESCRIPTION)
            assert resumed.status == 200 and not asks_description(resumed.last), "the next step, not this one again"
            assert zh("menu.title") not in resumed.text and zh("dispute.category") not in resumed.text
            summary = await citizen.fill(resumed)
            # What was answered before the kill is still there.
            assert zh("dispute.cat.land") in summary.last["text"] and zh("county.chenggu") in summary.last["text"]
            assert DESCRIPTION in summary.last["text"]

            # The submit is committed, the process dies before the client hears back, the client retries it.
            receipt = await citizen.press("nav:submit", key="submit-1")
            bot.kill()
            await start(bot)
            again = await citizen.press("nav:submit", key="submit-1")
            later = await citizen.press("nav:submit", key="submit-2")
    finally:
        bot.kill()
    tickets = tickets_in(bot.db_path)
    assert len(tickets) == 1
    number, kind, masked = tickets[0]
    assert re.fullmatch(r"HZ-\d{8}-0001", number) and kind == "dispute" and masked == "138****8000"
    assert number in receipt.last["text"]
    assert again.status == 200 and again.messages == []  # a repeat changes nothing and says nothing new
    assert later.status == 200 and number not in later.text  # a stale submit button opens nothing
    assert bot.starts == 3


async def test_kill_9_while_a_message_is_in_flight_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    bot = await start(BotProcess(tmp_path))
    try:
        async with WebChatClient(bot.url) as citizen:
            await citizen.dispute()
            sent = asyncio.create_task(citizen.press("nav:submit", key="the-submit"))
            await asyncio.sleep(0.02)
            bot.kill()
            # Killed before, during or after the commit: the client cannot tell, so it sends the same key again.
            with contextlib.suppress(aiohttp.ClientError):
                await sent
            await start(bot)
            retried = await citizen.press("nav:submit", key="the-submit")
            history = await citizen.history(after=0)
    finally:
        bot.kill()
    tickets = tickets_in(bot.db_path)
    assert len(tickets) == 1, tickets
    assert retried.status == 200
    assert sum(tickets[0][0] in m["text"] for m in history.messages) == 1  # one receipt in the chat


async def test_fifty_citizens_finish_at_once_on_sqlite(tmp_path: Path) -> None:
    env = {"WEBCHAT_ADDRESS_RATE": "10000", "WEBCHAT_ADDRESS_BURST": "10000"}
    bot = await start(BotProcess(tmp_path, env))
    answers: list[Answer] = []
    barrier = asyncio.Barrier(50)

    async def citizen(n: int) -> Answer:
        async with WebChatClient(bot.url, timeout=120) as client:
            await client.open_page()
            summary = await client.dispute(description=f"{DESCRIPTION}，第{n}号", phone=f"1380013{n:04d}")
            await barrier.wait()  # everyone submits in the same instant
            receipt = await client.press("nav:submit")
            answers.extend([summary, receipt])
            return receipt

    started = time.perf_counter()
    try:
        receipts = await asyncio.gather(*(citizen(n) for n in range(50)))
    finally:
        bot.kill()
    elapsed = time.perf_counter() - started
    slowest = max(r.seconds for r in receipts)
    print(f"\n50 citizens on SQLite: {elapsed:.1f} s in all, slowest submit {slowest:.2f} s")
    assert {a.status for a in answers} == {200}
    assert not [a for a in answers if "locked" in a.text.lower() or zh("error.internal") in a.text]
    tickets = tickets_in(bot.db_path)
    numbers = [number for number, _, _ in tickets]
    assert len(tickets) == 50 and len(set(numbers)) == 50
    assert sorted(int(n[-4:]) for n in numbers) == list(range(1, 51))
    assert all(sum(number in r.last["text"] for number in numbers) == 1 for r in receipts)
    assert "locked" not in bot.log_text().lower()


MARKER = "13912345678"


def marker_pattern() -> re.Pattern[bytes]:
    """The marker with up to three separators between any two digits: 139 1234 5678, 139-1234-5678, +86…"""
    return re.compile(rb"[^0-9]{0,3}".join(re.escape(d.encode()) for d in MARKER))


async def test_marker_phone_never_lands_in_plaintext_in_the_database_its_wal_or_the_log(tmp_path: Path) -> None:
    bot = await start(BotProcess(tmp_path, {"LOG_LEVEL": "DEBUG"}))
    try:
        async with WebChatClient(bot.url) as citizen:
            await citizen.open_page()
            await citizen.agree()
            asked = await citizen.fill(await citizen.press("menu:dispute"), stop=asks_phone)
            assert asks_phone(asked.last)
            wrong = await citizen.say("139 1234 567")  # one digit short: refused, and not echoed back
            assert zh("input.phone_invalid") in wrong.last["text"]
            summary = await citizen.fill(await citizen.say("139 1234 5678"))
            assert "139****5678" in summary.last["text"]
            await citizen.press("nav:edit")
            await citizen.press("edit:phone")
            summary = await citizen.fill(await citizen.post({"contact": "+86 139-1234-5678"}))
            assert "139****5678" in summary.last["text"]
            receipt = await citizen.press("nav:submit")
            assert "HZ-" in receipt.last["text"]
            history = await citizen.history(after=0)
        # Take the files as a crash leaves them: the WAL is not checkpointed away by a clean shutdown.
        bot.kill()
    finally:
        bot.kill()
    assert [masked for _, _, masked in tickets_in(bot.db_path)] == ["139****5678"]
    assert not marker_pattern().search(history.text.encode())
    files = [*sorted(bot.data_dir.glob("shishi.db*")), bot.log_path, bot.stdout_path]
    assert bot.db_path in files and "DEBUG" in bot.log_text()  # the log was as talkative as it gets
    pattern = marker_pattern()
    hits = {f.name: len(pattern.findall(f.read_bytes())) for f in files if f.exists()}
    assert hits and not any(hits.values()), hits
    assert pattern.search(b"tel: 139 1234 5678") and pattern.search(b"+86-139-1234-5678")  # the net catches
