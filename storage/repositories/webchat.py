"""What the web chat reads and keeps besides the outbox rows of a turn: the part of a transcript that is due, and the
uploads with their owners, for the quotas and the clean-up of files no ticket holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, OutboxMessage, Ticket, Upload


async def due_transcript(
    session: AsyncSession,
    channel: str,
    recipient: str,
    *,
    after: int,
    held_since: datetime | None,
    now: datetime,
    limit: int,
) -> list[OutboxMessage]:
    """The messages to show, in id order: up to `limit` after `after` that are due by `now`, and every one at or
    before `after` that was still held at `held_since` (the last look) and has become due since. A row held for
    quiet hours has a smaller id than the replies written after it: this is how it is shown when it is due, and
    only then, without showing anything twice. A row gone on along the delivery ladder (a push, an SMS: the page was
    closed when it was due) shows whenever the page opens."""
    mine = (OutboxMessage.channel == channel) & (OutboxMessage.recipient == recipient)
    later = (
        select(OutboxMessage)
        .where(mine, OutboxMessage.id > after, (OutboxMessage.not_before <= now) | (OutboxMessage.rung != "chat"))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    rows = list((await session.execute(later)).scalars())
    if held_since is not None and held_since < now:
        released = (
            select(OutboxMessage)
            .where(
                mine,
                OutboxMessage.id <= after,
                OutboxMessage.not_before > held_since,
                OutboxMessage.not_before <= now,
            )
            .order_by(OutboxMessage.id)
        )
        rows = [*(await session.execute(released)).scalars(), *rows]
    return rows


@dataclass(frozen=True)
class UploadUsage:
    chat_files: int  # every file of the chat that is still kept
    address_files: int  # since the start of the address window
    address_bytes: int
    unattached_bytes: int  # every file kept that no ticket holds yet, from anyone


async def lock_uploads(session: AsyncSession, dialect: str) -> None:
    """Serialise quota checks across processes for the rest of the transaction (SQLite's write lock already does)."""
    if dialect == "postgresql":
        await session.execute(text("LOCK TABLE uploads IN SHARE ROW EXCLUSIVE MODE"))


async def upload_usage(session: AsyncSession, chat_id: str, address: str, since: datetime) -> UploadUsage:
    chat = select(func.count()).select_from(Upload).where(Upload.chat_id == chat_id)
    by_address = select(func.count(), func.coalesce(func.sum(Upload.size), 0)).where(
        Upload.address == address, Upload.created_at >= since
    )
    unattached = select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.attached_at.is_(None))
    address_files, address_bytes = (await session.execute(by_address)).one()
    return UploadUsage(
        chat_files=int((await session.execute(chat)).scalar_one()),
        address_files=int(address_files),
        address_bytes=int(address_bytes),
        unattached_bytes=int((await session.execute(unattached)).scalar_one()),
    )


async def add_upload(session: AsyncSession, upload: Upload) -> None:
    session.add(upload)
    await session.flush()


async def forget_uploads(session: AsyncSession, names: Iterable[str]) -> None:
    wanted = list(names)
    if wanted:
        await session.execute(delete(Upload).where(Upload.name.in_(wanted)))


async def stale_uploads(session: AsyncSession, before: datetime) -> Sequence[Upload]:
    """Files kept since before `before` that no ticket was found to hold yet."""
    stmt = select(Upload).where(Upload.attached_at.is_(None), Upload.created_at < before).order_by(Upload.id)
    return (await session.execute(stmt)).scalars().all()


async def known_uploads(session: AsyncSession, names: Iterable[str]) -> set[str]:
    wanted = list(names)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update((await session.execute(select(Upload.name).where(Upload.name.in_(chunk)))).scalars())
    return found


async def attachment_refs(session: AsyncSession, changed_since: datetime) -> set[str]:
    """The attachment refs of every ticket changed since then (a ticket takes files when it is opened, and later
    when its citizen adds some), and the web chat images of broadcasts written since then (subscribers open them)."""
    stmt = select(Ticket.attachments).where(Ticket.updated_at >= changed_since)
    refs: set[str] = set()
    for attachments in (await session.execute(stmt)).scalars():
        for item in attachments or []:
            if isinstance(item, dict) and isinstance(item.get("ref"), str):
                refs.add(item["ref"])
    photos = select(Broadcast.photo).where(Broadcast.created_at >= changed_since, Broadcast.photo.like("webchat|%"))
    refs.update(photo.partition("|")[2] for photo in (await session.execute(photos)).scalars() if photo)
    return refs


async def message_for(session: AsyncSession, channel: str, recipient: str, message_id: int) -> OutboxMessage | None:
    """One outbox message, only when it was for this chat."""
    stmt = select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.channel == channel, OutboxMessage.recipient == recipient
    )
    return (await session.execute(stmt)).scalar_one_or_none()
