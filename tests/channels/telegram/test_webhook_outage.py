"""Webhook mode while PostgreSQL is cut or its packets are held (the TCP relay): an update is never acknowledged
before it is committed, throttling included, and nothing waits on the database longer than a few seconds.
Redeliveries of an update answered 503 spend no tokens of the sender's bucket, so the update is neither refused nor
dropped when the database comes back: it is handled, once."""

from __future__ import annotations

import time

import aiohttp
from sqlalchemy import select

from bot.channels.telegram.updates import update_id_of
from handlers.conversation.i18n import Translator
from storage.models import InboxEntry
from tests.channels.telegram.conftest import Rig, RigFactory, step
from tests.channels.telegram.fake_api import FakeBotAPI
from tests.support.tcp_proxy import TcpProxy
from tests.support.webchat_client import WebChatClient


async def inbox_ids(rig: Rig) -> list[int]:
    async with rig.db.reading() as uow:
        return [update_id_of(k) for k in (await uow.session.execute(select(InboxEntry.update_key))).scalars()]


async def test_redeliveries_in_an_outage_never_get_a_200_and_the_update_is_handled_once_after(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator, pg_database: tuple[str, str]
) -> None:
    _, direct = pg_database
    proxy = await TcpProxy.before(direct).start()
    try:
        # A bucket of three that hardly refills: the third redelivery would find it empty.
        rig = await rig_factory(
            webhook=True,
            reader_url=direct,
            DATABASE_URL=proxy.through(direct),
            TELEGRAM_USER_BURST="3",
            TELEGRAM_USER_RATE="0.01",
        )
        user = fake.user(8200)
        await step(user, lambda: user.text("/start"))  # one token spent
        before = len(user.inbox())

        await proxy.stop()
        update_id = user.text("/menu")

        def answers() -> list[int]:
            return [status for u, status in fake.webhook_responses if u == update_id]

        await fake.wait_until(lambda: len(answers()) >= 8 or 200 in answers(), 30)  # far past the bucket's tokens
        during = answers()
        assert 200 not in during, f"acknowledged while the database was cut: {during}"
        assert set(during) == {503}
        assert update_id not in await inbox_ids(rig)

        await proxy.start()
        reply = await user.next(before, within=30)
        statuses = answers()
        assert statuses[-1] == 200 and set(statuses[:-1]) == {503}
        assert len(reply) == 1 and t("zh_CN", "menu.title") in reply[0].text  # the menu, not "slow down"
        assert t("zh_CN", "error.rate_limited") not in [m.text for m in user.inbox()]
        assert (await inbox_ids(rig)).count(update_id) == 1
    finally:
        await proxy.stop()


async def test_held_database_packets_get_a_polite_503_within_seconds_and_nothing_twice_after(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator, pg_database: tuple[str, str]
) -> None:
    """The relay holds every packet, as a broken link does (the server neither answers nor refuses): the webhook,
    a web chat message and the health check each answer 503 within a few seconds instead of hanging; once the
    packets flow again, Telegram's redelivery and the page's retry with the same key are each handled once."""
    _, direct = pg_database
    proxy = await TcpProxy.before(direct).start()
    try:
        rig = await rig_factory(webhook=True, reader_url=direct, DATABASE_URL=proxy.through(direct))
        user = fake.user(8300)
        await step(user, lambda: user.text("/start"))
        citizen = WebChatClient(rig.process.url)
        await citizen.open_page()
        await citizen.agree()
        before = len(user.inbox())

        proxy.hold()
        update_id = user.text("/menu")
        started = time.monotonic()
        typed = await citizen.say("/help", key="during-the-hold")
        web_seconds = time.monotonic() - started
        async with aiohttp.ClientSession() as http, http.get(f"{rig.process.url}/healthz") as health:
            health_status = health.status
        await fake.wait_until(lambda: any(u == update_id for u, _ in fake.webhook_responses), 20)
        first_webhook = next(s for u, s in fake.webhook_responses if u == update_id)
        webhook_seconds = time.monotonic() - started

        assert typed.status == 503 and typed.body == {"error": t("zh_CN", "error.internal")}
        assert typed.headers.get("Retry-After")
        assert web_seconds < 8, f"the web chat answered after {web_seconds:.1f}s"
        assert health_status == 503
        assert first_webhook == 503 and webhook_seconds < 20

        proxy.release()
        reply = await user.next(before, within=60)
        again = await citizen.say("/help", key="during-the-hold")  # the page sends the same key again
        assert again.status == 200 and t("zh_CN", "help.text") in again.text
        assert len(reply) == 1 and t("zh_CN", "menu.title") in reply[0].text
        assert [s for u, s in fake.webhook_responses if u == update_id][-1] == 200
        async with rig.db.reading() as uow:
            keys = list((await uow.session.execute(select(InboxEntry.update_key))).scalars())
        assert [update_id_of(k) for k in keys if k[0].isdigit()].count(update_id) == 1  # Telegram's keys
        assert sum(1 for k in keys if k.endswith(":during-the-hold")) == 1
        await citizen.close()
        assert "13800" not in rig.log()
    finally:
        proxy.release()
        await proxy.stop()
