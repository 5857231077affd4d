"""A web chat message held back (a broadcast waiting out the citizen's quiet hours, an officer's alert waiting out
theirs) shows on the page when it is due, not before, and exactly once — though the replies written after it, with
larger ids, were shown long before. The real web chat routes in-process, with a fake clock; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.webchat import WebChat
from bot.channels.webchat.live import chat_id_for
from bot.channels.webchat.server import COOKIE
from bot.config import Settings
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.turn import Rules
from handlers.desk import Desk
from storage.models import OutboxMessage
from storage.uow import Database
from tests.conftest import FakeClock


@pytest.fixture
async def client(
    db: Database, translator: Translator, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(shishi_data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    app = web.Application()
    WebChat(Desk(db, translator, Rules(), clock), db, translator, settings).install(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def queue(db: Database, chat_id: str, text: str, not_before: Any, *, kind: str = "reply") -> int:
    async with db() as uow:
        row = await uow.outbox.enqueue(
            OutboxMessage(channel="webchat", recipient=chat_id, payload=Reply(text=text).to_payload(),
                          priority=50 if kind == "broadcast" else 0, essential=False, kind=kind, status="pending",
                          attempts=0, not_before=not_before, created_at=not_before)
        )  # fmt: skip
        await uow.commit()
        return row.id


async def look(client: TestClient[Any, Any], cursor: str | int) -> tuple[list[str], str]:
    async with client.get(f"/api/messages?after={cursor}") as response:
        assert response.status == 200
        body = await response.json()
    return [m["text"] for m in body["messages"]], body["cursor"]


async def test_a_held_message_shows_when_it_is_due_and_once(
    client: TestClient[Any, Any], db: Database, clock: FakeClock
) -> None:
    async with client.get("/") as page:
        token = page.cookies[COOKIE].value
    chat_id = chat_id_for(token)
    start = clock()
    await queue(db, chat_id, "welcome", start)
    held = await queue(db, chat_id, "普法：防范电信诈骗", start + timedelta(hours=2), kind="broadcast")
    later = await queue(db, chat_id, "a reply written after it", start + timedelta(minutes=1))
    assert held < later  # the held one has the smaller id

    shown, cursor = await look(client, 0)  # the page loads: what is due, not the held broadcast
    assert shown == ["welcome"]
    clock.advance(minutes=5)
    shown, cursor = await look(client, cursor)
    assert shown == ["a reply written after it"]
    reloaded, _ = await look(client, 0)
    assert reloaded == ["welcome", "a reply written after it"]  # a reload does not show it early either

    clock.advance(minutes=30)
    shown, cursor = await look(client, cursor)
    assert shown == []  # still quiet hours
    clock.advance(hours=2)
    shown, cursor = await look(client, cursor)
    assert shown == ["普法：防范电信诈骗"]  # due now, and shown though the cursor is past its id
    shown, cursor = await look(client, cursor)
    assert shown == []  # once
    newest = await queue(db, chat_id, "the next reply", clock())
    shown, cursor = await look(client, cursor)
    assert shown == ["the next reply"] and str(newest) == cursor.split(".")[0]


async def test_a_page_that_sends_a_plain_id_cursor_still_gets_only_due_messages(
    client: TestClient[Any, Any], db: Database, clock: FakeClock
) -> None:
    async with client.get("/") as page:
        chat_id = chat_id_for(page.cookies[COOKIE].value)
    await queue(db, chat_id, "held alert", clock() + timedelta(hours=9), kind="alert")
    await queue(db, chat_id, "due", clock())
    shown, _ = await look(client, 0)
    assert shown == ["due"]
    shown, _ = await look(client, 1)  # an older page's integer cursor
    assert shown == ["due"]
