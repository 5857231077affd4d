"""The ledger's own tables: the keys tickets are grouped by and the clusters they form (未诉先办), how often citizens
asked for each convenience measure, the dashboard's one-time login links and sessions, and generated chart images."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, and_
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime
from storage.models.tickets import Ticket

# The ledger reads a year of a city's tickets in one pass: on PostgreSQL this index holds every column its grouping
# and its rates read, so the pass never touches the table (an index-only scan of ~130 bytes a ticket instead of the
# whole row with its sealed fields). The relief amounts come from the granted relief tickets alone.
LEDGER_COLUMNS = (
    "unit_id", "kind", "category", "county", "status", "outcome", "claim_due_at", "claimed_at", "due_at",
    "resolved_at", "rating_treatment", "rating_solved",
)  # fmt: skip
LEDGER_INDEX = Index("ix_tickets_ledger", Ticket.created_at, postgresql_include=list(LEDGER_COLUMNS))
RELIEF_GRANTED = and_(Ticket.kind == "relief", Ticket.outcome == "relief_granted")
RELIEF_INDEX = Index(
    "ix_tickets_relief", Ticket.created_at, postgresql_where=RELIEF_GRANTED, sqlite_where=RELIEF_GRANTED
)


class ClusterKey(Base):
    """One thing a ticket shares with others: a normalised employer, a fraud suspect's account or number, a place and
    category. `key_hash` is a keyed hash (storage/crypto.py lookup_hash): a suspect's number is never stored plain."""

    __tablename__ = "cluster_keys"
    __table_args__ = (Index("ix_cluster_keys_key", "kind", "key_hash", "created_at"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # employer | suspect | place
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # a report may name several accounts
    label: Mapped[str] = mapped_column(String(120))  # what a leader reads: the employer, a masked number, the place
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Cluster(Base):
    """Tickets that share a key within the window of its data file (demo/clusters.toml), seen before they become a
    wave of complaints. `joint_at` is set once an officer links them into one joint case (并案)."""

    __tablename__ = "clusters"
    __table_args__ = (Index("ix_clusters_key", "kind", "key_hash", "last_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the first member ticket's creation
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # the latest member ticket's creation
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    joint_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    joint_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ClusterMember(Base):
    """A ticket in a cluster, the unit that held it when it joined, and whether it is in the joint case yet."""

    __tablename__ = "cluster_members"
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    linked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ClusterAlert(Base):
    """The leaders of one unit were told of one cluster: the primary key is what makes it once."""

    __tablename__ = "cluster_alerts"
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MeasureAsk(Base):
    """How often citizens asked for a convenience measure (a guide entry, by its stable code: loading the guide
    again gives entries new ids) on one local day: opened its card, or found it by a search."""

    __tablename__ = "measure_asks"
    entry_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)  # YYYY-MM-DD, local
    way: Mapped[str] = mapped_column(String(8), primary_key=True)  # view | search
    count: Mapped[int] = mapped_column(Integer)


class DashboardPass(Base):
    """A one-time login link to the dashboard (purpose `login`) or to one export download (`export`, with the
    period and filters in `params`), sent in chat. Only a keyed hash of its token is kept."""

    __tablename__ = "dashboard_passes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DashboardSession(Base):
    """A signed-in dashboard browser: a keyed hash of the cookie's token, whose it is, and until when (short; each
    request moves it on, up to a hard limit from the login)."""

    __tablename__ = "dashboard_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChartImage(Base):
    """A chart drawn for one person's /ledger (PNG): the web chat shows it at /media/<name>, Telegram uploads it.
    Kept a day."""

    __tablename__ = "chart_images"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
