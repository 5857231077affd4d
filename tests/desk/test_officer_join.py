"""Joining: the `invite` command line, /join in a chat, refusals, the guessing limit, and invites made in chat."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from handlers.conversation.messages import Incoming
from handlers.conversation.turn import Rules
from handlers.desk import Desk
from handlers.staff import invites
from storage.crypto import FieldCipher
from storage.models import AuditEntry, Invite, Officer, OutboxMessage
from storage.uow import Database
from tests.conftest import TEST_SECRET, DeskDriver, FakeClock
from tests.support.officer_world import invite_code, join, load_demo, officer_of, person_of

ROOT = Path(__file__).resolve().parents[2]


def _cli(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHISHI_", "DATABASE_URL", "TELEGRAM_"))}
    env.update({"DATABASE_URL": url, "SHISHI_SECRET_KEY": TEST_SECRET, "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, "-m", "bot", "invite", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_prints_a_one_time_code_last_and_join_links_the_chat(
    sqlite_url: str, tmp_path: Path, translator, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    db = Database(sqlite_url, FieldCipher.from_secret(TEST_SECRET))
    driver = DeskDriver(Desk(db, translator, Rules(), clock), db, translator)
    try:
        await load_demo(driver)
        made = _cli(tmp_path, sqlite_url, "--unit", "hantai-justice", "--role", "leader", "--expires", "48h")
        assert made.returncode == 0, made.stderr
        code = made.stdout.strip().splitlines()[-1]
        assert len(invites.normalise(code)) == invites.CODE_LENGTH
        async with db.reading() as uow:
            row = (await uow.session.execute(select(Invite))).scalar_one()
        assert row.code_hash == db.cipher.lookup_hash(invites.normalise(code)) and code not in row.code_hash
        assert row.role == "leader"

        chat = driver.chat("new-leader")
        done = (await driver.say(chat, f"/join {code.lower()} 赵六"))[-1]
        assert done.menu == "leader"  # the chat now has a leader's command menu
        assert "赵六" in done.text and "汉台区司法局" in done.text
        officer = await officer_of(driver, chat)
        assert (officer.role, officer.name) == ("leader", "赵六")

        again = (await driver.say(driver.chat("someone-else"), f"/join {code} 钱七"))[-1]
        assert again.text == driver.t("zh_CN", "desk.join.used")

        wrong_unit = _cli(tmp_path, sqlite_url, "--unit", "atlantis", "--role", "officer")
        assert wrong_unit.returncode == 1 and "atlantis" in wrong_unit.stderr
        wrong_ttl = _cli(tmp_path, sqlite_url, "--unit", "hantai-justice", "--role", "officer", "--expires", "99y")
        assert wrong_ttl.returncode == 1 and "expiry" in wrong_ttl.stderr
    finally:
        await db.dispose()


async def _failures(driver: DeskDriver, person: int) -> int:
    async with driver.db.reading() as uow:
        stmt = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor_person_id == person, AuditEntry.action == invites.FAILED_JOIN)
        )
        return int((await uow.session.execute(stmt)).scalar_one())


async def test_wrong_codes_are_refused_and_five_lock_the_person_out_across_processes(driver: DeskDriver) -> None:
    await load_demo(driver)
    guesser = driver.chat("guesser")
    other_process = DeskDriver(
        Desk(driver.db, driver.translator, driver.desk.rules, driver.desk.clock), driver.db, driver.translator
    )
    wrong = driver.t("zh_CN", "desk.join.wrong")
    for attempt in range(invites.MAX_FAILURES):
        talker = driver if attempt % 2 else other_process
        reply = (await talker.say(guesser, f"/join ABCD-EFGH-JK{attempt:02d} 某人", key=f"guess-{attempt}"))[-1]
        assert reply.text == wrong
    assert await _failures(driver, await person_of(driver, guesser)) == invites.MAX_FAILURES
    good = await invite_code(driver, "hantai-justice", "officer")
    locked = (await driver.say(guesser, f"/join {good} 某人"))[-1]
    assert locked.text == driver.t("zh_CN", "desk.join.locked")
    async with driver.db.reading() as uow:
        assert await uow.officers.of_person(await person_of(driver, guesser)) is None
    # The limit is per person and per hour: someone else joins with that code, the guesser again an hour later.
    await join(driver, "honest", "hantai-justice", "officer", "老实人")
    driver.desk.clock.advance(hours=1, seconds=1)  # type: ignore[attr-defined]
    later = await invite_code(driver, "hantai-justice", "officer")
    assert (await driver.say(guesser, f"/join {later} 某人"))[-1].menu == "officer"


async def test_expired_code_and_a_name_asked_for(driver: DeskDriver) -> None:
    await load_demo(driver)
    code = await invites.make_invite(driver.db, "nanzheng-court", "officer", timedelta(hours=1), driver.desk.clock())
    driver.desk.clock.advance(hours=1)  # type: ignore[attr-defined]
    late = driver.chat("late")
    assert (await driver.say(late, f"/join {code} 孙八"))[-1].text == driver.t("zh_CN", "desk.join.expired")

    fresh = await invite_code(driver, "nanzheng-court", "officer")
    asked = (await driver.say(late, f"/join {fresh}"))[-1]
    assert asked.text == driver.t("zh_CN", "desk.join.ask_name")
    silly = (await driver.say(late, "😀😀"))[-1]
    assert silly.text.startswith(driver.t("zh_CN", "desk.join.bad_name"))
    done = (await driver.say(late, "  孙   八 "))[-1]
    assert done.menu == "officer"
    assert (await officer_of(driver, late)).name == "孙 八"
    usage = (await driver.say(driver.chat("curious"), "/join"))[-1]
    assert usage.text == driver.t("zh_CN", "desk.join.usage")
    already = (await driver.say(late, f"/join {await invite_code(driver, 'city-court', 'admin')} 孙八"))[-1]
    assert already.text.startswith(driver.t("zh_CN", "desk.join.already", name="孙 八", unit="南郑区人民法院")[:6])
    assert (await officer_of(driver, late)).role == "officer"


async def test_admins_make_invites_in_chat_and_nobody_else_can(driver: DeskDriver) -> None:
    await load_demo(driver)
    admin = await join(driver, "admin", "city-intake", "admin", "钱七")
    officer = await join(driver, "plain", "hantai-justice", "officer", "张三")
    citizen = driver.chat("citizen")
    refused = driver.t("zh_CN", "desk.command_refused")
    assert (await driver.say(officer, "/invite hantai-court officer"))[-1].text == refused
    assert (await driver.say(citizen, "/invite hantai-court officer"))[-1].text == refused
    assert (await driver.say(admin, "/invite"))[-1].text == driver.t("zh_CN", "desk.invite.usage")
    assert (await driver.say(admin, "/invite atlantis"))[-1].text == driver.t(
        "zh_CN", "desk.invite.bad_unit", code="atlantis"
    )
    assert (await driver.say(admin, "/invite hantai-court boss"))[-1].text == driver.t("zh_CN", "desk.invite.bad_role")
    assert (await driver.say(admin, "/invite hantai-court leader 90d"))[-1].text == driver.t(
        "zh_CN", "desk.invite.bad_ttl"
    )
    made = (await driver.say(admin, "/invite hantai-court leader 24h"))[-1]
    code = next(line for line in made.text.splitlines() if re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", line))
    newcomer = driver.chat("newcomer", language="en")
    done = (await driver.say(newcomer, f"/join {code} Judge Li"))[-1]
    assert done.text.startswith("Welcome, Judge Li!") and "Hantai District People's Court" in done.text
    joined = await officer_of(driver, newcomer)
    assert joined.role == "leader"
    async with driver.db.reading() as uow:
        rows = (await uow.session.execute(select(Officer))).scalars().all()
        plain = (await uow.session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    assert len(rows) == 3 and plain > 0


async def test_a_channel_learns_which_chats_must_refresh_their_commands(driver: DeskDriver) -> None:
    await load_demo(driver)
    chat = driver.chat("telegram-officer", channel="telegram")
    code = await invite_code(driver, "hantai-court", "officer")
    asked = await driver.desk.handle(
        Incoming(channel="telegram", chat_id=chat.chat_id, update_key="j1", text=f"/join {code}")
    )
    assert asked.commands_changed == set()
    named = await driver.desk.handle(Incoming(channel="telegram", chat_id=chat.chat_id, update_key="j2", text="周九"))
    assert named.commands_changed == {("telegram", chat.chat_id)}
