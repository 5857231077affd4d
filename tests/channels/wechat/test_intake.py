"""Whole interviews on WeChat through the real bot process, every choice typed as the number shown beside it, in
Chinese and in English, each ending in a ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.conversation.i18n import Translator
from handlers.interviews.dispute import DISPUTE
from handlers.interviews.legal_aid import LEGAL_AID
from storage.models import Ticket
from tests.channels.wechat.conftest import Rig
from tests.channels.wechat.fake_api import FakeWeChat
from tests.channels.wechat.walk import Plan, Walker
from tests.support.intake_walks import VALID_ID

DESCRIPTION = {
    "zh_CN": "邻居把界桩往我家地里挪了两米，协商了几次都不成 ]]> <b>",
    "en": "My neighbour moved the boundary stone two metres into my field ]]> <b>",
}


async def begin(rig: Rig, t: Translator, locale: str) -> Walker:
    walker = Walker(rig.follower(), t, locale)
    if locale != "zh_CN":
        reply = await walker.type("/lang en")
        assert t(locale, "lang.set", name=t(locale, "lang.name")) in "\n".join(reply)
    return walker


async def only_ticket(rig: Rig) -> Ticket:
    async with rig.db.reading() as uow:
        return (await uow.session.execute(select(Ticket))).scalar_one()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_dispute_by_numbered_replies(rig: Rig, wechat: FakeWeChat, t: Translator, locale: str) -> None:
    walker = await begin(rig, t, locale)
    menu = await walker.start()
    plan = Plan(
        choices={"category": "land", "county": "chenggu", "contact_time": "morning"},
        texts={"description": DESCRIPTION[locale], "other_party": "张三"},
        photos=("MEDIA_evidence_photo_01",),
    )
    walk = await walker.interview(menu, DISPUTE, plan)

    assert {"category", "county", "description", "other_party", "evidence", "phone", "contact_time"} <= set(walk.steps)
    free = {*plan.texts.values(), plan.phone, "/start", "/lang en"}
    assert all(typed.isdigit() for typed in walk.typed if typed not in free), walk.typed
    assert DESCRIPTION[locale] in walk.summary  # shown as typed: the CDATA end and the tag survive the XML
    assert "138****8000" in walk.summary and "13800138000" not in "\n".join(walk.transcript)
    ticket = await only_ticket(rig)
    assert ticket.number in "\n".join(walk.receipt)
    assert (ticket.kind, ticket.category, ticket.county, ticket.summary) == (
        "dispute",
        "land",
        "chenggu",
        DESCRIPTION[locale],
    )
    assert ticket.details["contact_time"] == "morning" and ticket.details["other_party"] == "张三"
    assert [(a["kind"], a["ref"]) for a in ticket.attachments] == [("photo", "wechat:MEDIA_evidence_photo_01")]
    assert rig.db.cipher.decrypt(ticket.phone_sealed or "") == "13800138000"
    assert ticket.locale == locale
    # Every answer came back in the HTTP response: nothing needed the customer-service API.
    assert wechat.customs == [] and all(p.statuses == [200] and p.passive for p in walker.follower.pushes)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_legal_aid_by_numbered_replies(rig: Rig, wechat: FakeWeChat, t: Translator, locale: str) -> None:
    walker = await begin(rig, t, locale)
    menu = await walker.start()
    plan = Plan(
        choices={
            "matter": "labour",
            "county": "hantai",
            "special": "none",
            "age": "adult",
            "group": "none",
            "card": "no",
            "income": "below",
        },
        texts={"description": DESCRIPTION[locale], "id_number": VALID_ID},
    )
    walk = await walker.interview(menu, LEGAL_AID, plan)

    assert {"matter", "county", "description", "special", "age", "group", "card", "income", "id_number"} <= set(
        walk.steps
    )
    ticket = await only_ticket(rig)
    assert (ticket.kind, ticket.category, ticket.county) == ("legal_aid", "labour", "hantai")
    assert ticket.number in "\n".join(walk.receipt)
    assert t(locale, "legal_aid.deadline") in "\n".join(walk.receipt)  # the rules' answer reached the follower
    assert rig.db.cipher.decrypt(ticket.id_number_sealed or "") == VALID_ID
    assert VALID_ID not in "\n".join(walk.transcript)
    assert wechat.customs == []
