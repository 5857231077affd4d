"""Tickets written before sealing (#16): `python -m bot privacy seal-existing` moves their sensitive answers into
details_sealed and masks the numbers in their free text and notes, the originals sealed beside them. Killed half-way
(kill -9) it is simply run again — `keys rotate` runs it first — and a run after the end finds nothing. Then a scan
of the SQLite files or a pg_dump finds none of the values, and the officer still reads every one through answers()."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers.conversation.personal import mask_numbers
from storage.crypto import FieldCipher
from storage.models import Person, Ticket, TicketEvent
from storage.uow import Database
from tests.support.scan import pg_dump, scan

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "the secret before sealing", "the secret after rotation"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
LEGACY = 24
AMOUNT = "87654.32"
SUSPECT = "6222021234567890128"  # a card number (Luhn): masked in free text
NOTE_ID = "610702199003071230"
FILE_NAME = "王小明身份证正反面.jpg"
FILES = [{"kind": "document", "ref": "BQACAgUAAxkBAAIBhGVlegacy", "name": FILE_NAME, "size": 2048}]


def phone_of(n: int) -> str:
    return f"139{n:08d}"


def summary_of(n: int) -> str:
    return f"对方一直打我电话，我的号码 {phone_of(n)}，请联系"


def legacy(n: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A ticket's kind, its details as written before sealing, and what of them is sensitive."""
    if n % 3 == 0:
        sensitive: dict[str, Any] = {"age": "60plus", "income": "below_min", "assessment": {"outcome": "likely"}}
        return "legal_aid", {"_summary": "description", "special": "none", **sensitive}, sensitive
    if n % 3 == 1:
        sensitive = {"fraud_amount": AMOUNT}
        return "concern", {"_summary": "description", "fraud_suspect": f"卡号 {SUSPECT}", **sensitive}, sensitive
    return "relief", {"_summary": "description", "family": "sick"}, {"family": "sick"}


async def seed(url: str) -> None:
    db = Database(url, FieldCipher.from_secret(OLD))
    async with db() as uow:
        for n in range(LEGACY):
            person = Person(locale="zh_CN", created_at=NOW, consent_declined=False)
            uow.session.add(person)
            await uow.flush()
            kind, details, _ = legacy(n)
            ticket = Ticket(number=f"HZ-20251127-{n:04d}", kind=kind, category="x", county="hantai", status="new",
                            citizen_id=person.id, locale="zh_CN", created_at=NOW, updated_at=NOW,
                            summary=summary_of(n), details=details,
                            attachments=FILES if n % 2 else [])  # fmt: skip
            await uow.tickets.add(ticket)
            uow.session.add(TicketEvent(ticket_id=ticket.id, action="message_in", note=f"身份证 {NOTE_ID}",
                                        citizen_visible=True, created_at=NOW))  # fmt: skip
        await uow.commit()
    await db.dispose()


def environment(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHISHI_", "DATABASE_URL", "TELEGRAM_"))}
    return {**env, "DATABASE_URL": url, "SHISHI_SECRET_KEY": NEW, "SHISHI_OLD_SECRET_KEYS": OLD,
            "SHISHI_DATA_DIR": str(tmp_path / "data"), "SHISHI_DEMO": "no"}  # fmt: skip


async def run(env: dict[str, str], *args: str) -> tuple[str, str]:
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(done.communicate(), 120)
    assert done.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def test_legacy_tickets_are_sealed_resumably_and_the_officer_still_reads_them(
    db_url: str, tmp_path: Path
) -> None:
    await seed(db_url)
    env = environment(db_url, tmp_path)
    sealing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "privacy", "seal-existing", "--batch", "2", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert sealing.stdout is not None and sealing.stderr is not None
    line = await asyncio.wait_for(sealing.stdout.readline(), 60)
    assert line.startswith(b"sealed tickets: "), (await sealing.stderr.read()).decode()
    sealing.send_signal(signal.SIGKILL)  # a batch is committed, then the process dies without a word
    await sealing.wait()

    out, err = await run(env, "keys", "rotate", "--batch", "5")  # seals what is left, then re-seals everything
    assert "sealed" in out and "on another key" in out
    again, _ = await run(env, "privacy", "seal-existing")
    assert (
        "sealed 0 tickets (0 sensitive answers, 0 texts masked, 0 file names) and 0 notes" in again
    )  # nothing left to find

    if db_url.startswith("sqlite"):
        found = scan(
            (AMOUNT, SUSPECT, NOTE_ID, FILE_NAME, *map(phone_of, range(LEGACY))), paths=[tmp_path], texts={"log": err}
        )
    else:
        dump = await asyncio.to_thread(pg_dump, db_url)
        found = scan(
            (AMOUNT, SUSPECT, NOTE_ID, FILE_NAME, *map(phone_of, range(LEGACY))), texts={"pg_dump": dump, "log": err}
        )
    assert not found, [str(f) for f in found]

    db = Database(db_url, FieldCipher.from_secret(NEW))  # the new key alone: everything sealed was re-sealed
    try:
        async with db.reading() as uow:
            tickets = (await uow.session.execute(select(Ticket).order_by(Ticket.number))).scalars().all()
            events = (await uow.session.execute(select(TicketEvent).order_by(TicketEvent.id))).scalars().all()
            assert len(tickets) == LEGACY
            for n, ticket in enumerate(tickets):
                kind, details, sensitive = legacy(n)
                held = uow.tickets.answers(ticket)
                assert {k: held[k] for k in details} == {**details, **{k: mask_numbers(v).text for k, v in
                                                         details.items() if k == "fraud_suspect"}}  # fmt: skip
                assert not sensitive.keys() & ticket.details.keys(), ticket.details
                assert ticket.summary == mask_numbers(summary_of(n)).text != summary_of(n)
                expected = {"description": summary_of(n)}
                if kind == "concern":
                    expected["fraud_suspect"] = f"卡号 {SUSPECT}"
                assert uow.tickets.originals(ticket) == expected
                assert uow.tickets.files(ticket) == (FILES if n % 2 else [])
                assert all("name" not in a for a in ticket.attachments)
            assert [uow.tickets.note_of(e) for e in events] == [f"身份证 {NOTE_ID}"] * LEGACY
            assert all(NOTE_ID not in (e.note or "") for e in events)
    finally:
        await db.dispose()
