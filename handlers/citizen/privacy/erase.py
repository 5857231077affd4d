"""Erasure (PIPL Art. 47) and pseudonymisation after retention (Art. 19): one ticket scrubbed down to what the
ledger counts (kind, category, county, dates, status, outcome, a relief amount), and one person's chats and every
row that says who they are or how to reach them. Where a law requires a record of a decision or a payment, that
record alone is kept, sealed (the retention policy names the law)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from handlers.citizen.mytickets import tell_officer
from handlers.conversation.turn import Effects, Turn
from handlers.tickets import lifecycle
from handlers.tickets.retention import Keep, RetentionPolicy
from storage.models import Ticket, TicketErasure

DELETED: Final = "deleted"
RETENTION: Final = "retention"
WITHDRAWN: Final = lifecycle.WITHDRAWN_ERASED  # an open ticket closed because its citizen asked for erasure
ERASED: Final = "data_erased"  # the event of a ticket whose personal data is gone
# What the ledger reads from a ticket's details (the relief amount sums; the units told beside the holder; which
# answer was the category and which the summary); every other answer goes.
KEPT_DETAILS: Final = frozenset({"relief_amount", "copied_units", "_category", "_summary"})
_CHAT: Final = re.compile(r"^w[0-9a-f]{40}$")
_FILE: Final = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,5}$")


def upload_file(root: str, ref: str) -> Path | None:
    """The web chat upload behind an attachment ref `webchat:<chat>/<name>`, when it names one."""
    prefix, _, rest = ref.partition(":")
    chat, _, name = rest.partition("/")
    if not root or prefix != "webchat" or not _CHAT.fullmatch(chat) or not _FILE.fullmatch(name):
        return None
    return Path(root) / chat / name


def remove_files(root: str, refs: list[str]) -> int:
    """Remove the uploads these refs name; a file already gone counts as removed."""
    removed = 0
    for ref in refs:
        path = upload_file(root, ref)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _record(fx: Effects, ticket: Ticket, keep: Keep) -> str:
    """The record a law requires, sealed: the decision or payment, and whom it was for (the ID number)."""
    record: dict[str, Any] = {
        "number": ticket.number,
        "kind": ticket.kind,
        "category": ticket.category,
        "county": ticket.county,
        "status": ticket.status,
        "outcome": ticket.outcome,
        "unit_id": ticket.unit_id,
        "created_at": ticket.created_at.isoformat(),
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
        "relief_amount": (ticket.details or {}).get("relief_amount"),
        "id_number": fx.uow.cipher.decrypt(ticket.id_number_sealed) if ticket.id_number_sealed else None,
    }
    return fx.uow.cipher.encrypt(json.dumps(record, ensure_ascii=False))


async def erase_ticket(fx: Effects, ticket: Ticket, why: str, policy: RetentionPolicy) -> Keep | bool | None:
    """Scrub one ticket; returns the record kept (a Keep), None when nothing had to be kept, False when the ticket
    was erased before."""
    uow = fx.uow
    if await uow.rights.erasure(ticket.id) is not None:
        return False
    uow.erased = True
    keep = policy.keep(ticket)
    refs = [str(a.get("ref")) for a in ticket.attachments or [] if isinstance(a, dict) and a.get("ref")]
    remove_files(fx.rules.uploads_dir, refs)
    kept = _record(fx, ticket, keep) if keep is not None else None
    ticket.summary = ""
    ticket.details = {k: v for k, v in (ticket.details or {}).items() if k in KEPT_DETAILS}
    ticket.details_sealed = None
    ticket.phone_sealed = ticket.phone_hash = ticket.phone_masked = None
    ticket.id_number_sealed = ticket.id_number_hash = None
    ticket.attachments = []
    ticket.township = None
    await uow.rights.scrub_ticket_rows(ticket)
    basis = "; ".join(f"{k}: {v}" for k, v in keep.basis.items())[:120] if keep is not None else None
    await uow.rights.record_erasure(
        TicketErasure(ticket_id=ticket.id, why=why, kept_sealed=kept, kept_basis=basis, erased_at=fx.now)
    )
    await lifecycle.record(uow, ticket, ERASED, actor_person_id=None, now=fx.now, note=why)
    return keep


@dataclass
class Erased:
    withdrawn: list[str]  # numbers of open tickets closed as withdrawn
    tickets: int
    kept: list[tuple[str, Keep]]  # (number, the record kept and its law)
    rows: int
    files: int


async def erase_person(turn: Turn, policy: RetentionPolicy) -> Erased:
    """The person asked for erasure: their open tickets are closed as withdrawn first (the officer in charge is
    told), then every ticket of theirs is scrubbed, then their chats and personal rows go."""
    uow, person_id = turn.uow, turn.person.id
    withdrawn: list[str] = []
    for ticket in await uow.tickets.open_of_citizen(person_id, lifecycle.OPEN):
        locked = await uow.tickets.get_for_update(ticket.id)
        if locked is None or not lifecycle.allowed(locked.status, lifecycle.CANCELLED):
            continue
        await lifecycle.transition(
            uow, locked, lifecycle.CANCELLED, actor_person_id=person_id, now=turn.now, action=WITHDRAWN
        )
        withdrawn.append(locked.number)
        await tell_officer(turn, locked, "privacy.alert.withdrawn")
    kept: list[tuple[str, Keep]] = []
    count = 0
    for ticket_id in await uow.reach.ticket_ids_of(person_id):
        found = await uow.tickets.get_for_update(ticket_id)
        if found is None:
            continue
        result = await erase_ticket(turn, found, DELETED, policy)
        if result is not False:
            count += 1
        if isinstance(result, Keep):
            kept.append((found.number, result))
    identities = list(await uow.people.identities_of(person_id))
    pages = [i.external_id for i in identities if i.channel == "webchat"]
    uploads = await uow.rights.uploads_of(pages)
    files = remove_files(turn.rules.uploads_dir, [f"webchat:{u.chat_id}/{u.name}" for u in uploads])
    rows = await uow.rights.erase_person(person_id, identities, turn.now)
    uow.erased = True
    turn.person.consent_at = None
    turn.person.sensitive_consent_at = None
    turn.person.consent_declined = False
    turn.state.clear()
    turn.state.extra = {}
    return Erased(withdrawn, count, kept, rows, files)
