"""After the conversation: the customer-service window (48 h, five sends a message), subscription notifications when
the follower granted one, rows held until they write again, unfollows, menu clicks, and the shared access token —
through real bot processes and the fake WeChat API."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from storage.models import ChatIdentity, OutboxMessage, WeChatGrant, WeChatWindow
from tests.channels.wechat.conftest import Rig, RigFactory
from tests.channels.wechat.fake_api import FakeWeChat, Follower, Raw

TEMPLATE = "TPL_ticket_update_0001"
NOTICES = f"""
[[template]]
name = "ticket_update"
id = "{TEMPLATE}"
notices = ["accepted", "message", "decision", "callback"]

[template.data]
character_string1 = "{{number}}"
thing2 = "{{title}}"
time3 = "{{time}}"
"""
UPDATE = "您的工单 HZ-20261202-0007 有新进展：承办人请您补充现场照片和协议原件\n请回复本消息或到司法所提交。"


@pytest.fixture
async def rig(rig_factory: RigFactory, tmp_path: Path) -> Rig:
    notices = tmp_path / "wechat.toml"
    notices.write_text(NOTICES, encoding="utf-8")
    return await rig_factory(WECHAT_NOTICES_FILE=str(notices))


async def queue(
    rig: Rig, openid: str, text: str, *, kind: str = "update", essential: bool = True, notice: str | None = "message"
) -> int:
    """A message for the follower as handlers/ queues one (an officer's message, a decision)."""
    now = datetime.now(UTC)
    async with rig.db() as uow:
        identity = await uow.people.identity("wechat", openid)
        row = await uow.outbox.enqueue(
            OutboxMessage(
                channel="wechat",
                recipient=openid,
                payload=Reply(text=text, notice=notice, facts=facts_of(text, notice)).to_payload(),
                priority=5,
                essential=essential,
                kind=kind,
                status="pending",
                attempts=0,
                not_before=now,
                created_at=now,
                person_id=identity.person_id if identity else None,
                notice=notice,
            )
        )
        await uow.commit()
        return row.id


def facts_of(text: str, notice: str | None) -> dict[str, str]:
    number = re.search(r"HZ-\d{8}-\d{4}", text)
    return {"number": number.group(0), "status": "有新消息"} if notice and number else {}


async def row(rig: Rig, message_id: int) -> OutboxMessage:
    async with rig.db.reading() as uow:
        found = await uow.outbox.get(message_id)
        assert found is not None
        return found


async def held(rig: Rig, openid: str) -> list[int]:
    """The rows for this follower waiting on the delivery ladder for their next message."""
    async with rig.db.reading() as uow:
        stmt = select(OutboxMessage.id).where(OutboxMessage.recipient == openid, OutboxMessage.status == "waiting")
        return list((await uow.session.execute(stmt)).scalars())


async def eventually(check: object, within: float = 10.0) -> None:
    for _ in range(int(within * 20)):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within}s: {check}")


async def close_window(rig: Rig, wechat: FakeWeChat, openid: str) -> None:
    """48 hours pass: the window WeChat keeps, and the one the bot keeps, are closed."""
    wechat.closed.add(openid)
    async with rig.db() as uow:
        await uow.session.execute(
            update(WeChatWindow)
            .where(WeChatWindow.openid == openid)
            .values(until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await uow.commit()


async def greeted(rig: Rig) -> Follower:
    follower = rig.follower()
    assert (await follower.text("/start")).passive is not None
    return follower


async def test_closed_window_without_a_grant_holds_the_message_until_the_follower_writes(
    rig: Rig, wechat: FakeWeChat, t: Translator
) -> None:
    follower = await greeted(rig)
    await close_window(rig, wechat, follower.openid)
    message_id = await queue(rig, follower.openid, UPDATE)

    async def is_held() -> bool:
        return await held(rig, follower.openid) == [message_id]

    await eventually(is_held)
    waiting = await row(rig, message_id)
    assert waiting.status == "waiting" and waiting.rung == "wait"
    assert [(a["rung"], a["channel"], a["outcome"]) for a in waiting.ladder or []] == [
        ("chat", "wechat", "notnow: not_granted")
    ]  # no web push, no confirmed phone: nothing else could carry it
    assert wechat.customs == [] and wechat.notices == [] and wechat.refused == []  # nothing asked of WeChat

    reply = await follower.act(lambda: follower.text("/menu"))
    assert any(t("zh_CN", "menu.title") in text for text in reply)  # the answer to what they wrote …
    await wechat.wait_until(lambda: any(c.text == UPDATE for c in wechat.customs), 10)
    await asyncio.sleep(0.5)
    assert [c.text for c in wechat.customs_to(follower.openid)] == [UPDATE]  # … and the held message, once
    assert (await row(rig, message_id)).status == "sent"
    assert await held(rig, follower.openid) == []


async def test_closed_window_with_a_grant_sends_a_subscription_notification(rig: Rig, wechat: FakeWeChat) -> None:
    follower = await greeted(rig)
    popup = Raw(
        f"<List><TemplateId><![CDATA[{TEMPLATE}]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
    )
    pushed = await follower.event("subscribe_msg_popup_event", SubscribeMsgPopupEvent=popup)
    assert pushed.bodies == ["success"]
    wechat.grants[(follower.openid, TEMPLATE)] = 1  # WeChat's own record of the acceptance
    async with rig.db.reading() as uow:
        grant = await uow.session.get(WeChatGrant, (follower.openid, TEMPLATE))
        assert grant is not None and grant.remaining == 1
    await close_window(rig, wechat, follower.openid)

    first = await queue(rig, follower.openid, UPDATE)
    await wechat.wait_until(lambda: len(wechat.notices_to(follower.openid)) == 1, 10)
    notice = wechat.notices_to(follower.openid)[0]
    assert notice.template_id == TEMPLATE
    assert notice.data["character_string1"] == {"value": "HZ-20261202-0007"}
    assert notice.data["thing2"]["value"].startswith("您的工单") and len(notice.data["thing2"]["value"]) <= 20
    assert datetime.strptime(notice.data["time3"]["value"], "%Y-%m-%d %H:%M")

    async def sent() -> bool:
        return (await row(rig, first)).status == "sent"

    await eventually(sent)
    second = await queue(rig, follower.openid, UPDATE.replace("0007", "0008"))  # the one acceptance is used up

    async def is_held() -> bool:
        return await held(rig, follower.openid) == [second]

    await eventually(is_held)
    assert len(wechat.notices) == 1 and wechat.customs_to(follower.openid) == []
    replies = [c for c in wechat.refused if c[0].endswith("bizsend")]
    assert replies == []  # the bot knew the grant was spent: it did not ask WeChat to refuse it


async def test_wechat_saying_the_window_closed_holds_the_row_without_retrying(rig: Rig, wechat: FakeWeChat) -> None:
    follower = await greeted(rig)
    wechat.closed.add(follower.openid)  # the bot still believes the window open
    message_id = await queue(rig, follower.openid, UPDATE, kind="alert")

    async def is_held() -> bool:
        return await held(rig, follower.openid) == [message_id]

    await eventually(is_held)
    await asyncio.sleep(1.5)
    assert wechat.refused == [("/cgi-bin/message/custom/send", 45015)]
    async with rig.db.reading() as uow:
        window = await uow.session.get(WeChatWindow, follower.openid)
        assert window is not None and window.sends_left == 0


async def test_one_message_lets_five_customer_service_messages_through(rig: Rig, wechat: FakeWeChat) -> None:
    follower = await greeted(rig)  # answered in the response: no send of the window spent
    ids = [await queue(rig, follower.openid, f"第 {n} 条进展") for n in range(1, 7)]

    async def sixth_held() -> bool:
        return await held(rig, follower.openid) == [ids[-1]]

    await eventually(sixth_held)
    assert [c.text for c in wechat.customs_to(follower.openid)] == [f"第 {n} 条进展" for n in range(1, 6)]
    assert wechat.refused == []  # the bot counted; WeChat never had to refuse (45047)
    await follower.text("你好")
    await wechat.wait_until(lambda: len(wechat.customs_to(follower.openid)) == 6, 10)
    assert wechat.customs_to(follower.openid)[-1].text == "第 6 条进展"


async def test_an_unfollow_makes_the_follower_unreachable(rig: Rig, wechat: FakeWeChat) -> None:
    follower = await greeted(rig)
    await close_window(rig, wechat, follower.openid)
    broadcast_like = await queue(rig, follower.openid, "普法小知识", kind="notice", essential=False)

    async def is_held() -> bool:
        return await held(rig, follower.openid) == [broadcast_like]

    await eventually(is_held)
    created = int(time.time())  # a retry of an event is the same event: the same sender, time and kind
    pushed = await follower.push("event", {"Event": "unsubscribe"}, created=created)
    assert pushed.bodies == ["success"]
    async with rig.db.reading() as uow:
        identity = (
            await uow.session.execute(select(ChatIdentity).where(ChatIdentity.external_id == follower.openid))
        ).scalar_one()
        assert identity.unreachable_at is not None
    assert (await row(rig, broadcast_like)).status == "dropped"
    again = await follower.push("event", {"Event": "unsubscribe"}, created=created)  # changes nothing more
    assert again.bodies == ["success"] and (await rig.footprint())["inbox"] == 2


async def test_a_menu_click_acts_like_the_web_chat_menu_button(rig: Rig, wechat: FakeWeChat, t: Translator) -> None:
    follower = await greeted(rig)
    assert (await follower.text("1")).passive is not None  # agree to the privacy notice
    pushed = await follower.event("CLICK", "menu:dispute")
    assert pushed.passive is not None and t("zh_CN", "dispute.category") in pushed.passive
    status = await follower.event("CLICK", "/status")
    assert status.passive is not None


async def test_an_expired_token_mid_send_is_refreshed_once(rig: Rig, wechat: FakeWeChat) -> None:
    follower = await greeted(rig)
    await queue(rig, follower.openid, "第一条")
    await wechat.wait_until(lambda: len(wechat.customs) == 1, 10)
    assert wechat.token_fetches == ["stable"]
    wechat.expire_tokens()
    for n in range(2, 5):
        await queue(rig, follower.openid, f"第{n}条")
    await wechat.wait_until(lambda: len(wechat.customs) == 4, 10)
    await asyncio.sleep(0.5)
    assert [c.text for c in wechat.customs] == ["第一条", "第2条", "第3条", "第4条"]  # each once, in order
    assert wechat.token_fetches == ["stable", "stable"]
    assert [code for _, code in wechat.refused] == [42001]


@pytest.mark.postgres
async def test_two_processes_share_one_token(
    rig_factory: RigFactory, pg_database: tuple[str, str], wechat: FakeWeChat
) -> None:
    # No passive answers: every reply goes by the customer-service API from the process that took the message.
    env = {"DATABASE_URL": pg_database[1], "WECHAT_PASSIVE_BUDGET": "0"}
    processes = [await rig_factory("one", SHISHI_DEMO="yes", **env), await rig_factory("two", SHISHI_DEMO="no", **env)]
    followers = [processes[n % 2].follower() for n in range(12)]
    for round_, text in enumerate(("/start", "/menu"), 1):
        pushed = await asyncio.gather(*(f.text(text) for f in followers))
        assert {p.bodies[-1] for p in pushed} == {"success"}
        expected = 24 + 12 * (round_ - 1)  # /start: the welcome and the privacy notice; /menu: the menu
        await wechat.wait_until(lambda expected=expected: len(wechat.customs) >= expected, 20)
        assert wechat.token_fetches == ["stable"] * round_  # both processes sent; the token was fetched once
        wechat.expire_tokens()
    assert [code for _, code in wechat.refused].count(42001) >= 2  # both met the expired token, one refreshed it
