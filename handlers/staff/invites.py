"""One-time invite codes that turn a chat's person into an officer; only a keyed hash of a code is stored."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from handlers.tickets.policy import Role
from storage.models import Invite, Officer, Unit
from storage.uow import Database, UnitOfWork

# No 0/O, 1/I/L: a code read aloud over the phone or copied by hand should not be ambiguous.
ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 12  # 31**12 ≈ 2**59 codes, against at most MAX_FAILURES guesses per person per hour
DEFAULT_TTL: Final = timedelta(hours=72)
MAX_TTL: Final = timedelta(days=30)
MAX_FAILURES: Final = 5
MAX_FAILURES_PER_ORIGIN: Final = 10  # an office's shared address may hold a few people joining on the same day
MAX_FAILURES_OVERALL: Final = 60  # beyond this in an hour someone is guessing: joining waits, /invite still works
FAILURE_WINDOW: Final = timedelta(hours=1)
FAILED_JOIN: Final = "join_failed"


class InviteError(ValueError):
    pass


@dataclass(frozen=True)
class Checked:
    """The outcome of looking a code up: the invite, or why it cannot be used (wrong, used, expired)."""

    invite: Invite | None
    problem: str | None


def normalise(code: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", code).upper()


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def parse_ttl(text: str) -> timedelta:
    """'72h', '3d', '90m' → a duration between one minute and thirty days."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([mhd])\s*", text.lower())
    if not match:
        raise InviteError(f"expiry {text!r}: use a number and m, h or d, such as 72h")
    amount, unit = int(match[1]), match[2]
    ttl = (
        timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
    )
    if not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise InviteError(f"expiry {text!r}: between 1m and 30d")
    return ttl


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InviteError(f"role {text!r}: one of {', '.join(r.value for r in Role)}") from None


async def create_invite(uow: UnitOfWork, unit: Unit, role: Role, ttl: timedelta, now: datetime) -> str:
    code = new_code()
    await uow.officers.add_invite(
        Invite(
            code_hash=uow.cipher.lookup_hash(normalise(code)),
            unit_id=unit.id,
            role=role.value,
            expires_at=now + ttl,
            created_at=now,
        )
    )
    return code


async def make_invite(db: Database, unit_code: str, role: str, ttl: timedelta, now: datetime) -> str:
    """For the command line: one committed invite, its code returned (and never stored in clear)."""
    wanted = parse_role(role)
    async with db() as uow:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            raise InviteError(f"unknown unit {unit_code!r}; see `python -m bot units list`")
        code = await create_invite(uow, unit, wanted, ttl, now)
        await uow.commit()
        return code


def origin_key(uow: UnitOfWork, origin: str | None) -> str | None:
    """Where a guess came from, as a keyed hash: counted, never stored as it is."""
    return uow.cipher.lookup_hash(f"origin:{origin}") if origin else None


async def locked_out(uow: UnitOfWork, person_id: int, now: datetime, origin: str | None = None) -> bool:
    """Counted in the database, so the limits hold across processes and restarts: per person, per origin (a fresh
    web chat session is a fresh person, not a fresh address) and for everyone together."""
    since = now - FAILURE_WINDOW
    if await uow.audit.count(person_id, FAILED_JOIN, since) >= MAX_FAILURES:
        return True
    key = origin_key(uow, origin)
    if key is not None and await uow.audit.count_where(FAILED_JOIN, since, origin=key) >= MAX_FAILURES_PER_ORIGIN:
        return True
    return await uow.audit.count_where(FAILED_JOIN, since) >= MAX_FAILURES_OVERALL


async def check(uow: UnitOfWork, code: str, now: datetime) -> Checked:
    cleaned = normalise(code)
    if len(cleaned) != CODE_LENGTH:
        return Checked(None, "wrong")
    invite = await uow.officers.invite_by_hash(uow.cipher.lookup_hashes(cleaned))
    if invite is None:
        return Checked(None, "wrong")
    if invite.used_at is not None:
        return Checked(None, "used")
    if invite.expires_at <= now:
        return Checked(None, "expired")
    return Checked(invite, None)


async def record_failure(uow: UnitOfWork, person_id: int, now: datetime, origin: str | None = None) -> None:
    await uow.audit.add(person_id, FAILED_JOIN, None, now, origin=origin_key(uow, origin))


async def redeem(uow: UnitOfWork, invite: Invite, person_id: int, name: str, now: datetime) -> Officer:
    """Use the invite once and make the person an officer of its unit (a former officer's row comes back)."""
    invite.used_at, invite.used_by_person_id = now, person_id
    officer = await uow.officers.of_person_any(person_id)
    if officer is None:
        officer = await uow.officers.add(
            Officer(
                person_id=person_id,
                unit_id=invite.unit_id,
                role=invite.role,
                name=name,
                active=True,
                created_at=now,
            )
        )
    else:
        officer.unit_id, officer.role, officer.name, officer.active = invite.unit_id, invite.role, name, True
    await uow.audit.add(person_id, "joined", None, now)
    await uow.flush()
    return officer
