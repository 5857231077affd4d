"""Cluster keys tickets share (keyed hashes, never plain values) and the clusters they form."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import aware, insert_for
from storage.models import (
    Cluster,
    ClusterAlert,
    ClusterKey,
    ClusterMember,
    Ticket,
)


class ClusterRepository:
    """Keys tickets share and the clusters they form."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def lock_key(self, key: str) -> None:
        """Till commit, one transaction at a time works on this key (PostgreSQL; SQLite has one writer anyway), so two
        tickets of one key at the same moment cannot both make a cluster."""
        if self.dialect == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))

    async def add_key(self, key: ClusterKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def sharing(self, kind: str, key_hash: str, since: datetime) -> list[tuple[int, int | None, datetime]]:
        """(ticket id, unit id, created) of the tickets with this key opened since `since`, oldest first."""
        stmt = (
            select(ClusterKey.ticket_id, Ticket.unit_id, ClusterKey.created_at)
            .join(Ticket, Ticket.id == ClusterKey.ticket_id)
            .where(ClusterKey.kind == kind, ClusterKey.key_hash == key_hash, ClusterKey.created_at >= since)
            .order_by(ClusterKey.created_at, ClusterKey.ticket_id)
        )
        return [(int(t), u, aware(c) or c) for t, u, c in (await self.session.execute(stmt)).all()]

    async def open_for(self, kind: str, key_hash: str, since: datetime) -> Cluster | None:
        """The cluster of this key still growing: its latest ticket within the window. Locked: two tickets of one
        key at once must not make two clusters (the second waits, then joins)."""
        stmt = (
            select(Cluster)
            .where(Cluster.kind == kind, Cluster.key_hash == key_hash, Cluster.last_at >= since)
            .order_by(Cluster.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, cluster: Cluster) -> Cluster:
        self.session.add(cluster)
        await self.session.flush()
        return cluster

    async def add_member(self, member: ClusterMember) -> bool:
        """False when the ticket is in the cluster already."""
        stmt = (
            insert_for(self.dialect, ClusterMember)
            .values(
                cluster_id=member.cluster_id,
                ticket_id=member.ticket_id,
                unit_id=member.unit_id,
                joined_at=member.joined_at,
            )
            .on_conflict_do_nothing(index_elements=["cluster_id", "ticket_id"])
            .returning(ClusterMember.ticket_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def mark_alerted(self, cluster_id: int, unit_id: int, now: datetime) -> bool:
        """True the first time only: the leaders of a unit hear of a cluster once."""
        stmt = (
            insert_for(self.dialect, ClusterAlert)
            .values(cluster_id=cluster_id, unit_id=unit_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["cluster_id", "unit_id"])
            .returning(ClusterAlert.unit_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def get(self, cluster_id: int, *, lock: bool = False) -> Cluster | None:
        stmt = select(Cluster).where(Cluster.id == cluster_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def members(self, cluster_id: int) -> Sequence[ClusterMember]:
        stmt = select(ClusterMember).where(ClusterMember.cluster_id == cluster_id).order_by(ClusterMember.ticket_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def visible(
        self, units: Collection[int] | None, since: datetime, limit: int = 50
    ) -> list[tuple[Cluster, int]]:
        """Clusters grown since `since` with a ticket in these units (None: any), newest first, with how many of
        their tickets are in those units."""
        inside = func.count(ClusterMember.ticket_id)
        stmt = (
            select(Cluster, inside)
            .join(ClusterMember, ClusterMember.cluster_id == Cluster.id)
            .where(Cluster.last_at >= since)
            .group_by(Cluster.id)
            .order_by(Cluster.last_at.desc(), Cluster.id.desc())
            .limit(limit)
        )
        if units is not None:
            stmt = stmt.where(ClusterMember.unit_id.in_(sorted(units)))
        return [(c, int(n)) for c, n in (await self.session.execute(stmt)).all()]
