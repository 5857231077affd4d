"""What the leaders' dashboard keeps: one-time passes, sessions, the chart images it drew."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ChartImage,
    DashboardPass,
    DashboardSession,
)


class AccessRepository:
    """The dashboard's one-time passes and its sessions, found by the keyed hash of their tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_pass(self, issued: DashboardPass) -> None:
        self.session.add(issued)
        await self.session.flush()

    async def take_pass(self, token_hash: str, purpose: str, now: datetime) -> tuple[DashboardPass | None, str]:
        """Use a pass once: (the pass, "ok"), or (None, "wrong" | "used" | "expired"). The row is locked so two
        browsers racing with one link get one session."""
        stmt = (
            select(DashboardPass)
            .where(DashboardPass.token_hash == token_hash, DashboardPass.purpose == purpose)
            .with_for_update()
        )
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        if found is None:
            return None, "wrong"
        if found.used_at is not None:
            return None, "used"
        if found.expires_at <= now:
            return None, "expired"
        found.used_at = now
        await self.session.flush()
        return found, "ok"

    async def peek_pass(self, token_hash: str, purpose: str, now: datetime) -> str:
        """Whether a pass could still be used, without using it ("ok", "wrong", "used", "expired")."""
        stmt = select(DashboardPass).where(DashboardPass.token_hash == token_hash, DashboardPass.purpose == purpose)
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        if found is None:
            return "wrong"
        if found.used_at is not None:
            return "used"
        return "expired" if found.expires_at <= now else "ok"

    async def open_session(self, opened: DashboardSession) -> None:
        self.session.add(opened)
        await self.session.flush()

    async def session_of(self, token_hash: str, now: datetime) -> DashboardSession | None:
        stmt = select(DashboardSession).where(
            DashboardSession.token_hash == token_hash,
            DashboardSession.ended_at.is_(None),
            DashboardSession.expires_at > now,
            DashboardSession.ends_at > now,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def end_session(self, token_hash: str, now: datetime) -> None:
        await self.session.execute(
            update(DashboardSession).where(DashboardSession.token_hash == token_hash).values(ended_at=now)
        )

    async def forget_before(self, moment: datetime) -> None:
        """Passes and sessions long over are of no use to anyone."""
        await self.session.execute(delete(DashboardPass).where(DashboardPass.expires_at < moment))
        await self.session.execute(delete(DashboardSession).where(DashboardSession.ends_at < moment))


class ChartRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, image: ChartImage, *, forget_before: datetime) -> None:
        await self.session.execute(delete(ChartImage).where(ChartImage.created_at < forget_before))
        self.session.add(image)
        await self.session.flush()

    async def get(self, name: str) -> ChartImage | None:
        return (await self.session.execute(select(ChartImage).where(ChartImage.name == name))).scalar_one_or_none()
