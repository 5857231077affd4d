"""Re-sealing every sealed value with the current key, in batches, while the desk runs (PIPL Art. 51: keys are
changed without losing what they protect).

Each batch is one transaction that takes rows whose value still names another key, opens it with whichever accepted
key sealed it, seals it again with the current key and recomputes the keyed hashes kept beside it. A batch finds its
rows by what they hold, not by a remembered position: a rotation killed half-way simply starts again and finds only
what is left. On PostgreSQL concurrent writers and a second rotation skip the rows a batch holds (SKIP LOCKED)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, func, or_, select

from storage.models import (
    ConfirmedPhone,
    Conversation,
    DataCopy,
    OutboxMessage,
    PushSubscription,
    Ticket,
    TicketErasure,
    TicketEvent,
    WeChatToken,
)
from storage.uow import Database, UnitOfWork


@dataclass(frozen=True)
class SealedColumns:
    """A table's sealed columns, and the keyed hashes computed from what they hold (hash column → sealed column)."""

    model: Any
    columns: tuple[str, ...]
    hashes: dict[str, str] = field(default_factory=dict)
    hashed_part: dict[str, Callable[[str], str]] = field(default_factory=dict)  # hash column → what of the value


def _endpoint(info: str) -> str:
    """A push subscription is found by its endpoint's hash; the sealed value is the whole subscription (JSON)."""
    return str(json.loads(info)["endpoint"])


# Every sealed column the desk has. A new one is added here, or `keys rotate` leaves it on the old key.
SEALED: list[SealedColumns] = [
    SealedColumns(Ticket, ("phone_sealed", "id_number_sealed", "details_sealed"),
                  {"phone_hash": "phone_sealed", "id_number_hash": "id_number_sealed"}),
    SealedColumns(TicketEvent, ("note_sealed",)),
    SealedColumns(Conversation, ("state_sealed",)),
    SealedColumns(WeChatToken, ("token_sealed",)),
    SealedColumns(TicketErasure, ("kept_sealed",)),  # a record a law requires kept after erasure (#16)
    SealedColumns(DataCopy, ("body_sealed",)),  # a /mydata copy not yet fetched (#16)
    SealedColumns(PushSubscription, ("info_sealed",), {"endpoint_hash": "info_sealed"}, {"endpoint_hash": _endpoint}),
    SealedColumns(ConfirmedPhone, ("phone_sealed",)),  # a pending SMS code made before the swap must be asked again
]  # fmt: skip


@dataclass
class RotationReport:
    resealed: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, count: int) -> None:
        self.resealed[what] = self.resealed.get(what, 0) + count

    @property
    def total(self) -> int:
        return sum(self.resealed.values())


def _stale(uow: UnitOfWork, value: str | None) -> bool:
    return bool(value) and not uow.cipher.is_current(str(value))


async def _batch_of(uow: UnitOfWork, sealed: SealedColumns, batch: int) -> int:
    current = uow.cipher.current + ":%"
    model = sealed.model
    conditions = [
        (getattr(model, c).is_not(None)) & (getattr(model, c) != "") & (~getattr(model, c).like(current))
        for c in sealed.columns
    ]
    stmt = select(model).where(or_(*conditions)).limit(batch)
    if not uow.db.sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await uow.session.execute(stmt)).scalars().all()
    for row in rows:
        for column in sealed.columns:
            value = getattr(row, column)
            if _stale(uow, value):
                plain = uow.cipher.decrypt(value)
                setattr(row, column, uow.cipher.encrypt(plain))
                for hashed, source in sealed.hashes.items():
                    if source == column:
                        part = sealed.hashed_part.get(hashed)
                        setattr(row, hashed, uow.cipher.lookup_hash(part(plain) if part else plain))
    return len(rows)


async def _outbox_batch(uow: UnitOfWork, batch: int, after: int) -> tuple[int, int]:
    """Outbox rows carrying a sealed payload: scanned by id (the sealed token sits inside the JSON)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.id > after, cast(OutboxMessage.payload, String).like('%"sealed"%'))
        .order_by(OutboxMessage.id)
        .limit(batch)
    )
    if not uow.db.sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await uow.session.execute(stmt)).scalars().all()
    changed = 0
    for row in rows:
        token = row.payload.get("sealed") if isinstance(row.payload, dict) else None
        if isinstance(token, str) and _stale(uow, token):
            row.payload = {**row.payload, "sealed": uow.cipher.encrypt(uow.cipher.decrypt(token))}
            changed += 1
    return changed, rows[-1].id if rows else after


async def rotate(
    db: Database,
    *,
    batch: int = 500,
    on_batch: Callable[[str, int], None] | None = None,
    tables: Sequence[SealedColumns] | None = None,
) -> RotationReport:
    """Re-seal everything with the current key; returns how many values moved, per table."""
    report = RotationReport()
    for sealed in tables if tables is not None else SEALED:
        name = sealed.model.__tablename__
        while True:
            async with db() as uow:
                count = await _batch_of(uow, sealed, batch)
                await uow.commit()
            if not count:
                break
            report.add(name, count)
            if on_batch is not None:
                on_batch(name, count)
    after = 0
    while True:
        async with db() as uow:
            changed, last = await _outbox_batch(uow, batch, after)
            await uow.commit()
        if changed:
            report.add("outbox", changed)
            if on_batch is not None:
                on_batch("outbox", changed)
        if last == after:
            break
        after = last
    return report


async def remaining(db: Database) -> dict[str, int]:
    """Values still sealed with another key, per table (the outbox counted row by row)."""
    found: dict[str, int] = {}
    async with db.reading() as uow:
        current = uow.cipher.current + ":%"
        for sealed in SEALED:
            left = 0
            for column in sealed.columns:
                value = getattr(sealed.model, column)
                stmt = select(func.count()).where(value.is_not(None), value != "", ~value.like(current))
                left += int((await uow.session.execute(stmt)).scalar_one())
            found[sealed.model.__tablename__] = left
        payloads = (
            await uow.session.execute(
                select(OutboxMessage.payload).where(cast(OutboxMessage.payload, String).like('%"sealed"%'))
            )
        ).scalars()
        found["outbox"] = sum(1 for p in payloads if isinstance(p, dict) and _stale(uow, p.get("sealed")))
    return found
