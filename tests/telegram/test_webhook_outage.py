"""Webhook mode while PostgreSQL is cut (the TCP relay): an update is never acknowledged before it is committed,
throttling included. Redeliveries of an update answered 503 spend no tokens of the sender's bucket, so the update
is neither refused nor dropped when the database comes back: it is handled, once."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.telegram.updates import update_id_of
from handlers.i18n import Translator
from storage.models import InboxEntry
from tests.tcp_proxy import TcpProxy
from tests.telegram.conftest import Rig, RigFactory, step
from tests.telegram.fake_api import FakeBotAPI


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
