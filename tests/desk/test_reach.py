"""Reaching the citizen after they leave the chat (issue #14), through the real desk, the real delivery ladder and the
real push and SMS transports, on SQLite and PostgreSQL, against local fakes of a Web Push service and of Tencent Cloud
SMS (tests/support/fake_reach.py): one push and no SMS for a closed page; SMS once when the subscription is gone; a
call task when nothing reaches; quiet hours and caps; waiting rows following the person; linking chats into one
person, "this isn't me" and /unlink; the ticket card's reachability line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.channels.webchat.live import Hub, WebChatTransport
from bot.reach.sms import SmsTransport, Templates
from bot.reach.tencent import TencentSms
from bot.reach.webpush import PushTransport, load_or_create_vapid
from bot.sender import OutboxSender
from handlers.citizen.link import oauth_join
from handlers.citizen.push import remember_push
from handlers.conversation.messages import Reply
from handlers.delivery import Ladder
from handlers.desk import fire_follow_ups
from handlers.followups.effects import TickReport
from storage.models import AuditEntry, FollowUp, OutboxMessage, Ticket
from tests.conftest import Chat, DeskDriver, FakeClock, buttons
from tests.support import fake_reach
from tests.support.fake_reach import FakePushService, FakeTencentSms
from tests.support.officer_world import PHONE, UNIT_A, join, load_demo, plant_ticket

LADDER = Ladder(rungs=frozenset({"push", "sms"}), sms_per_ticket_day=2, sms_per_person_day=4)


@pytest.fixture
async def push_service() -> AsyncIterator[FakePushService]:
    fake = FakePushService()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def sms_gateway() -> AsyncIterator[FakeTencentSms]:
    fake = FakeTencentSms()
    await fake.start()
    yield fake
    await fake.stop()


class Reach:
    """The outbox sender of a desk with a web chat (no page open), web push and SMS, drained by hand."""

    def __init__(self, driver: DeskDriver, clock: FakeClock, push: FakePushService, sms: FakeTencentSms, tmp: str):
        from pathlib import Path

        db = driver.db
        self.driver, self.clock, self.push, self.sms = driver, clock, push, sms
        vapid = load_or_create_vapid(Path(tmp))
        gateway = TencentSms(
            secret_id=fake_reach.SMS_SECRET_ID,
            secret_key=fake_reach.SMS_SECRET_KEY,
            sdk_app_id=fake_reach.SMS_APP_ID,
            sign_name=fake_reach.SMS_SIGN,
            endpoint=sms.base,
        )
        templates = Templates(notice=fake_reach.TEMPLATE_NOTICE, code=fake_reach.TEMPLATE_CODE)
        self.transports = [
            WebChatTransport(Hub(), db, clock),
            PushTransport(db, vapid, "mailto:desk@example.org", driver.translator, clock=clock),
            SmsTransport(db, gateway, templates, LADDER, clock=clock),
        ]
        self.sender = OutboxSender(db, self.transports, clock=clock, ladder=LADDER)

    async def drain(self) -> None:
        for _ in range(10):
            moved = 0
            for transport in self.transports:
                moved += await self.sender.drain_once(transport)
            if not moved:
                return

    async def close(self) -> None:
        for transport in self.transports[1:]:
            await transport.close()  # type: ignore[attr-defined]

    async def confirm_phone(self, chat: Chat, phone: str = PHONE) -> None:
        """/sms as a citizen does it: the number, the code the SMS brought, confirmed."""
        await self.driver.say(chat, "/sms")
        await self.driver.say(chat, phone)
        await self.drain()
        code = self.sms.to(phone)[-1]
        assert code.template == fake_reach.TEMPLATE_CODE
        done = await self.driver.say(chat, code.params[0])
        assert done[-1].text == self.driver.t("zh_CN", "sms.confirmed", phone="138****8000")


@pytest.fixture
async def reach(
    driver: DeskDriver, clock: FakeClock, push_service: FakePushService, sms_gateway: FakeTencentSms, tmp_path: object
) -> AsyncIterator[Reach]:
    await load_demo(driver)
    world = Reach(driver, clock, push_service, sms_gateway, str(tmp_path))
    yield world
    await world.close()


async def citizen_with_ticket(driver: DeskDriver, chat_id: str, officer: Chat) -> tuple[Chat, Ticket]:
    citizen = driver.chat(chat_id)
    await driver.agree(citizen)
    return citizen, await plant_ticket(driver, citizen, UNIT_A)


async def rows_for(driver: DeskDriver, notice: str | None = None) -> list[OutboxMessage]:
    async with driver.db.reading() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.person_id.is_not(None)).order_by(OutboxMessage.id)
        if notice is not None:
            stmt = stmt.where(OutboxMessage.notice == notice)
        return list((await uow.session.execute(stmt)).scalars())


def tried(row: OutboxMessage) -> list[tuple[str, str]]:
    return [(str(a["rung"]), str(a["outcome"])) for a in row.ladder or []]


async def test_a_closed_page_gets_one_push_and_no_sms(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-push", officer)
    await reach.confirm_phone(citizen)
    browser = reach.push.subscribe()
    assert await remember_push(driver.db, "webchat", citizen.chat_id, browser.to_json(), reach.clock())
    await driver.press(officer, f"t:claim:{ticket.id}")
    await reach.drain()
    pushes = reach.push.pushes_to(browser)
    assert [p.message for p in pushes] == [{
        "title": driver.t("zh_CN", "push.title"), "body": driver.t("zh_CN", "push.body", number=ticket.number),
        "url": f"/?ticket={ticket.number}", "tag": ticket.number,
    }]  # fmt: skip
    assert [m.template for m in reach.sms.messages] == [fake_reach.TEMPLATE_CODE]  # only the confirmation code
    (accepted,) = await rows_for(driver, "accepted")
    assert accepted.status == "sent" and tried(accepted) == [("chat", "notnow: page_closed"), ("push", "sent")]
    await reach.drain()
    assert len(reach.push.pushes) == 1 and len(reach.sms.messages) == 1  # nothing twice


async def test_a_gone_subscription_gives_way_to_one_sms(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-gone", officer)
    await reach.confirm_phone(citizen)
    browser = reach.push.subscribe()
    await remember_push(driver.db, "webchat", citizen.chat_id, browser.to_json(), reach.clock())
    reach.push.gone.add(browser.id)
    await driver.press(officer, f"t:claim:{ticket.id}")
    await reach.drain()
    await reach.drain()
    notices = [m for m in reach.sms.to(PHONE) if m.template == fake_reach.TEMPLATE_NOTICE]
    assert [m.params for m in notices] == [[ticket.number, driver.t("zh_CN", "notice.status.accepted")]]
    assert reach.push.pushes == [] and [r[1] for r in reach.push.refused] == [410]
    async with driver.db.reading() as uow:
        assert await uow.reach.subscriptions(ticket.citizen_id) == []  # the expired subscription is dropped
    (accepted,) = await rows_for(driver, "accepted")
    assert tried(accepted) == [("chat", "notnow: page_closed"), ("push", "notnow: push_gone"), ("sms", "sent")]


async def test_nothing_confirmed_gives_the_officer_a_call_task(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-none", officer)
    await driver.press(officer, f"t:claim:{ticket.id}")
    await reach.drain()
    (accepted,) = await rows_for(driver, "accepted")
    assert accepted.status == "waiting" and accepted.rung == "wait"
    assert reach.push.pushes == [] and reach.sms.messages == []
    async with driver.db.reading() as uow:
        tasks = (await uow.session.execute(select(FollowUp).where(FollowUp.kind == "call_citizen"))).scalars().all()
        assert [(t.ticket_id, t.params) for t in tasks] == [(ticket.id, {"outbox": accepted.id})]
    before = len(await driver.replies(officer))
    await fire_follow_ups(driver.db, driver.translator, driver.desk.rules, reach.clock(), batch=50, report=TickReport())
    told = (await driver.replies(officer))[before:]
    assert len(told) == 1
    assert driver.t("zh_CN", "followup.call_citizen", number=ticket.number) in told[0].text
    assert "138****8000" in told[0].text and PHONE not in told[0].text
    assert driver.t("zh_CN", "reach.why.page_closed") in told[0].text
    assert f"t:phone:{ticket.id}" in buttons(told[0])
    revealed = await driver.press(officer, f"t:phone:{ticket.id}")
    assert PHONE in revealed[-1].text
    async with driver.db.reading() as uow:
        audit = (await uow.session.execute(select(AuditEntry.action))).scalars().all()
        assert "reveal_phone" in audit
    # The citizen writes again: what waited goes to the chat they wrote from, and is delivered there.
    await driver.say(citizen, "/status")
    (released,) = await rows_for(driver, "accepted")
    assert released.status == "pending" and released.rung == "chat" and released.recipient == citizen.chat_id


async def test_quiet_hours_hold_an_sms_until_the_morning_unless_urgent(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-quiet", officer)
    await reach.confirm_phone(citizen)
    reach.clock.now = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # 22:30 in Hanzhong
    await driver.press(officer, f"t:claim:{ticket.id}")
    await reach.drain()
    (accepted,) = await rows_for(driver, "accepted")
    assert accepted.rung == "sms" and accepted.status == "pending"
    assert accepted.not_before == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 08:00 local
    assert [m.template for m in reach.sms.messages] == [fake_reach.TEMPLATE_CODE]
    reach.clock.now = datetime(2026, 11, 28, 0, 1, tzinfo=UTC)
    await reach.drain()
    assert [m.template for m in reach.sms.messages] == [fake_reach.TEMPLATE_CODE, fake_reach.TEMPLATE_NOTICE]
    # An urgent ticket's notice does not wait for the morning.
    urgent = await plant_ticket(driver, citizen, UNIT_A)
    async with driver.db() as uow:
        (await uow.tickets.get_for_update(urgent.id)).urgent = True  # type: ignore[union-attr]
        await uow.commit()
    reach.clock.now = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)  # 22:00 local
    await driver.press(officer, f"t:claim:{urgent.id}")
    await reach.drain()
    assert [m.params[0] for m in reach.sms.messages if m.template == fake_reach.TEMPLATE_NOTICE][-1] == urgent.number


async def test_at_most_two_sms_per_ticket_and_day(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-cap", officer)
    await reach.confirm_phone(citizen)
    await driver.press(officer, f"t:claim:{ticket.id}")
    for text in ("请明天上午带上协议原件", "地点改在司法所二楼", "请带身份证"):
        await driver.press(officer, f"t:msg:{ticket.id}")
        await driver.say(officer, text)
    await reach.drain()
    notices = [m for m in reach.sms.messages if m.template == fake_reach.TEMPLATE_NOTICE]
    assert len(notices) == 2  # accepted, the first message; then the day's SMS for this ticket are used up
    rows = await rows_for(driver)
    assert sorted(r.status for r in rows if r.notice in ("accepted", "message")) == [
        "sent",
        "sent",
        "waiting",
        "waiting",
    ]
    waiting = [r for r in rows if r.status == "waiting"]
    assert [tried(r) for r in waiting] == [[("chat", "notnow: page_closed"), ("sms", "notnow: sms_cap")]] * 2
    reach.clock.advance(days=1)
    await driver.press(officer, f"t:msg:{ticket.id}")
    await driver.say(officer, "次日再联系您")
    await reach.drain()
    assert len([m for m in reach.sms.messages if m.template == fake_reach.TEMPLATE_NOTICE]) == 3  # a new day


async def test_a_wrong_code_does_not_confirm_and_the_code_never_shows_in_the_chat(
    reach: Reach, driver: DeskDriver
) -> None:
    citizen = driver.chat("w-code")
    await driver.agree(citizen)
    await driver.say(citizen, "/sms")
    await driver.say(citizen, "13900139000")
    await reach.drain()
    code = reach.sms.to("13900139000")[-1].params[0]
    transcript = "\n".join(r.text for r in await driver.replies(citizen))
    assert code not in transcript
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    said = await driver.say(citizen, wrong)
    assert driver.t("zh_CN", "sms.code_wrong") in said[-1].text
    async with driver.db.reading() as uow:
        identity = await uow.people.identity("webchat", citizen.chat_id)
        phone = await uow.reach.phone(identity.person_id)  # type: ignore[union-attr]
        assert phone is not None and phone.confirmed_at is None and PHONE not in phone.phone_sealed
    said = await driver.say(citizen, code)
    assert said[-1].text == driver.t("zh_CN", "sms.confirmed", phone="139****9000")


async def test_a_landline_is_kept_to_call_and_never_texted(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-landline", officer)
    await driver.say(citizen, "/sms")
    said = await driver.say(citizen, "0916-2626110")
    assert driver.t("zh_CN", "sms.landline", phone="091****6110") in said[-1].text
    await driver.press(officer, f"t:claim:{ticket.id}")
    await reach.drain()
    assert reach.sms.messages == []
    card = await driver.press(officer, f"t:view:{ticket.id}")
    assert driver.t("zh_CN", "reach.way.landline", phone="091****6110") in card[-1].text


async def test_the_card_says_how_the_citizen_is_reachable(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    citizen, ticket = await citizen_with_ticket(driver, "w-card", officer)
    card = await driver.press(officer, f"t:view:{ticket.id}")
    assert f"{driver.t('zh_CN', 'reach.card.later')} · {driver.t('zh_CN', 'reach.way.no_sms')}" in card[-1].text
    await reach.confirm_phone(citizen)
    await remember_push(driver.db, "webchat", citizen.chat_id, reach.push.subscribe().to_json(), reach.clock())
    async with driver.db() as uow:
        await uow.reach.mark_present(citizen.chat_id, reach.clock() + timedelta(seconds=45))
        await uow.commit()
    card = await driver.press(officer, f"t:view:{ticket.id}")
    ways = " · ".join(driver.t("zh_CN", f"reach.way.{w}") for w in ("webchat_open", "push"))
    expected = f"{driver.t('zh_CN', 'reach.card.now', ways=ways)} · {driver.t('zh_CN', 'reach.way.sms')}"
    assert expected in card[-1].text


# ---- one person across channels


async def code_from(driver: DeskDriver, chat: Chat) -> str:
    said = await driver.say(chat, "/link")
    import re

    found = re.search(r"/link (\d{8})", said[-1].text)
    assert found is not None, said[-1].text
    return found.group(1)


async def numbers(driver: DeskDriver, chat: Chat) -> set[str]:
    import re

    listed = await driver.say(chat, "/status")
    return set(re.findall(r"HZ-\d{8}-\d{4}", listed[-1].text))


async def test_two_chats_linked_are_one_person_with_one_ticket_list(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    web, web_ticket = await citizen_with_ticket(driver, "w-link", officer)
    telegram = driver.chat("5550001", channel="telegram")
    await driver.agree(telegram)
    telegram_ticket = await plant_ticket(driver, telegram, UNIT_A)
    code = await code_from(driver, telegram)
    asked = await driver.say(web, f"/link {code}")
    assert asked[-1].text == driver.t("zh_CN", "link.confirm", channel="Telegram", here=1, there=1)
    assert await numbers(driver, web) == {web_ticket.number}  # nothing merged before this chat agrees
    done = await driver.press(web, "link:yes")
    assert done[-1].text == driver.t("zh_CN", "link.done", count=2)
    both = {web_ticket.number, telegram_ticket.number}
    assert await numbers(driver, web) == both and await numbers(driver, telegram) == both
    told = (await driver.replies(telegram))[-2]  # before the /status list: the telegram chat was told, with a way out
    assert told.text == driver.t("zh_CN", "link.told", channel=driver.t("zh_CN", "channel.webchat"))
    # One notification per event: the officer's claim reaches the person once, on the chat they used last.
    reach.clock.advance(minutes=2)
    await driver.say(telegram, "/menu")
    before = len(await rows_for(driver, "accepted"))
    await driver.press(officer, f"t:claim:{telegram_ticket.id}")
    accepted = (await rows_for(driver, "accepted"))[before:]
    assert [(r.channel, r.recipient) for r in accepted] == [("telegram", telegram.chat_id)]
    # The web page was used last but is closed: the same message goes to the other chat that can deliver now, once.
    reach.clock.advance(minutes=2)
    await driver.say(web, "/menu")
    await driver.press(officer, f"t:msg:{telegram_ticket.id}")
    await driver.say(officer, "请明天上午带上协议原件")
    await reach.drain()
    (message,) = await rows_for(driver, "message")
    assert (message.channel, message.recipient, message.status) == ("telegram", telegram.chat_id, "pending")
    assert tried(message) == [("chat", "notnow: page_closed")] and reach.push.pushes == []
    # "This isn't me": the telegram chat undoes it, each side gets back what it brought.
    notme = next(b for b in buttons(told) if b.startswith("link:notme:"))
    separated = await driver.press(telegram, notme)
    assert separated[-1].text == driver.t("zh_CN", "link.separated")
    assert await numbers(driver, telegram) == {telegram_ticket.number}
    assert await numbers(driver, web) == {web_ticket.number}
    async with driver.db.reading() as uow:
        actions = (await uow.session.execute(select(AuditEntry.action))).scalars().all()
        assert "link_disputed" in actions


async def test_unlink_and_wrong_codes(reach: Reach, driver: DeskDriver) -> None:
    officer = await join(driver, "officer-a", UNIT_A, "officer", "张三")
    web, web_ticket = await citizen_with_ticket(driver, "w-unlink", officer)
    telegram = driver.chat("5550002", channel="telegram")
    await driver.agree(telegram)
    wrong = await driver.say(web, "/link 12345678")
    assert wrong[-1].text == driver.t("zh_CN", "link.unknown")
    code = await code_from(driver, telegram)
    await driver.say(web, f"/link {code}")
    await driver.press(web, "link:yes")
    assert await numbers(driver, telegram) == {web_ticket.number}
    again = await driver.say(web, f"/link {code}")  # a code works once
    assert again[-1].text in (driver.t("zh_CN", "link.unknown"), driver.t("zh_CN", "link.same"))
    done = await driver.say(web, "/unlink")
    assert done[-1].text == driver.t("zh_CN", "link.unlinked")
    assert await numbers(driver, telegram) == set() and await numbers(driver, web) == {web_ticket.number}
    assert (await driver.say(web, "/unlink"))[-1].text == driver.t("zh_CN", "link.none")
    officer_code = await driver.say(officer, "/link")
    assert officer_code[-1].text == driver.t("zh_CN", "link.officer")


async def test_wechat_oauth_continues_the_follower_on_the_web_page(reach: Reach, driver: DeskDriver) -> None:
    await join(driver, "officer-a", UNIT_A, "officer", "张三")
    follower = driver.chat("oFollowerOAuth0000000000001", channel="wechat")
    await driver.agree(follower)
    ticket = await plant_ticket(driver, follower, UNIT_A)
    page = driver.chat("w" + "a" * 40)
    told = await oauth_join(driver.db, driver.translator, "zh_CN", page.chat_id, follower.chat_id, reach.clock())
    assert told == []
    assert await numbers(driver, page) == {ticket.number}  # the same person, the same tickets
    # A page that holds tickets of its own is not merged silently: it is offered a code to confirm.
    other = driver.chat("w" + "b" * 40)
    await driver.agree(other)
    own = await plant_ticket(driver, other, UNIT_A)
    told = await oauth_join(driver.db, driver.translator, "zh_CN", other.chat_id, follower.chat_id, reach.clock())
    assert told == [("webchat", other.chat_id)]
    assert await numbers(driver, other) == {own.number}
    offer = [r for r in await driver.replies(other) if "/link " in r.text][-1]
    code = offer.text.rsplit(" ", 1)[-1]
    await driver.say(other, f"/link {code}")
    await driver.press(other, "link:yes")
    assert await numbers(driver, other) == {own.number, ticket.number}
    assert isinstance(offer, Reply)
