"""The desk serves private chats: a group the bot is added to, and anything said in it, gets nothing from the desk and
makes no person, through the real bot process and the fake Bot API."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from handlers.conversation.i18n import Translator
from storage.models import ChatIdentity, InboxEntry, OutboxMessage, Person
from tests.channels.telegram.conftest import Rig, step
from tests.channels.telegram.fake_api import FakeBotAPI


async def count(rig: Rig, model: type) -> int:
    async with rig.db.reading() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_group_gets_no_welcome_no_notice_and_no_person(rig: Rig, fake: FakeBotAPI, t: Translator) -> None:
    groups = {"group": -4001, "supergroup": -1004002}
    updates = []
    for kind, chat_id in groups.items():
        member = fake.user(9401, chat_id=chat_id, chat_type=kind)
        joined = {"new_chat_members": [fake.bot_user, member.user], "new_chat_participant": member.user}
        updates.append(fake.push({"message": member._message(**joined)}))  # the bot is added to the group
        updates.append(member.text("大家好，谁知道怎么申请法律援助？"))
        updates.append(member.text("/start@shishi_test_bot"))
        updates.append(member.text("/start"))
    private = fake.user(9402)
    reply = await step(private, lambda: private.text("/start"))  # the bot is alive and answering private chats
    await fake.wait_until(lambda: fake.confirmed_offset > max(updates), 15)  # every group update was taken
    await asyncio.sleep(1.0)  # time enough for any answer to a group to go out

    assert reply[0].text == t("zh_CN", "welcome")
    assert {chat: fake.sent_to(chat) for chat in groups.values()} == {chat: [] for chat in groups.values()}
    assert [c.chat_id for c in fake.calls if c.chat_id in groups.values()] == []  # not a request about a group
    assert await count(rig, Person) == 1 and await count(rig, ChatIdentity) == 1
    async with rig.db.reading() as uow:
        recipients = set((await uow.session.execute(select(OutboxMessage.recipient))).scalars())
    assert recipients == {"9402"}
    assert await count(rig, InboxEntry) == 1
