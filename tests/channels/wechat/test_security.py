"""Who may talk to /wechat: URL verification, the three message modes, and every forged or hostile push refused
with nothing written and nothing sent (real bot processes; pushes signed and encrypted by wechatpy)."""

from __future__ import annotations

import time

import aiohttp
import pytest
from wechatpy.crypto import WeChatCrypto

from handlers.conversation.i18n import Translator
from tests.channels.wechat.conftest import Rig, RigFactory
from tests.channels.wechat.fake_api import APP_ID, TOKEN, FakeWeChat, message_xml, new_aes_key, signature

XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh_x</ToUserName><FromUserName>oXXE</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10))
    + "]><xml><ToUserName>gh_x</ToUserName><FromUserName>oLOL</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>2</MsgId></xml>"
)
DTD_ONLY = '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml><FromUserName>o</FromUserName></xml>'
MALFORMED = "<xml><ToUserName>gh_x</ToUserName><FromUserName>oBAD<CreateTime>1</xml>"


async def get(url: str, params: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        return response.status, await response.text()


async def test_url_verification_answers_the_echo_only_to_a_right_signature(rig: Rig, wechat: FakeWeChat) -> None:
    pusher = rig.pusher()
    good = {**pusher.query(), "echostr": "7216378412638"}
    assert await get(rig.url, good) == (200, "7216378412638")
    forged = {**good, "signature": signature("not-our-token", good["timestamp"], good["nonce"])}
    assert (await get(rig.url, forged))[0] == 403
    stale = {**pusher.query(timestamp=int(time.time()) - 3600), "echostr": "1"}
    assert (await get(rig.url, stale))[0] == 403
    assert (await get(rig.url, {"echostr": "1"}))[0] == 403
    assert await rig.footprint() == {"inbox": 0, "people": 0, "outbox": 0, "tickets": 0}


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_each_mode_is_answered_in_its_own_form(
    rig_factory: RigFactory, wechat: FakeWeChat, t: Translator, mode: str
) -> None:
    rig = await rig_factory(mode="plain" if mode == "plain" else "safe")
    follower = rig.follower(mode)
    pushed = await follower.text("/start")
    assert pushed.statuses == [200]
    assert pushed.passive_kind == "text" and pushed.passive is not None
    assert t("zh_CN", "welcome") in pushed.passive and t("zh_CN", "consent.agree") in pushed.passive
    if mode != "plain":  # the answer is encrypted too: wechatpy checked its signature and decrypted it
        assert "<Encrypt>" in pushed.bodies[0] and t("zh_CN", "welcome") not in pushed.bodies[0]
    assert wechat.customs == []  # answered in the response, not also by the customer-service API
    footprint = await rig.footprint()
    assert footprint["inbox"] == 1 and footprint["people"] == 1


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_forged_and_hostile_pushes_change_nothing(rig_factory: RigFactory, wechat: FakeWeChat, mode: str) -> None:
    rig = await rig_factory(mode=mode)
    pusher = rig.pusher()
    openid = "oForgedFollower0000000000001"
    xml = message_xml(openid, "text", {"Content": "/start", "MsgId": "9001"})

    def signed(**kw: object) -> dict[str, str]:
        return pusher.query(openid=openid, **kw)  # type: ignore[arg-type]

    cases: dict[str, tuple[bytes, dict[str, str], int]] = {}
    params = signed()
    params["signature"] = signature("not-our-token", params["timestamp"], params["nonce"])
    cases["bad signature"] = (pusher.body(xml, params), params, 403)
    params = signed(timestamp=int(time.time()) - 900)
    cases["stale timestamp"] = (pusher.body(xml, params), params, 403)
    params = signed(timestamp=int(time.time()) + 900)
    cases["timestamp from the future"] = (pusher.body(xml, params), params, 403)
    params = signed()
    cases["another follower's openid"] = (pusher.body(xml, params), {**params, "openid": "oSomeoneElse"}, 403)
    for name, hostile, status in (
        ("malformed XML", MALFORMED, 400),
        ("XXE", XXE, 400),
        ("billion laughs", LAUGHS, 400),
        ("external DTD", DTD_ONLY, 400),
    ):
        params = signed() if mode == "plain" else pusher.query()
        cases[name] = (pusher.body(hostile, params), params, status)
    params = signed()
    cases["oversize"] = (xml.replace("/start", "长" * 40_000).encode(), params, 413)
    if mode == "safe":
        params = signed()
        body = pusher.body(xml, params)
        params["msg_signature"] = signature(TOKEN, params["timestamp"], params["nonce"], "tampered")
        cases["wrong msg_signature"] = (body, params, 403)
        for name, crypto in (
            ("wrong AppID", WeChatCrypto(TOKEN, rig.aes_key, "wx0ther0app0id00000")),  # our key, another account
            ("wrong key", WeChatCrypto(TOKEN, new_aes_key(), APP_ID)),  # our AppID, a key that is not ours
        ):
            params = signed()
            sealed = crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
            encrypted = sealed.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
            params.update(
                encrypt_type="aes", msg_signature=signature(TOKEN, params["timestamp"], params["nonce"], encrypted)
            )
            cases[name] = (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(), params, 403)
        params = signed()
        cases["plain text to a safe-mode account"] = (xml.encode(), params, 403)
    else:
        params = signed()
        cases["encrypted to an account without a key"] = (xml.encode(), {**params, "encrypt_type": "aes"}, 403)

    got = {name: (await pusher.post_raw(body, query))[0] for name, (body, query, _) in cases.items()}
    assert got == {name: status for name, (_, _, status) in cases.items()}
    assert await rig.footprint() == {"inbox": 0, "people": 0, "outbox": 0, "tickets": 0}
    assert wechat.customs == [] and wechat.token_fetches == []
    assert "root:" not in rig.log()  # the XXE read nothing

    follower = rig.follower()  # and a real follower is still served
    assert (await follower.text("/start")).passive is not None
    assert (await rig.footprint())["inbox"] == 1
