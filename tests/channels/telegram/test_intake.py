"""The real `python -m bot run` process against the fake Bot API: interviews through buttons, repeats, crashes."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from bot.channels.telegram.updates import update_id_of
from handlers.conversation.i18n import Translator
from storage.models import InboxEntry, OutboxMessage, Person, Ticket
from tests.channels.telegram.conftest import Rig
from tests.channels.telegram.fake_api import FakeBotAPI
from tests.channels.telegram.walk import Plan, Walker

DESCRIPTION = "<b>邻居</b> 把界桩往我家地里挪了两米 & 协商了几次都不成"


async def count(rig: Rig, model: type) -> int:
    async with rig.db.reading() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.mark.parametrize(("language_code", "locale"), [("zh-hans", "zh_CN"), ("en", "en")])
async def test_dispute_through_buttons_and_a_shared_contact(
    rig: Rig, fake: FakeBotAPI, t: Translator, language_code: str, locale: str
) -> None:
    user = fake.user(4242, language_code)
    walker = Walker(user, t, locale)
    menu = await walker.start()
    plan = Plan(
        choices={"category": "land", "county": "chenggu"},
        texts={"description": DESCRIPTION},
        phone="+86 138 0013 8000",
        photos=("AgACAgUAAxkBAAIBOWZbigPhoto",),
    )
    walk = await walker.interview(menu, plan=plan)

    assert {"category", "county", "description", "phone"} <= set(walk.steps)
    asked_phone = walk.transcript[
        [m.text for m in walk.transcript].index(
            next(m.text for m in walk.transcript if t(locale, "common.phone") in m.text)
        ) :
    ]
    request = next(m for m in asked_phone if m.reply_markup and "keyboard" in m.reply_markup)
    assert request.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert request.text == t(locale, "telegram.request_hint.contact")
    after_contact = walk.transcript[walk.transcript.index(request) + 1 :]
    assert any(m.reply_markup == {"remove_keyboard": True} for m in after_contact), "contact keyboard left open"

    shown = "\n".join(m.text for m in walk.summary_reply)
    raw = "\n".join(m.raw for m in walk.summary_reply)
    assert DESCRIPTION in shown  # shown exactly as typed: escaped, not interpreted
    assert "&lt;b&gt;邻居&lt;/b&gt;" in raw and "&amp;" in raw
    assert "138****8000" in shown and "13800138000" not in raw
    async with rig.db.reading() as uow:
        ticket = (await uow.session.execute(select(Ticket))).scalar_one()
        person = await uow.people.get(ticket.citizen_id)
    assert ticket.number in walk.receipt[-1].text
    assert (ticket.kind, ticket.category, ticket.county, ticket.summary) == ("dispute", "land", "chenggu", DESCRIPTION)
    assert rig.db.cipher.decrypt(ticket.phone_sealed or "") == "13800138000"
    if "evidence" in walk.steps:  # the photo went in as evidence: Telegram's file id is what is stored
        assert [(a["kind"], a["ref"]) for a in ticket.attachments] == [("photo", "AgACAgUAAxkBAAIBOWZbigPhoto")]
    assert person.locale == locale
    answered = {a["callback_query_id"] for a in fake.callback_answers}
    assert len(answered) == walk.presses  # every press answered, so no phone shows a spinner
    assert all(m.parse_mode == "HTML" for m in fake.sent)


async def test_same_update_three_times_opens_one_ticket(rig: Rig, fake: FakeBotAPI, t: Translator) -> None:
    user = fake.user(4343)
    walker = Walker(user, t, "zh_CN")
    menu = await walker.start()
    await walker.interview(menu, plan=Plan(texts={"description": "邻居家的狗天天夜里叫，沟通无果"}))
    receipts = [m for m in user.inbox() if "HZ-" in m.text]
    assert len(receipts) == 1
    summary = walker.walk.summary
    assert summary is not None
    before = len(user.inbox())
    # A second submit from the same summary, delivered three times in one batch (as after a lost acknowledgement).
    update_id = user.press(summary, t("zh_CN", "engine.submit"))
    fake.repeat(update_id)
    fake.repeat(update_id)
    await fake.wait_until(lambda: fake.confirmed_offset > update_id, 10)
    await user.next(before)
    assert fake.delivered_update_ids.count(update_id) == 3
    assert await count(rig, Ticket) == 1
    async with rig.db.reading() as uow:
        keys = [update_id_of(k) for k in (await uow.session.execute(select(InboxEntry.update_key))).scalars()]
    assert keys.count(update_id) == 1
    assert len(user.inbox()) == before + 1  # one answer (the stale-button note), not three


async def test_kill_9_after_the_update_was_fetched_handles_it_once_after_restart(
    rig: Rig, fake: FakeBotAPI, t: Translator
) -> None:
    user = fake.user(4444)
    walker = Walker(user, t, "zh_CN")
    menu = await walker.start()
    assert await count(rig, Ticket) == 0
    lock = sqlite3.connect(rig.process.db_path, isolation_level=None, timeout=30)
    try:
        lock.execute("BEGIN IMMEDIATE")  # the bot can read but not commit: it is stuck between fetch and commit
        before = len(user.inbox())
        update_id = user.press(menu[-1], t("zh_CN", "menu.status"))
        await fake.wait_until(lambda: update_id in fake.delivered_update_ids, 10)
        await rig.kill()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert fake.confirmed_offset <= update_id
    assert await count(rig, InboxEntry) == 2  # /start and the consent press only
    await rig.start()
    reply = await user.next(before)
    await fake.wait_until(lambda: fake.confirmed_offset > update_id, 10)
    assert fake.delivered_update_ids.count(update_id) == 2
    assert len(reply) == 1  # answered once, although the update was fetched twice
    assert t("zh_CN", "status.none") in reply[0].text
    async with rig.db.reading() as uow:
        keys = [update_id_of(k) for k in (await uow.session.execute(select(InboxEntry.update_key))).scalars()]
        rows = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.recipient == "4444"))).scalars()
        statuses = [r.status for r in rows]
    assert keys.count(update_id) == 1
    assert statuses == ["sent"] * len(statuses)
    assert await count(rig, Person) == 1
