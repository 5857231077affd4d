"""Web chat files no ticket holds are removed after a day (their rows too); a ticket's files stay for good; files the
database does not know (a crash between file and row, a partial upload) are judged the same way. SQLite and
PostgreSQL, with a fake clock."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.channels.webchat.uploads import UploadQuota, Uploads
from storage.models import Ticket, Upload
from storage.uow import Database
from tests.conftest import FakeClock

CHAT = "w" + "ab" * 20
OTHER = "w" + "cd" * 20


def put(root: Path, chat: str, name: str) -> Path:
    path = root / chat / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
    return path


async def test_files_no_ticket_holds_are_removed_after_a_day(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    uploads = Uploads(root, 1024, UploadQuota(per_chat=30, per_address=60, per_address_bytes=10**9,
                                              unattached_bytes=10**9))  # fmt: skip
    start = clock()
    held, dropped, fresh, orphan, held_orphan = (f"{n:032x}.png" for n in range(1, 6))
    async with db() as uow:
        identity = await uow.people.create("webchat", CHAT, "zh_CN", start)
        for name, chat, age in ((held, CHAT, 0), (dropped, CHAT, 0), (fresh, OTHER, 20)):
            put(root, chat, name)
            uow.session.add(
                Upload(chat_id=chat, name=name, address="a" * 64, size=20, created_at=start + timedelta(hours=age))
            )
        ticket = Ticket(
            number="HZ-20261127-0001", kind="dispute", category="land", status="new", citizen_id=identity.person_id,
            summary="", details={}, locale="zh_CN", created_at=start + timedelta(hours=1),
            updated_at=start + timedelta(hours=1),
            attachments=[{"kind": "photo", "ref": f"webchat:{CHAT}/{held}"},
                         {"kind": "photo", "ref": f"webchat:{CHAT}/{held_orphan}"}],
        )  # fmt: skip
        uow.session.add(ticket)
        await uow.commit()
    old = start.timestamp()
    for name in (orphan, held_orphan, ".0123456789abcdef0123456789abcdef.part"):
        os.utime(put(root, CHAT, name), (old, old))  # no row: an upload cut short, or from before the rows

    clock.advance(hours=25)
    removed = await uploads.sweep(db, clock())

    left = sorted(p.name for p in root.rglob("*") if p.is_file())
    assert left == sorted([held, fresh, held_orphan])
    assert removed == 3
    async with db.reading() as uow:
        rows = {u.name: u for u in (await uow.session.execute(select(Upload))).scalars()}
    assert set(rows) == {held, fresh, held_orphan}
    assert rows[held].attached_at is not None and rows[held_orphan].attached_at is not None
    assert rows[fresh].attached_at is None

    clock.advance(hours=25)  # a day later still: the fresh one was never attached; the ticket's stay for good
    assert await uploads.sweep(db, clock()) == 1
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == sorted([held, held_orphan])
    assert await uploads.sweep(db, clock()) == 0
