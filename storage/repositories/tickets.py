"""Tickets and their append-only events: numbers, lists by officer, unit and citizen, counts, locks."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import FieldCipher
from storage.db import insert_for
from storage.models import Officer, Ticket, TicketCounter, TicketEvent

DUTY_LIMIT = 30
SEALED_ANSWERS = "answers"  # in a ticket's details_sealed: the answers of sensitive steps
ORIGINALS = "originals"  # … and free text as typed, where details/summary hold it masked
FILES = "files"  # … and the names attachments came with, by ref


class TicketRepository:
    def __init__(self, session: AsyncSession, dialect: str, cipher: FieldCipher) -> None:
        self.session, self.dialect, self.cipher = session, dialect, cipher

    def _opened(self, ticket: Ticket) -> dict[str, dict[str, Any]]:
        if not ticket.details_sealed:
            return {}
        opened = json.loads(self.cipher.decrypt(ticket.details_sealed))
        return opened if isinstance(opened, dict) else {}

    def answers(self, ticket: Ticket) -> dict[str, Any]:
        """Every answer kept on the ticket: its plain details (free text with numbers masked) and the answers of
        sensitive steps, opened. Every reader of a ticket's answers asks here, never `details` alone."""
        return {**(ticket.details or {}), **self._opened(ticket).get(SEALED_ANSWERS, {})}

    def originals(self, ticket: Ticket) -> dict[str, str]:
        """Free text as the citizen typed it, by answer key, where the ticket holds it with numbers masked."""
        return dict(self._opened(ticket).get(ORIGINALS, {}))

    def seal(self, ticket: Ticket, answers: Mapping[str, Any], originals: Mapping[str, str]) -> None:
        """Keep `answers` (sensitive steps) and `originals` (free text before masking) sealed on the ticket."""
        self._merge(ticket, {SEALED_ANSWERS: answers, ORIGINALS: originals})

    def _merge(self, ticket: Ticket, parts: Mapping[str, Mapping[str, Any]]) -> None:
        opened = self._opened(ticket)
        merged = {**opened, **{key: {**opened.get(key, {}), **part} for key, part in parts.items()}}
        kept = {k: v for k, v in merged.items() if v}
        ticket.details_sealed = self.cipher.encrypt(json.dumps(kept, ensure_ascii=False)) if kept else None

    def attach(self, ticket: Ticket, files: Iterable[Mapping[str, Any]]) -> None:
        """Files added to the ticket: ref, kind and size kept plain (the card counts them, the upload cleanup finds
        them), the name each came with sealed — a file's name can say whose it is ("张三身份证.jpg")."""
        plain: list[dict[str, Any]] = []
        names: dict[str, str] = {}
        for item in files:
            plain.append({k: v for k, v in item.items() if k != "name"})
            if item.get("name") and item.get("ref"):
                names[str(item["ref"])] = str(item["name"])
        ticket.attachments = [*(ticket.attachments or []), *plain]
        if names:
            self._merge(ticket, {FILES: names})

    def files(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The ticket's attachments with the names they came with, opened."""
        names = self._opened(ticket).get(FILES, {})
        found = [a for a in ticket.attachments or [] if isinstance(a, dict)]
        return [{**a, "name": names[a["ref"]]} if a.get("ref") in names else dict(a) for a in found]

    def note_of(self, event: TicketEvent) -> str | None:
        """An event's note as written (its `note` may hold it with numbers masked)."""
        return self.cipher.decrypt(event.note_sealed) if event.note_sealed else event.note

    async def next_number(self, prefix: str, day: str) -> str:
        """HZ-20261127-0001: one statement bumps the day's counter, so concurrent tickets never share a number."""
        stmt = (
            insert_for(self.dialect, TicketCounter)
            .values(day=day, last=1)
            .on_conflict_do_update(index_elements=["day"], set_={"last": TicketCounter.last + 1})
            .returning(TicketCounter.last)
        )
        seq = (await self.session.execute(stmt)).scalar_one()
        return f"{prefix}-{day}-{seq:04d}"

    async def add(self, ticket: Ticket) -> Ticket:
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def get_for_update(self, ticket_id: int) -> Ticket | None:
        stmt = select(Ticket).where(Ticket.id == ticket_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(self, after: int, limit: int) -> Sequence[Ticket]:
        """Tickets by id after `after`, locked till commit: a batch job's next page."""
        stmt = select(Ticket).where(Ticket.id > after).order_by(Ticket.id).limit(limit).with_for_update()
        return (await self.session.execute(stmt)).scalars().all()

    async def unsealed_notes(self, after: int, limit: int) -> Sequence[TicketEvent]:
        """Events by id after `after` with a note and nothing sealed beside it, locked till commit."""
        stmt = (
            select(TicketEvent)
            .where(TicketEvent.id > after, TicketEvent.note.is_not(None), TicketEvent.note_sealed.is_(None))
            .order_by(TicketEvent.id)
            .limit(limit)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def by_number(self, number: str) -> Ticket | None:
        return (await self.session.execute(select(Ticket).where(Ticket.number == number))).scalar_one_or_none()

    async def of_citizen(self, person_id: int, limit: int = 20) -> Sequence[Ticket]:
        stmt = select(Ticket).where(Ticket.citizen_id == person_id).order_by(Ticket.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def count_created_since(self, person_id: int, since: datetime) -> int:
        stmt = (
            select(func.count()).select_from(Ticket).where(Ticket.citizen_id == person_id, Ticket.created_at >= since)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def append_event(self, event: TicketEvent) -> TicketEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, ticket_id: int, *, citizen_visible_only: bool = False) -> Sequence[TicketEvent]:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        if citizen_visible_only:
            stmt = stmt.where(TicketEvent.citizen_visible.is_(True))
        return (await self.session.execute(stmt.order_by(TicketEvent.id))).scalars().all()

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Ticket))).scalar_one())

    async def assigned(self, officer_id: int, statuses: Collection[str], limit: int = DUTY_LIMIT) -> Sequence[Ticket]:
        """An officer's tickets in `statuses`, the nearest deadline first (tickets without one last)."""
        stmt = (
            select(Ticket)
            .where(Ticket.officer_id == officer_id, Ticket.status.in_(list(statuses)))
            .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def unclaimed(self, unit_id: int, statuses: Collection[str], limit: int = DUTY_LIMIT) -> Sequence[Ticket]:
        stmt = (
            select(Ticket)
            .where(Ticket.unit_id == unit_id, Ticket.officer_id.is_(None), Ticket.status.in_(list(statuses)))
            .order_by(Ticket.urgent.desc(), Ticket.claim_due_at.is_(None), Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def of_unit(self, unit_id: int, statuses: Collection[str], limit: int = DUTY_LIMIT) -> Sequence[Ticket]:
        stmt = (
            select(Ticket)
            .where(Ticket.unit_id == unit_id, Ticket.status.in_(list(statuses)))
            .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def status_counts(
        self, unit_id: int | None = None, *, among: Collection[int] | None = None
    ) -> Sequence[tuple[int | None, str, int]]:
        """(unit id, status, count) for one unit, for the units `among`, or for every unit when neither is given."""
        stmt = select(Ticket.unit_id, Ticket.status, func.count()).group_by(Ticket.unit_id, Ticket.status)
        if unit_id is not None:
            stmt = stmt.where(Ticket.unit_id == unit_id)
        if among is not None:
            stmt = stmt.where(Ticket.unit_id.in_(list(among)))
        return [(u, s, int(n)) for u, s, n in (await self.session.execute(stmt)).all()]

    async def of_units(
        self, unit_ids: Collection[int], statuses: Collection[str], limit: int = DUTY_LIMIT
    ) -> Sequence[Ticket]:
        """Open tickets of several units (a unit and those below it), the nearest deadline first."""
        stmt = (
            select(Ticket)
            .where(Ticket.unit_id.in_(list(unit_ids)), Ticket.status.in_(list(statuses)))
            .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.claim_due_at, Ticket.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def overdue_counts(self, now: datetime, statuses: Collection[str]) -> dict[int | None, int]:
        stmt = (
            select(Ticket.unit_id, func.count())
            .where(Ticket.status.in_(list(statuses)), Ticket.due_at.is_not(None), Ticket.due_at < now)
            .group_by(Ticket.unit_id)
        )
        return {u: int(n) for u, n in (await self.session.execute(stmt)).all()}

    async def open_of_citizen(self, person_id: int, statuses: Collection[str]) -> Sequence[Ticket]:
        stmt = select(Ticket).where(Ticket.citizen_id == person_id, Ticket.status.in_(list(statuses)))
        return (await self.session.execute(stmt.order_by(Ticket.id))).scalars().all()

    async def last_event(self, ticket_id: int, actions: Collection[str]) -> TicketEvent | None:
        stmt = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action.in_(list(actions)))
            .order_by(TicketEvent.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_if_free(self, ticket_id: int) -> Ticket | None:
        """The ticket, locked till commit; None when another transaction holds it (PostgreSQL), so a tick never
        waits on a ticket while it holds follow-up rows — the order an officer's transaction takes is the reverse."""
        stmt = select(Ticket).where(Ticket.id == ticket_id)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_visible_at(self, ticket_id: int) -> datetime | None:
        stmt = select(func.max(TicketEvent.created_at)).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.citizen_visible.is_(True)
        )
        value: datetime | None = (await self.session.execute(stmt)).scalar_one_or_none()
        if value is not None and value.tzinfo is None:  # SQLite drops the zone of an aggregate
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value

    async def contacted(self, ticket: Ticket, since: datetime, statuses: Collection[str]) -> bool:
        """Has anyone but the citizen said something the citizen sees: a visible note or message, or a move to
        one of `statuses` (mediation scheduled, resolved, …)?"""
        stmt = (
            select(TicketEvent.id)
            .where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.citizen_visible.is_(True),
                TicketEvent.created_at >= since,
                TicketEvent.actor_person_id.is_not(None),
                TicketEvent.actor_person_id != ticket.citizen_id,
                or_(TicketEvent.from_status == TicketEvent.to_status, TicketEvent.to_status.in_(list(statuses))),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def duty_of(self, officer: Officer, working: Collection[str], unclaimed: Collection[str]) -> Sequence[Ticket]:
        """The officer's tickets at work and the unit's unclaimed ones."""
        stmt = select(Ticket).where(
            or_(
                and_(Ticket.officer_id == officer.id, Ticket.status.in_(list(working))),
                and_(
                    Ticket.unit_id == officer.unit_id,
                    Ticket.officer_id.is_(None),
                    Ticket.status.in_(list(unclaimed)),
                ),
            )
        )
        return (await self.session.execute(stmt.order_by(Ticket.id))).scalars().all()
