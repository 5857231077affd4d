"""The proof of issue #16: after complete intakes through a real process — every sensitive answer given, and a phone,
a landline, an ID number and a bank card typed into the descriptions — nothing the citizen gave sits in plain text in
the SQLite file, its WAL, the data directory (uploads, keys), the process's log, or a pg_dump of PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from handlers.conversation.i18n import Translator
from handlers.interviews.concern import CONCERN
from handlers.interviews.legal_aid import LEGAL_AID
from handlers.interviews.relief import RELIEF
from storage.migrate import upgrade
from storage.models import Ticket
from tests.channels.telegram.conftest import Rig, RigFactory
from tests.channels.telegram.fake_api import FakeBotAPI
from tests.channels.telegram.walk import Plan, Walker
from tests.support.intake_walks import VALID_ID
from tests.support.scan import pg_dump, scan

MOBILE = "139 1234 5678"
LANDLINE = "0916-3317245"
OTHER_ID = "610702199003071230"  # a second valid number (GB 11643 check digit), in free text
CARD = "6222021234567890128"  # passes Luhn
CONTACT = "+86 138 0013 8000"  # shared as the contact
AMOUNT = "35871.46"

DESCRIPTION = f"骗子让我打到卡{CARD}，他的电话{MOBILE}，我身份证{OTHER_ID}，家里座机{LANDLINE}。"
SUSPECT = f"对方自称客服，电话{MOBILE}"
# What the interviews asked behind the separate consent (PIPL Art. 28-29): as the ticket would have held them.
CHOSEN = {"age": "elderly", "group": "none", "card": "no", "income": "below", "family": "lost_breadwinner"}
PLANS = (
    (CONCERN, Plan(choices={"category": "fraud"}, texts={"fraud_amount": AMOUNT, "fraud_suspect": SUSPECT,
                                                        "description": DESCRIPTION}, phone=CONTACT)),
    (LEGAL_AID, Plan(choices={"special": "none", **{k: CHOSEN[k] for k in ("age", "group", "card", "income")}},
                     texts={"id_number": VALID_ID, "description": DESCRIPTION}, phone=CONTACT)),
    (RELIEF, Plan(choices={"family": CHOSEN["family"]}, texts={"description": DESCRIPTION}, phone=CONTACT)),
)  # fmt: skip


def given() -> list[str]:
    """Every value above, as typed and as a ticket's JSON would have held a chosen answer."""
    pairs = [f'"{k}": "{v}"' for k, v in CHOSEN.items()] + [f'"{k}":"{v}"' for k, v in CHOSEN.items()]
    return [MOBILE, LANDLINE, OTHER_ID, VALID_ID, CARD, CONTACT, AMOUNT, "35,871.46", *pairs]


async def file_everything(rig: Rig, fake: FakeBotAPI, t: Translator) -> None:
    walker = Walker(fake.user(5151), t, "zh_CN")
    menu = await walker.start()
    for interview, plan in PLANS:
        walk = await walker.interview(menu, interview, plan)
        assert any("HZ-" in m.text for m in walk.receipt), f"{interview.name}: no receipt"
        assert set(k for k in CHOSEN if k in {s.key for s in interview.steps}) <= set(walk.steps)
        menu = await walker.hands.type("/menu")
    async with rig.db.reading() as uow:  # everything was kept — sealed, and read back through the accessor
        tickets = list(reversed((await uow.session.execute(select(Ticket).order_by(Ticket.id))).scalars().all()))
        held = [(uow.tickets.answers(ticket), uow.tickets.originals(ticket)) for ticket in tickets]
    assert [t.kind for t in tickets] == [i.kind for i, _ in reversed(PLANS)]
    assert all(originals["description"] == DESCRIPTION for _, originals in held)
    answers = {k: v for a, _ in held for k, v in a.items()}
    assert answers["fraud_amount"] == AMOUNT and {k: answers[k] for k in CHOSEN} == CHOSEN
    assert all(VALID_ID not in t.summary and t.summary != DESCRIPTION for t in tickets)


async def test_nothing_given_is_in_plain_text_on_sqlite(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator
) -> None:
    rig = await rig_factory(TELEGRAM_USER_BURST="200", TELEGRAM_USER_RATE="50", MAX_TICKETS_PER_DAY="10")
    await file_everything(rig, fake, t)
    await rig.stop()  # a checkpoint may or may not run: the WAL is scanned as it was left
    found = scan(given(), paths=[rig.process.data_dir, rig.process.log_path, rig.process.stdout_path])
    assert not found, "\n".join(map(str, found))


@pytest.mark.postgres
async def test_nothing_given_is_in_plain_text_on_postgresql(
    rig_factory: RigFactory, fake: FakeBotAPI, t: Translator, pg_database: tuple[str, str]
) -> None:
    _, url = pg_database
    await asyncio.to_thread(upgrade, url)
    rig = await rig_factory(
        DATABASE_URL=url, reader_url=url, TELEGRAM_USER_BURST="200", TELEGRAM_USER_RATE="50", MAX_TICKETS_PER_DAY="10"
    )
    await file_everything(rig, fake, t)
    await rig.stop()
    dump = await asyncio.to_thread(pg_dump, url)
    assert b"COPY public.tickets" in dump
    found = scan(given(), paths=[rig.process.data_dir, rig.process.log_path], texts={"pg_dump": dump})
    assert not found, "\n".join(map(str, found))
