"""The delivery ladder through a real `python -m bot run` process (issue #14), with local fakes of a Web Push service
and of Tencent Cloud SMS: a web chat citizen closes the page and the officer acts → one push (no SMS); the subscription
is gone (410) → one SMS to the confirmed phone; nothing confirmed → the officer's call task; kill -9 while the SMS
request is on its way → after the restart, no second SMS and nothing sent another way."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.crypto import FieldCipher
from storage.models import OutboxMessage, Ticket, Unit
from storage.uow import Database
from tests.conftest import TEST_SECRET
from tests.support import fake_reach
from tests.support.fake_reach import FakePushService, FakeTencentSms, sms_settings
from tests.support.processes import BotProcess
from tests.support.webchat_client import WebChatClient

pytestmark = pytest.mark.slow
PHONE = "13800138000"


@pytest.fixture
async def push() -> AsyncIterator[FakePushService]:
    fake = FakePushService()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def sms() -> AsyncIterator[FakeTencentSms]:
    fake = FakeTencentSms()
    await fake.start()
    yield fake
    await fake.stop()


class World:
    def __init__(self, bot: BotProcess, push: FakePushService, sms: FakeTencentSms) -> None:
        self.bot, self.push, self.sms = bot, push, sms
        self.db = Database(f"sqlite+aiosqlite:///{bot.db_path}", FieldCipher.from_secret(TEST_SECRET))
        self.clients: list[WebChatClient] = []

    def client(self) -> WebChatClient:
        client = WebChatClient(self.bot.url)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.db.dispose()

    def invite(self, unit: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bot", "invite", "--unit", unit, "--role", "officer"],
                              env=self.bot.environment(), cwd=self.bot.workdir, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    async def citizen_with_ticket(self) -> tuple[WebChatClient, Ticket]:
        """A web chat citizen who reported a dispute and closed the page (no socket, no poll)."""
        citizen = self.client()
        await citizen.open_page()
        await citizen.dispute(phone=PHONE)
        receipt = await citizen.press("nav:submit")
        number = re.search(r"HZ-\d{8}-\d{4}", receipt.text)
        assert number is not None, receipt.text
        async with self.db.reading() as uow:
            ticket = await uow.tickets.by_number(number.group(0))
            assert ticket is not None
            return citizen, ticket

    async def officer_of(self, ticket: Ticket) -> WebChatClient:
        async with self.db.reading() as uow:
            unit = await uow.session.get(Unit, ticket.unit_id)
            assert unit is not None
        officer = self.client()
        await officer.open_page()
        joined = await officer.say(f"/join {self.invite(unit.code)} 张三")
        assert joined.status == 200
        return officer

    async def confirm_phone(self, citizen: WebChatClient) -> None:
        await citizen.say("/sms")
        await citizen.say(PHONE)
        await self.sms.wait_until(lambda: len(self.sms.to(PHONE)) >= 1)
        confirmed = await citizen.say(self.sms.to(PHONE)[-1].params[0])
        assert "138****8000" in confirmed.text

    async def row(self, ticket: Ticket, notice: str) -> OutboxMessage:
        async with self.db.reading() as uow:
            stmt = select(OutboxMessage).where(OutboxMessage.notice == notice, OutboxMessage.person_id.is_not(None))
            rows = [r for r in (await uow.session.execute(stmt)).scalars() if ticket.number in str(r.payload)]
            assert len(rows) == 1, rows
            return rows[0]

    async def settled(self, ticket: Ticket, notice: str, statuses: set[str], within: float = 20.0) -> OutboxMessage:
        for _ in range(int(within * 10)):
            found = await self.row(ticket, notice)
            if found.status in statuses:
                return found
            await asyncio.sleep(0.1)
        return await self.row(ticket, notice)


@pytest.fixture
async def world(tmp_path: Path, push: FakePushService, sms: FakeTencentSms) -> AsyncIterator[World]:
    env = {"SHISHI_SECRET_KEY": TEST_SECRET, "SENDER_INTERVAL": "0.1", "FOLLOWUP_INTERVAL": "0.5", **sms_settings(sms)}
    bot = await BotProcess(tmp_path / "bot", env, name="reach-bot").astart()
    found = World(bot, push, sms)
    try:
        yield found
    finally:
        await found.close()
        bot.kill()


async def test_a_closed_page_gets_one_push_per_event_and_no_sms(world: World) -> None:
    citizen, ticket = await world.citizen_with_ticket()
    await world.confirm_phone(citizen)
    browser = world.push.subscribe()
    async with citizen.http.post(f"{world.bot.url}/api/push", json=browser.to_json()) as answer:
        assert answer.status == 201
    officer = await world.officer_of(ticket)
    await officer.press(f"t:claim:{ticket.id}")
    await world.push.wait_until(lambda: len(world.push.pushes) >= 1)
    await officer.press(f"t:msg:{ticket.id}")
    await officer.say("请明天上午九点到司法所调解室")
    await world.push.wait_until(lambda: len(world.push.pushes) >= 2)
    await asyncio.sleep(1.5)
    assert [p.message["body"] for p in world.push.pushes_to(browser)] == [f"您的工单 {ticket.number} 有新进展"] * 2
    assert all(p.message["url"] == f"/?ticket={ticket.number}" for p in world.push.pushes)
    assert [m.template for m in world.sms.messages] == [fake_reach.TEMPLATE_CODE]  # the confirmation code only
    accepted = await world.row(ticket, "accepted")
    assert [a["rung"] for a in accepted.ladder or []] == ["chat", "push"] and accepted.status == "sent"
    # The page, opened from the push, shows the message that was pushed.
    history = await citizen.history()
    assert any("已受理" in m["text"] or ticket.number in m["text"] for m in history.messages)


async def test_a_gone_subscription_falls_to_one_sms(world: World) -> None:
    citizen, ticket = await world.citizen_with_ticket()
    await world.confirm_phone(citizen)
    browser = world.push.subscribe()
    async with citizen.http.post(f"{world.bot.url}/api/push", json=browser.to_json()) as answer:
        assert answer.status == 201
    world.push.gone.add(browser.id)
    officer = await world.officer_of(ticket)
    await officer.press(f"t:claim:{ticket.id}")
    await world.sms.wait_until(lambda: len(world.sms.messages) >= 2)
    await asyncio.sleep(1.5)
    notices = [m for m in world.sms.to(PHONE) if m.template == fake_reach.TEMPLATE_NOTICE]
    assert [m.params for m in notices] == [[ticket.number, "已受理"]] and notices[0].sign == fake_reach.SMS_SIGN
    assert world.push.pushes == [] and [status for _, status, _ in world.push.refused] == [410]
    accepted = await world.row(ticket, "accepted")
    assert [(a["rung"], a["outcome"]) for a in accepted.ladder or []] == [
        ("chat", "notnow: page_closed"), ("push", "notnow: push_gone"), ("sms", "sent")
    ]  # fmt: skip


async def test_nothing_confirmed_gives_the_officer_a_call_task(world: World) -> None:
    _, ticket = await world.citizen_with_ticket()
    officer = await world.officer_of(ticket)
    await officer.press(f"t:claim:{ticket.id}")
    told = ""
    for _ in range(100):
        told = (await officer.history(after=0)).text
        if "📞" in told:
            break
        await asyncio.sleep(0.2)
    assert f"工单 {ticket.number}：发给群众的消息现在送不到" in told and "138****8000" in told and PHONE not in told
    assert world.push.pushes == [] and world.sms.messages == []
    assert (await world.row(ticket, "accepted")).status == "waiting"


async def test_kill_9_while_the_sms_is_on_its_way_sends_nothing_twice(world: World) -> None:
    citizen, ticket = await world.citizen_with_ticket()
    await world.confirm_phone(citizen)
    officer = await world.officer_of(ticket)
    world.sms.delay = 3.0
    await officer.press(f"t:claim:{ticket.id}")
    await world.sms.wait_until(lambda: world.sms.requests >= 2)  # the code, and now the notice, in flight
    world.bot.kill()
    await asyncio.sleep(3.5)  # the fake finishes the request the dead process made
    await world.bot.astart()
    row = await world.row(ticket, "accepted")
    assert row.rung == "sms" and row.status == "sending" and row.started_at is not None
    async with world.db() as uow:  # its lease runs out (60 s): the sender gives it up instead of sending it again
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await uow.commit()
    given_up = await world.settled(ticket, "accepted", {"failed"})
    assert given_up.status == "failed" and "uncertain" in (given_up.last_error or "")
    await asyncio.sleep(1.0)
    notices = [m for m in world.sms.messages if m.template == fake_reach.TEMPLATE_NOTICE]
    assert world.sms.requests == 2 and len(notices) == 1
    assert world.push.pushes == []
