"""What a Telegram user cannot do to the desk: forge or replay foreign buttons, or flood it; and what the menus show."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.channels.telegram.updates import update_id_of
from handlers.conversation.i18n import Translator
from handlers.staff.invites import make_invite
from storage.models import InboxEntry, OutboxMessage
from tests.channels.telegram.conftest import Rig, RigFactory, step
from tests.channels.telegram.fake_api import FakeBotAPI


async def inbox_keys(rig: Rig) -> list[str]:
    async with rig.db.reading() as uow:
        return [str(update_id_of(k)) for k in (await uow.session.execute(select(InboxEntry.update_key))).scalars()]


async def test_a_tampered_or_foreign_button_gets_a_polite_refusal_and_nothing_else(
    rig: Rig, fake: FakeBotAPI, t: Translator
) -> None:
    alice, mallory = fake.user(9001), fake.user(9002)
    notice = (await step(alice, lambda: alice.text("/start")))[-1]
    own = (await step(mallory, lambda: mallory.text("/start")))[-1]
    agree = notice.button(t("zh_CN", "consent.agree"))["callback_data"]
    forged = agree[:11] + "consent:agree".replace("agree", "decline")  # someone else's MAC on other data
    flipped = ("A" if agree[0] != "A" else "B") + agree[1:]
    before = {9001: len(alice.inbox()), 9002: len(mallory.inbox())}
    presses = [
        mallory.press_data(own, agree),  # Alice's button, pressed in Mallory's chat
        mallory.press_data(own, forged),
        mallory.press_data(own, flipped),
        mallory.press_data(own, "consent:agree"),  # unsigned
        mallory.press_data(own, "x" * 64),
    ]
    await fake.wait_until(lambda: len(fake.callback_answers) >= len(presses), 10)
    await asyncio.sleep(1.0)
    answers = [a for a in fake.callback_answers if a["callback_query_id"] in {str(i) for i in range(1, 100)}]
    assert [a.get("text") for a in answers] == [t("zh_CN", "input.stale_button")] * len(presses)
    assert {9001: len(alice.inbox()), 9002: len(mallory.inbox())} == before  # no message to anyone
    keys = await inbox_keys(rig)
    assert not {str(p) for p in presses} & set(keys)  # not even recorded
    async with rig.db.reading() as uow:
        people = await uow.session.execute(select(func.count()).select_from(InboxEntry))
    assert people.scalar_one() == 2
    reply = await step(alice, lambda: alice.press(notice, t("zh_CN", "consent.agree")))  # the real one still works
    assert reply[0].text == t("zh_CN", "consent.thanks")


async def test_a_flooding_user_is_told_once_and_others_are_not_slowed(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator
) -> None:
    rig = await rig_factory(TELEGRAM_USER_BURST="5", TELEGRAM_USER_RATE="0.5")
    flooder, neighbour = fake.user(9101), fake.user(9102)
    flood = [flooder.text(f"/help {n}") for n in range(40)]
    calm = neighbour.text("/start")
    await fake.wait_until(lambda: fake.confirmed_offset > max([*flood, calm]), 20)
    await neighbour.wait(2)
    # Every update is confirmed, so every one is committed: what the database holds now is all there will be.
    keys = set(await inbox_keys(rig))
    assert {str(u) for u in flood} <= keys  # every update recorded, the refused ones too: none delivered again
    async with rig.db.reading() as uow:
        kinds = (await uow.session.execute(select(OutboxMessage.kind).where(OutboxMessage.recipient == "9101"))).all()
    handled = [kind for (kind,) in kinds if kind == "reply"]  # one answer per /help that was let through
    assert 5 <= len(handled) <= 8  # the burst, and what the bucket refilled meanwhile
    polite = t("zh_CN", "error.rate_limited")
    # The notice queues behind the answers already given (one chat reads in order, about one a second).
    await fake.wait_until(lambda: any(m.text == polite for m in flooder.inbox()), 20)
    notices = [kind for (kind,) in kinds if kind == "notice"]
    assert len(notices) == 1 and [m.text for m in flooder.inbox()].count(polite) == 1  # told once, and only once
    assert str(calm) in keys
    assert neighbour.inbox()[0].text == t("zh_CN", "welcome")


async def test_citizen_menus_per_language_and_a_staff_menu_after_join(
    rig: Rig, fake: FakeBotAPI, t: Translator
) -> None:
    await fake.wait_until(lambda: len(fake.calls_of("setMyCommands")) >= 3, 10)
    zh = fake.command_descriptions(language_code="zh")
    en = fake.command_descriptions(language_code="en")
    assert list(zh) == list(en) and {"start", "menu", "status", "help", "cancel"} <= set(zh)
    assert zh["status"] == t("zh_CN", "command.status") and en["status"] == t("en", "command.status")
    assert fake.commands_for() == list(zh)  # the default for any other language
    assert "duty" not in zh

    user = fake.user(9201, "en")
    await step(user, lambda: user.text("/start"))
    async with rig.db.reading() as uow:
        unit = (await uow.units.all())[0]
    code = await make_invite(rig.db, unit.code, "leader", timedelta(hours=1), datetime.now(UTC))
    joined = await step(user, lambda: user.text(f"/join {code} Li Ming"))
    async with rig.db.reading() as uow:
        identity = await uow.people.identity("telegram", "9201")
        assert identity is not None
        officer = await uow.officers.of_person(identity.person_id)
    assert officer is not None and officer.role == "leader", [m.text for m in joined]
    scope = {"type": "chat", "chat_id": 9201}
    await fake.wait_until(lambda: bool(fake.commands_for(scope)), 10)
    staff = fake.command_descriptions(scope)
    assert {"duty", "overview", "start", "status"} <= set(staff) and "broadcast" not in staff
    assert staff["duty"] == t("en", "command.duty")
    assert fake.commands_for(scope, "zh") == []  # one menu for the chat, in the officer's language


async def test_a_join_whose_name_comes_in_a_later_message_refreshes_the_menu_too(
    rig: Rig, fake: FakeBotAPI, t: Translator
) -> None:
    """/join CODE without a name asks for it; the menu changes with the message that completes the join, not with
    the /join (Telegram once refreshed on a literal /join only, and a two-step join kept the citizen's menu)."""
    user = fake.user(9211, "zh-hans")
    await step(user, lambda: user.text("/start"))
    async with rig.db.reading() as uow:
        unit = (await uow.units.all())[0]
    code = await make_invite(rig.db, unit.code, "officer", timedelta(hours=1), datetime.now(UTC))
    asked = await step(user, lambda: user.text(f"/join {code}"))
    assert asked[-1].text.startswith(t("zh_CN", "desk.join.ask_name"))
    scope = {"type": "chat", "chat_id": 9211}
    refreshes = len([c for c in fake.calls_of("setMyCommands") if c.params.get("scope") == scope])
    await step(user, lambda: user.text("王 五"))
    await fake.wait_until(lambda: bool(fake.commands_for(scope)), 10)
    assert len([c for c in fake.calls_of("setMyCommands") if c.params.get("scope") == scope]) == refreshes + 1
    assert "duty" in fake.commands_for(scope) and "overview" not in fake.commands_for(scope)


async def test_an_update_aiogram_cannot_read_is_skipped_and_stalls_no_one(
    rig: Rig, fake: FakeBotAPI, t: Translator
) -> None:
    """A newer Bot API or a malformed field must not hold every chat behind it: the unreadable update is logged
    (its id and fields, never the citizen's words) and acknowledged; the ones around it are answered."""
    alice, bob = fake.user(9301), fake.user(9302)
    await step(alice, lambda: alice.text("/start"))
    before = len(bob.inbox())
    broken = fake.push({"message": {"message_id": 1, "date": "yesterday", "chat": {"id": 9303, "type": "private"},
                                    "text": "我的手机 13800138000"}})  # fmt: skip
    after = bob.text("/start")
    reply = await bob.next(before)
    assert reply and t("zh_CN", "consent.agree") in reply[-1].labels
    await fake.wait_until(lambda: fake.confirmed_offset > after, 10)
    assert broken < after and str(broken) not in await inbox_keys(rig)
    assert f"update {broken} cannot be read (message.date" in rig.process.log_text()
    assert "13800138000" not in rig.process.log_text()
