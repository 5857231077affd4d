"""Retention with a fake clock (#16, PIPL Art. 19): the daily job pseudonymises exactly the tickets whose term (per
kind, from closing, demo/retention.toml) ran out — nothing closed a day later, nothing still open — keeps a legal-aid
decision's record alone, sealed; removes old update keys and settled outbox rows (a broadcast's stays, emptied)
but nothing unsent; tells the admins; and a second run finds nothing left to do."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta

from sqlalchemy import select

from bot.app import DEMO_RETENTION
from handlers.citizen.privacy.retention import apply_retention
from handlers.conversation.turn import Rules
from handlers.tickets.retention import RetentionPolicy
from storage.models import InboxEntry, OutboxMessage, Ticket, TicketErasure
from tests.conftest import DeskDriver, FakeClock
from tests.support.intake_walks import VALID_ID
from tests.support.officer_world import ADMIN_UNIT, PHONE, SUMMARY, UNIT_A, join, load_demo, plant_ticket

RETENTION = tomllib.loads(DEMO_RETENTION.read_text(encoding="utf-8"))
DAY = timedelta(days=1)


async def close(driver: DeskDriver, ticket_id: int, closed_at: object, **fields: object) -> None:
    async with driver.db() as uow:
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None
        ticket.status, ticket.closed_at = "closed", closed_at  # type: ignore[assignment]
        for name, value in fields.items():
            setattr(ticket, name, value)
        await uow.commit()


async def test_retention_purges_exactly_what_expired(driver: DeskDriver, clock: FakeClock) -> None:
    await load_demo(driver)
    admin = await join(driver, "admin-ret", ADMIN_UNIT, "admin", "钱七")
    citizen = driver.chat("citizen-ret")
    await driver.agree(citizen)
    policy = RetentionPolicy.parse(RETENTION)
    start = clock.now
    dispute_cut = policy.closed_before(policy.term("dispute").years, start)
    service_cut = policy.closed_before(policy.term("service").years, start)
    assert service_cut > dispute_cut  # the data file gives enquiries a shorter term: both are exercised

    kinds = {"expired": "dispute", "recent": "dispute", "service": "service", "open": "dispute", "aid": "legal_aid",
             "service_recent": "service"}  # fmt: skip
    planted = {name: await plant_ticket(driver, citizen, UNIT_A, kind=kind) for name, kind in kinds.items()}
    await close(driver, planted["expired"].id, dispute_cut - DAY)
    await close(driver, planted["recent"].id, dispute_cut + DAY)
    await close(driver, planted["service"].id, service_cut - DAY)
    await close(driver, planted["service_recent"].id, service_cut + DAY)
    async with driver.db() as uow:
        sealed_id = uow.cipher.encrypt(VALID_ID)
    await close(driver, planted["aid"].id, dispute_cut - DAY, outcome="legal_aid_granted", id_number_sealed=sealed_id)

    async with driver.db() as uow:
        uow.session.add(InboxEntry(channel="webchat", update_key="old-key", received_at=start - 40 * DAY))
        uow.session.add(InboxEntry(channel="webchat", update_key="new-key", received_at=start - DAY))
        old = start - 200 * DAY
        for status, broadcast in (("sent", None), ("sent", 7), ("pending", None)):
            row = OutboxMessage(channel="webchat", recipient="w-old", payload={"text": SUMMARY}, status=status,
                                broadcast_id=broadcast, not_before=old, created_at=old)  # fmt: skip
            uow.session.add(row)
        await uow.commit()

    rules = Rules(retention=RetentionPolicy.parse(RETENTION))
    report = await apply_retention(driver.db, driver.translator, rules, clock())
    assert (report.tickets, report.kept, report.inbox) == (3, 1, 1)
    assert report.outbox == 2 and report.told == 1

    async with driver.db.reading() as uow:
        erased = {e.ticket_id: e for e in (await uow.session.execute(select(TicketErasure))).scalars()}
        assert set(erased) == {planted["expired"].id, planted["service"].id, planted["aid"].id}
        for name, ticket in planted.items():
            now = await uow.tickets.get(ticket.id)
            assert now is not None
            if ticket.id in erased:
                assert (now.summary, now.phone_sealed, now.phone_masked, now.id_number_sealed) == ("", None, None, None)
                assert now.kind == ticket.kind and now.county == "hantai" and now.status == "closed", name
            else:
                assert now.summary == SUMMARY and uow.cipher.decrypt(now.phone_sealed or "") == PHONE, name
        record = erased[planted["aid"].id]
        assert record.kept_sealed and VALID_ID not in record.kept_sealed
        kept = json.loads(uow.cipher.decrypt(record.kept_sealed))
        assert kept["id_number"] == VALID_ID and kept["outcome"] == "legal_aid_granted"
        assert erased[planted["expired"].id].kept_sealed is None
        keys = set((await uow.session.execute(select(InboxEntry.update_key))).scalars())
        assert "old-key" not in keys and "new-key" in keys
        rows = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.created_at == old))).scalars()
        left = {(r.status, r.broadcast_id): (r.recipient, r.payload) for r in rows}
        assert left == {("sent", 7): ("-", {"text": ""}), ("pending", None): ("w-old", {"text": SUMMARY})}
        total = (await uow.session.execute(select(Ticket.id))).scalars().all()
        assert len(total) == len(planted)  # the ledger still counts every ticket

    told = await driver.replies(admin)
    expected = driver.t("zh_CN", "privacy.retention.report", tickets=3, kept=1, inbox=1, outbox=2, uploads=0, copies=0)
    assert told[-1].text == expected

    again = await apply_retention(driver.db, driver.translator, rules, clock())
    assert not again.anything and again.told == 0

    clock.advance(days=2)  # a day past the recent ones' term: now they go too, and only they
    later = await apply_retention(driver.db, driver.translator, rules, clock())
    assert later.tickets == 2
