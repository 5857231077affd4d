"""Tickets and notes written before sealing (#16), sealed as they are written now: the answers of the steps their
kind's interview marks sensitive move from `details` into details_sealed, and free text (the summary, any text
answer, an event's note) keeps phone, ID and card numbers masked with the original sealed beside it, and the names
attachments came with are sealed.

In batches, each its own transaction, so the desk keeps serving. Rows are found by what they hold — a sensitive
answer in plain details, a number that masking would change — never by a mark of progress: a run killed half-way
is simply run again, and a second run finds nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from handlers.conversation.personal import conceal
from handlers.interviews import SEALED_ANSWERS
from handlers.interviews.submit import SUMMARY_KEY
from storage.models import Ticket, TicketEvent
from storage.uow import Database, UnitOfWork

DESCRIPTION = "description"  # the summary's answer on tickets that do not name it


@dataclass
class Sealed:
    tickets: int = 0  # tickets changed
    answers: int = 0  # sensitive answers moved into details_sealed
    texts: int = 0  # free texts masked on tickets, their originals sealed
    files: int = 0  # attachments' names sealed
    notes: int = 0  # event notes masked, their originals sealed


def seal_ticket(uow: UnitOfWork, ticket: Ticket, report: Sealed) -> bool:
    """Seal what `ticket` still holds plain; False when there was nothing."""
    sensitive = SEALED_ANSWERS.get(ticket.kind, frozenset())
    details: dict[str, Any] = dict(ticket.details or {})
    answers = {key: details.pop(key) for key in sorted(sensitive & details.keys())}
    originals: dict[str, str] = {}
    for key, value in list(details.items()):
        if isinstance(value, str) and not key.startswith("_"):
            details[key], original = conceal(value)
            if original is not None:
                originals[key] = original
    summary, original = conceal(ticket.summary or "")
    if original is not None:
        originals[str(details.get(SUMMARY_KEY) or DESCRIPTION)] = original
    files = [a for a in ticket.attachments or [] if isinstance(a, dict)]
    named = sum(1 for a in files if a.get("name"))
    if not answers and not originals and not named:
        return False
    uow.tickets.seal(ticket, answers, originals)
    if named:
        ticket.attachments = []
        uow.tickets.attach(ticket, files)
        report.files += named
    ticket.details, ticket.summary = details, summary
    report.tickets += 1
    report.answers += len(answers)
    report.texts += len(originals)
    return True


def seal_note(uow: UnitOfWork, event: TicketEvent, report: Sealed) -> bool:
    masked, original = conceal(event.note or "")
    if original is None:
        return False
    event.note, event.note_sealed = masked, uow.cipher.encrypt(original)
    report.notes += 1
    return True


Row = TypeVar("Row", Ticket, TicketEvent)


async def seal_existing(
    db: Database, *, batch: int = 200, on_batch: Callable[[str, int], None] | None = None
) -> Sealed:
    """Every ticket and event note still holding plain what is sealed now, sealed; returns what changed."""
    report = Sealed()

    def done(what: str) -> Callable[[int], None]:
        return lambda changed: on_batch(what, changed) if on_batch is not None else None

    await _in_batches(db, lambda uow, after: uow.tickets.page(after, batch), seal_ticket, report, done("tickets"))
    await _in_batches(db, lambda uow, after: uow.tickets.unsealed_notes(after, batch), seal_note, report, done("notes"))
    return report


async def _in_batches(
    db: Database,
    page: Callable[[UnitOfWork, int], Awaitable[Sequence[Row]]],
    seal: Callable[[UnitOfWork, Row, Sealed], bool],
    report: Sealed,
    done: Callable[[int], None],
) -> None:
    """Page after page by id, each its own transaction, until a page comes back empty."""
    after = 0
    while True:
        async with db() as uow:
            rows = await page(uow, after)
            changed = sum(seal(uow, row, report) for row in rows)
            uow.erased = bool(changed)  # plain values were overwritten: SQLite's WAL is emptied of them too
            await uow.commit()
        if not rows:
            return
        after = rows[-1].id
        if changed:
            done(changed)
