"""One-time links sent in chat: a login to the dashboard, or one export download. A random token goes in the link;
only its keyed hash is kept; a link works once and for minutes, and for whom the policy still allows."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Final

from storage.models import DashboardPass, DashboardSession
from storage.uow import UnitOfWork

LOGIN: Final = "login"
EXPORT: Final = "export"
PASS_TTL: Final = {LOGIN: timedelta(minutes=10), EXPORT: timedelta(minutes=15)}
SESSION_IDLE: Final = timedelta(minutes=30)  # a dashboard left alone this long asks for a new link
SESSION_MAX: Final = timedelta(hours=8)  # and a working day at most, however busy
KEEP: Final = timedelta(days=7)  # spent passes and ended sessions are forgotten after a week


def token_hash(uow: UnitOfWork, token: str) -> str:
    return uow.cipher.lookup_hash(f"desk:{token}")


async def issue(
    uow: UnitOfWork, person_id: int, purpose: str, now: datetime, params: dict[str, Any] | None = None
) -> str:
    """A new one-time token for this person; the caller puts it in a link."""
    token = secrets.token_urlsafe(24)
    await uow.ledger.access.forget_before(now - KEEP)
    await uow.ledger.access.add_pass(
        DashboardPass(
            token_hash=token_hash(uow, token),
            purpose=purpose,
            person_id=person_id,
            params=params or {},
            created_at=now,
            expires_at=now + PASS_TTL[purpose],
        )
    )
    return token


async def take(uow: UnitOfWork, token: str, purpose: str, now: datetime) -> tuple[DashboardPass | None, str]:
    """Use a token once: (the pass, "ok") or (None, why not: "wrong", "used", "expired")."""
    if not 16 <= len(token) <= 64:
        return None, "wrong"
    return await uow.ledger.access.take_pass(token_hash(uow, token), purpose, now)


async def peek(uow: UnitOfWork, token: str, purpose: str, now: datetime) -> str:
    if not 16 <= len(token) <= 64:
        return "wrong"
    return await uow.ledger.access.peek_pass(token_hash(uow, token), purpose, now)


async def open_session(uow: UnitOfWork, person_id: int, now: datetime) -> str:
    """A dashboard session for this person; the token goes in an HttpOnly cookie."""
    token = secrets.token_urlsafe(32)
    await uow.ledger.access.open_session(
        DashboardSession(
            token_hash=token_hash(uow, token),
            person_id=person_id,
            created_at=now,
            expires_at=now + SESSION_IDLE,
            ends_at=now + SESSION_MAX,
        )
    )
    return token


async def session_person(uow: UnitOfWork, token: str, now: datetime) -> int | None:
    """Whose session this cookie is, moving its idle expiry on; None when it is unknown, over or ended."""
    if not 16 <= len(token) <= 64:
        return None
    found = await uow.ledger.access.session_of(token_hash(uow, token), now)
    if found is None:
        return None
    found.expires_at = min(now + SESSION_IDLE, found.ends_at)
    return found.person_id


async def end_session(uow: UnitOfWork, token: str, now: datetime) -> None:
    await uow.ledger.access.end_session(token_hash(uow, token), now)
