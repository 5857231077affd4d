"""WeChat's retries against the real bot process: the same MsgId again and again, at once, after a slow turn, after
a kill -9 — one effect each time, and every reply reaches the follower once, in the response or by the
customer-service API, never both. The slow turns hold the SQLite write lock from the test, as a busy database would."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from sqlalchemy import select

from handlers.conversation.i18n import Translator
from storage.models import OutboxMessage
from tests.channels.wechat.conftest import Rig, RigFactory
from tests.channels.wechat.fake_api import FakeWeChat, Follower, Pushed


@contextmanager
def database_held(rig: Rig) -> Iterator[sqlite3.Connection]:
    """Another writer holds the SQLite write lock: the bot's turns wait for it (busy timeout), as behind a slow disk."""
    connection = sqlite3.connect(rig.process.db_path, isolation_level=None, timeout=30)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@asynccontextmanager
async def held_for(rig: Rig, seconds: float) -> AsyncIterator[None]:
    """The lock is taken now and let go `seconds` later, while the test goes on pushing."""
    with database_held(rig) as connection:
        releasing = asyncio.get_running_loop().call_later(seconds, connection.execute, "ROLLBACK")
        try:
            yield
        finally:
            releasing.cancel()
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            connection.execute("BEGIN")  # database_held ends with a rollback of its own


@asynccontextmanager
async def conversation_held(rig: Rig, openid: str, seconds: float) -> AsyncIterator[None]:
    """PostgreSQL: another transaction holds the follower's conversation row, so their next turn waits (a turn
    waits for a row lock as long as it takes; SQLite's writers give up after a few seconds)."""
    import asyncpg

    dsn = rig.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    transaction = connection.transaction()
    await transaction.start()
    locked = await connection.fetch(
        "SELECT c.person_id FROM conversations c JOIN chat_identities i ON i.person_id = c.person_id "
        "WHERE i.channel = 'wechat' AND i.external_id = $1 FOR UPDATE OF c",
        openid,
    )
    assert locked, "the follower has no conversation yet"
    releasing = asyncio.get_running_loop().call_later(seconds, lambda: asyncio.ensure_future(transaction.rollback()))
    try:
        yield
    finally:
        releasing.cancel()
        with contextlib.suppress(Exception):
            await transaction.rollback()
        await connection.close()


async def rows_of(rig: Rig, openid: str) -> list[OutboxMessage]:
    async with rig.db.reading() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.recipient == openid).order_by(OutboxMessage.id)
        return list((await uow.session.execute(stmt)).scalars())


async def settled(rig: Rig, openid: str, within: float = 15.0) -> list[OutboxMessage]:
    for _ in range(int(within * 10)):
        rows = await rows_of(rig, openid)
        if rows and all(r.status == "sent" for r in rows):
            return rows
        await asyncio.sleep(0.1)
    return await rows_of(rig, openid)


def welcomed(texts: list[str], t: Translator) -> bool:
    return any(t("zh_CN", "welcome") in text for text in texts) and any(
        t("zh_CN", "consent.agree") in text for text in texts
    )


async def test_the_same_msgid_three_times_in_a_row_is_one_turn(rig: Rig, wechat: FakeWeChat, t: Translator) -> None:
    follower = rig.follower()
    pushes = [await follower.text("/start", msg_id="9100000000000000001") for _ in range(3)]
    assert all(p.statuses == [200] for p in pushes)
    # The first push was answered on an open connection: the repeats (what concurrent pushes become on a loaded
    # machine, each arriving after the turn ended) hear `success`, so the follower sees one answer.
    assert welcomed([pushes[0].passive or ""], t)
    assert [p.passive for p in pushes[1:]] == [None, None] and [p.bodies for p in pushes[1:]] == [["success"]] * 2
    assert await rig.footprint() == {"inbox": 1, "people": 1, "outbox": 2, "tickets": 0}
    assert {r.status for r in await settled(rig, follower.openid)} == {"sent"}
    assert wechat.customs == []


async def three_at_once(follower: Follower, msg_id: str) -> list[Pushed]:
    return list(await asyncio.gather(*(follower.text("/start", msg_id=msg_id) for _ in range(3))))


def one_answer(pushes: list[Pushed], t: Translator) -> None:
    assert all(p.statuses == [200] for p in pushes)
    answered = [p.passive for p in pushes if p.passive is not None]
    assert len(answered) == 1 and welcomed(answered, t)  # one answer; the others heard `success`
    assert sorted(p.bodies[0] for p in pushes if p.passive is None) == ["success", "success"]


async def test_the_same_msgid_three_times_at_once_is_one_turn(rig: Rig, wechat: FakeWeChat, t: Translator) -> None:
    follower = rig.follower()
    one_answer(await three_at_once(follower, "9100000000000000002"), t)
    assert await rig.footprint() == {"inbox": 1, "people": 1, "outbox": 2, "tickets": 0}
    await asyncio.sleep(1.0)
    assert {r.status for r in await settled(rig, follower.openid)} == {"sent"}
    assert wechat.customs == []


async def test_the_same_msgid_three_times_at_once_while_the_turn_waits_is_one_turn(
    rig: Rig, wechat: FakeWeChat, t: Translator
) -> None:
    follower = rig.follower()
    async with held_for(rig, 1.5):  # all three arrive while their one turn waits for the database
        pushes = await three_at_once(follower, "9100000000000000004")
    one_answer(pushes, t)
    assert await rig.footprint() == {"inbox": 1, "people": 1, "outbox": 2, "tickets": 0}
    await asyncio.sleep(1.0)
    assert wechat.customs == []


async def test_an_answer_whose_connection_closed_goes_by_the_api_once(
    rig: Rig, wechat: FakeWeChat, t: Translator
) -> None:
    follower = rig.follower()
    follower.pusher.timeout, follower.pusher.tries = 0.5, 1  # this WeChat stops listening after half a second
    async with held_for(rig, 1.5):
        first = await follower.text("/start", msg_id="9100000000000000005")
    assert first.statuses == [0] and first.passive is None
    await wechat.wait_until(lambda: len(wechat.customs_to(follower.openid)) >= 2, 15)
    follower.pusher.timeout = 5.0
    retry = await follower.text("/start", msg_id="9100000000000000005")
    assert retry.passive is None and retry.bodies == ["success"]  # never both
    await asyncio.sleep(1.0)
    texts = [c.text for c in wechat.customs_to(follower.openid)]
    assert len(texts) == 2 and welcomed(texts, t)
    assert (await rig.footprint())["inbox"] == 1


async def test_twenty_followers_at_the_same_instant_each_answered_in_the_response(
    rig: Rig, wechat: FakeWeChat, t: Translator
) -> None:
    followers = [rig.follower() for _ in range(20)]
    pushes = await asyncio.gather(*(f.text("/start") for f in followers))
    assert [p.statuses for p in pushes] == [[200]] * 20
    assert all(welcomed([p.passive or ""], t) for p in pushes)
    assert (await rig.footprint())["inbox"] == 20
    assert wechat.customs == []


async def test_a_turn_past_the_budget_answers_success_then_the_api_sends_once(
    rig_factory: RigFactory, wechat: FakeWeChat, t: Translator
) -> None:
    rig = await rig_factory(WECHAT_PASSIVE_BUDGET="1.0")
    follower = rig.follower()
    async with held_for(rig, 2.0):
        pushed = await follower.text("/start")
    assert pushed.statuses == [200] and pushed.bodies == ["success"]  # committed after the budget, before 5 s
    await wechat.wait_until(lambda: len(wechat.customs_to(follower.openid)) >= 2, 15)
    await asyncio.sleep(1.0)
    texts = [c.text for c in wechat.customs_to(follower.openid)]
    assert len(texts) == 2 and welcomed(texts, t)
    assert texts[0].startswith(t("zh_CN", "welcome")[:10])  # in order
    assert {r.status for r in await settled(rig, follower.openid)} == {"sent"}
    assert (await rig.footprint())["inbox"] == 1


async def on_postgres(rig_factory: RigFactory, pg_database: tuple[str, str], t: Translator) -> tuple[Rig, Follower]:
    """A bot on its own PostgreSQL database, and a follower who agreed to the privacy notice."""
    rig = await rig_factory(DATABASE_URL=pg_database[1], SHISHI_DEMO="yes")
    follower = rig.follower()
    await follower.text("/start")
    assert (await follower.text("1")).passive is not None  # "1": agree
    return rig, follower


@pytest.mark.postgres
async def test_a_turn_slower_than_five_seconds_is_answered_to_the_retry(
    rig_factory: RigFactory, pg_database: tuple[str, str], wechat: FakeWeChat, t: Translator
) -> None:
    rig, follower = await on_postgres(rig_factory, pg_database, t)
    async with conversation_held(rig, follower.openid, 6.5):
        pushed = await follower.text("/menu")
    # WeChat gave up on the first try (the bot's 503 or its own five seconds); the retry joined the running turn.
    assert pushed.tries == 2 and pushed.statuses[0] in (503, 0) and pushed.statuses[1] == 200
    assert pushed.passive is not None and t("zh_CN", "menu.title") in pushed.passive
    assert (await rig.footprint())["inbox"] == 3
    await asyncio.sleep(1.0)
    assert wechat.customs == []  # never both


@pytest.mark.slow
@pytest.mark.postgres
async def test_a_turn_slower_than_every_retry_is_taken_then_sent_by_the_api(
    rig_factory: RigFactory, pg_database: tuple[str, str], wechat: FakeWeChat, t: Translator
) -> None:
    rig, follower = await on_postgres(rig_factory, pg_database, t)
    async with conversation_held(rig, follower.openid, 16.0):
        pushed = await follower.text("/menu")
        assert pushed.tries == 3 and pushed.passive is None
        assert pushed.bodies[-1] in ("success", "")  # the last try is taken, so the follower sees no error
    await wechat.wait_until(lambda: len(wechat.customs_to(follower.openid)) >= 1, 15)
    await asyncio.sleep(1.0)
    texts = [c.text for c in wechat.customs_to(follower.openid)]
    assert len(texts) == 1 and t("zh_CN", "menu.title") in texts[0]
    assert (await rig.footprint())["inbox"] == 3


async def test_kill_9_before_the_answer_then_wechat_retries_handled_once(
    rig: Rig, wechat: FakeWeChat, t: Translator
) -> None:
    follower: Follower = rig.follower()
    follower.pusher.tries = 1  # this test plays WeChat's retry itself, after the restart
    with database_held(rig):
        first = asyncio.create_task(follower.text("/start", msg_id="9100000000000000003"))
        await asyncio.sleep(1.5)  # the push is in, its turn waits for the database
        await rig.kill()
    await first
    assert first.result().passive is None
    assert await rig.footprint() == {"inbox": 0, "people": 0, "outbox": 0, "tickets": 0}  # nothing half-written
    await rig.process.astart()
    retry = await follower.text("/start", msg_id="9100000000000000003")
    again = await follower.text("/start", msg_id="9100000000000000003")
    assert welcomed([retry.passive or ""], t) and again.passive in (retry.passive, None)
    assert await rig.footprint() == {"inbox": 1, "people": 1, "outbox": 2, "tickets": 0}
    assert {r.status for r in await settled(rig, follower.openid)} == {"sent"}
    assert wechat.customs == []
