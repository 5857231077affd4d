"""/privacy on WeChat through the real bot process (#16): its notice, terms, options and contact come to more than a
WeChat text message may carry (2048 bytes, passive or customer-service: errcode 45002), so the reply arrives in
several messages, each within the limit, together the whole text with the numbered choices at its end."""

from __future__ import annotations

import re

from handlers.conversation.i18n import Translator
from tests.channels.wechat.conftest import RigFactory
from tests.channels.wechat.fake_api import TEXT_LIMIT, FakeWeChat
from tests.channels.wechat.walk import Walker, numbered

CONTACT = "汉中市委政法委个人信息保护负责人 刘科长，电话 0916-2345678，地址汉中市汉台区天汉大道 1 号"


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_the_privacy_notice_arrives_whole_in_messages_within_the_limit(
    rig_factory: RigFactory, wechat: FakeWeChat, t: Translator
) -> None:
    rig = await rig_factory(SHISHI_PRIVACY_CONTACT=CONTACT)
    walker = Walker(rig.follower(), t, "zh_CN")
    await walker.start()
    reply = await walker.type("/privacy")

    assert all(len(part.encode()) <= TEXT_LIMIT for part in reply)
    assert sum(len(part.encode()) for part in reply) > TEXT_LIMIT and len(reply) >= 2, [len(p) for p in reply]
    assert [code for _, code in wechat.refused if code == 45002] == []  # nothing WeChat would have refused
    whole = squeezed("".join(reply))
    for said in (
        t("zh_CN", "consent.notice"),
        t("zh_CN", "privacy.terms"),
        t("zh_CN", "privacy.options"),
        t("zh_CN", "privacy.contact", contact=CONTACT),
    ):
        assert squeezed(said) in whole, said[:40]
    assert whole.index(squeezed(t("zh_CN", "consent.notice"))) < whole.index(squeezed(CONTACT))  # in order
    menu = numbered(reply[-1], t("zh_CN", "text_menu.numbers"))  # the choices come last, to be typed
    assert any(t("zh_CN", "privacy.button.delete") in shown for shown in menu), menu
    chosen = next(n for shown, n in menu.items() if t("zh_CN", "privacy.button.delete") in shown)
    asked = await walker.type(str(chosen))
    assert asked and all(len(part.encode()) <= TEXT_LIMIT for part in asked)
