"""A WeChat follower after the conversation, through a real bot process and the fake WeChat (issues #13 and #14): an
officer's message once the 48-hour window has closed goes as a subscription notification when the follower granted
one, otherwise it waits and the officer is told "not reachable on WeChat until the citizen writes again"; and the web
chat opened from the OA menu (OAuth snsapi_base) is the same person, with the same tickets."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.conversation.i18n import Translator
from storage.crypto import mask_phone
from storage.models import Ticket
from tests.channels.wechat.conftest import Rig, RigFactory
from tests.channels.wechat.fake_api import FakeWeChat, Follower, Raw
from tests.channels.wechat.test_window import close_window
from tests.channels.wechat.walk import numbered
from tests.support.webchat_client import WebChatClient

TEMPLATE = "TPL_ticket_update_0002"
NOTICES = f"""
[[template]]
name = "ticket_update"
id = "{TEMPLATE}"
notices = ["accepted", "message", "decision", "callback"]

[template.data]
character_string1 = "{{number}}"
phrase2 = "{{status}}"
time3 = "{{time}}"
"""
PHONE = "13800138000"
UNIT = "hantai-justice"


async def a_rig(rig_factory: RigFactory, tmp_path: Path) -> Rig:
    notices = tmp_path / "wechat.toml"
    notices.write_text(NOTICES, encoding="utf-8")
    return await rig_factory(WECHAT_NOTICES_FILE=str(notices), FOLLOWUP_INTERVAL="0.5")


def invite(rig: Rig) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", "invite", "--unit", UNIT, "--role", "officer"],
                          env=rig.process.environment(), cwd=rig.process.workdir, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def follower_with_ticket(rig: Rig) -> tuple[Follower, Ticket]:
    follower = rig.follower()
    await follower.text("/start")
    assert (await follower.text("1")).passive is not None  # agree to the privacy notice
    now = datetime.now(UTC)
    async with rig.db() as uow:
        identity = await uow.people.identity("wechat", follower.openid)
        unit = await uow.units.by_code(UNIT)
        assert identity is not None and unit is not None
        ticket = await uow.tickets.add(
            Ticket(number=await uow.tickets.next_number("HZ", now.strftime("%Y%m%d")), kind="dispute",
                   category="land", county="hantai", status="new", urgent=False, citizen_id=identity.person_id,
                   unit_id=unit.id, summary="邻居把界桩往我家地里挪了两米", details={}, attachments=[],
                   phone_sealed=uow.cipher.encrypt(PHONE), phone_hash=uow.cipher.lookup_hash(PHONE),
                   phone_masked=mask_phone(PHONE), locale="zh_CN", created_at=now, updated_at=now,
                   claim_due_at=now + timedelta(hours=4))
        )  # fmt: skip
        await uow.commit()
    return follower, ticket


async def officer_for(rig: Rig) -> WebChatClient:
    officer = WebChatClient(rig.process.url)
    await officer.open_page()
    assert (await officer.say(f"/join {invite(rig)} 张三")).status == 200
    return officer


async def officer_told(officer: WebChatClient, text: str, within: float = 20.0) -> str:
    for _ in range(int(within * 5)):
        said = (await officer.history(after=0)).text
        if text in said:
            return said
        await asyncio.sleep(0.2)
    return (await officer.history(after=0)).text


async def test_an_officers_message_after_the_window_closed(
    rig_factory: RigFactory, tmp_path: Path, wechat: FakeWeChat, t: Translator
) -> None:
    rig = await a_rig(rig_factory, tmp_path)
    follower, ticket = await follower_with_ticket(rig)
    officer = await officer_for(rig)
    try:
        await officer.press(f"t:claim:{ticket.id}")  # within the window: a customer-service message
        await wechat.wait_until(lambda: any(ticket.number in c.text for c in wechat.customs_to(follower.openid)))
        await close_window(rig, wechat, follower.openid)

        # Not granted: it waits for the follower, and the officer is told why, with the number to call.
        await officer.press(f"t:msg:{ticket.id}")
        await officer.say("请您明天上午带协议原件到司法所")
        said = await officer_told(officer, t("zh_CN", "reach.why.not_granted"))
        assert t("zh_CN", "reach.why.not_granted") in said and "138****8000" in said
        assert wechat.notices == [] and len(wechat.customs_to(follower.openid)) == 1

        # Granted: what waited goes at once as a subscription notification, the ticket number and status only.
        wechat.grants[(follower.openid, TEMPLATE)] = 1  # WeChat's own record of the acceptance
        popup = Raw(f"<List><TemplateId><![CDATA[{TEMPLATE}]]></TemplateId><SubscribeStatusString><![CDATA[accept]]>"
                    "</SubscribeStatusString><PopupScene>2</PopupScene></List>")  # fmt: skip
        await follower.event("subscribe_msg_popup_event", SubscribeMsgPopupEvent=popup)
        await wechat.wait_until(lambda: len(wechat.notices_to(follower.openid)) >= 1, 15)
        data = wechat.notices_to(follower.openid)[0].data
        assert data["character_string1"] == {"value": ticket.number} and data["phrase2"] == {"value": "有新消息"}

        # The one acceptance is used: the next message waits; when the follower writes, it reaches them, once.
        await officer.press(f"t:msg:{ticket.id}")
        await officer.say("调解时间改到周四下午")
        await asyncio.sleep(1.5)
        assert len(wechat.notices) == 1 and not any("周四" in c.text for c in wechat.customs)
        await follower.text("好的")
        await wechat.wait_until(lambda: any("周四" in c.text for c in wechat.customs_to(follower.openid)), 15)
        await asyncio.sleep(1.0)
        assert len([c for c in wechat.customs_to(follower.openid) if "周四" in c.text]) == 1
        assert not any("带协议原件" in c.text for c in wechat.customs)  # it went as the notification, not twice
        assert len(wechat.notices) == 1
    finally:
        await officer.close()


async def test_the_web_chat_opened_from_the_menu_is_the_same_person(
    rig_factory: RigFactory, tmp_path: Path, wechat: FakeWeChat
) -> None:
    rig = await a_rig(rig_factory, tmp_path)
    follower, ticket = await follower_with_ticket(rig)
    wechat.oauth_codes["CODE_from_menu"] = follower.openid
    page = WebChatClient(rig.process.url)
    try:
        async with page.http.get(f"{rig.process.url}/?code=CODE_from_menu&state=wechat") as opened:
            assert opened.status == 200 and str(opened.url).endswith("/")  # redirected to the plain page
        listed = await page.say("/status")
        assert set(re.findall(r"HZ-\d{8}-\d{4}", listed.text)) == {ticket.number}
        # A code used once does not identify anyone again.
        other = WebChatClient(rig.process.url)
        try:
            async with other.http.get(f"{rig.process.url}/?code=CODE_from_menu&state=wechat") as opened:
                assert opened.status == 200
            await other.say("/start")
            await other.press("consent:agree")
            assert re.findall(r"HZ-\d{8}-\d{4}", (await other.say("/status")).text) == []
        finally:
            await other.close()
    finally:
        await page.close()


async def test_an_officer_works_from_wechat_by_numbered_replies(
    rig_factory: RigFactory, tmp_path: Path, wechat: FakeWeChat, t: Translator
) -> None:
    rig = await a_rig(rig_factory, tmp_path)
    citizen, ticket = await follower_with_ticket(rig)
    officer = rig.follower()
    joined = await officer.act(lambda: officer.text(f"/join {invite(rig)} 张三"))
    async with rig.db.reading() as uow:
        officer_identity = await uow.people.identity("wechat", officer.openid)
        assert officer_identity is not None
        assert await uow.officers.of_person(officer_identity.person_id) is not None  # /join worked on WeChat
    assert joined
    duty = "\n\n".join(await officer.act(lambda: officer.text("/duty")))
    menu = numbered(duty, t("zh_CN", "text_menu.numbers"))
    claim = menu.get(t("zh_CN", "desk.btn.claim"))
    assert ticket.number in duty and claim is not None, duty
    answer = "\n\n".join(await officer.act(lambda: officer.text(str(claim))))
    assert t("zh_CN", "desk.claim.won", number=ticket.number) in answer
    async with rig.db.reading() as uow:
        claimed = await uow.tickets.get(ticket.id)
        assert claimed is not None and claimed.status == "claimed" and claimed.officer_id is not None
    # The citizen hears of it on WeChat, within their window: a customer-service message.
    await wechat.wait_until(lambda: any(ticket.number in c.text for c in wechat.customs_to(citizen.openid)), 15)
