"""What the WeChat channel remembers (issue #13): the shared access token, each follower's customer-service window,
and their subscription-notification grants. (What waits for their next message waits on the delivery ladder.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import OutboxMessage, WeChatGrant, WeChatToken, WeChatWindow


@dataclass(frozen=True)
class StoredToken:
    token_sealed: str | None
    expires_at: datetime | None
    version: int
    refreshing_until: datetime | None


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class WeChatRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    # ---- the access token: a compare-and-set on `version`, so N processes fetch it once

    async def token(self, app_id: str) -> StoredToken | None:
        row = (await self.session.execute(select(WeChatToken).where(WeChatToken.app_id == app_id))).scalar_one_or_none()
        if row is None:
            return None
        return StoredToken(row.token_sealed, row.expires_at, row.version, row.refreshing_until)

    async def lease_refresh(self, app_id: str, seen_version: int, now: datetime, lease: timedelta) -> bool:
        """True when this caller may fetch a new token: nobody replaced version `seen_version` meanwhile, and nobody
        else holds an unexpired lease to fetch one."""
        await self.session.execute(
            insert_for(self.dialect, WeChatToken)
            .values(app_id=app_id, version=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["app_id"])
        )
        result = await self.session.execute(
            update(WeChatToken)
            .where(
                WeChatToken.app_id == app_id,
                WeChatToken.version == seen_version,
                or_(WeChatToken.refreshing_until.is_(None), WeChatToken.refreshing_until < now),
            )
            .values(refreshing_until=now + lease, updated_at=now)
        )
        return _rows(result) == 1

    async def store_token(
        self, app_id: str, token_sealed: str, expires_at: datetime, seen_version: int, now: datetime
    ) -> int | None:
        """The new token as version `seen_version + 1`; None when another process stored one first."""
        result = await self.session.execute(
            update(WeChatToken)
            .where(WeChatToken.app_id == app_id, WeChatToken.version == seen_version)
            .values(
                token_sealed=token_sealed,
                expires_at=expires_at,
                version=seen_version + 1,
                refreshing_until=None,
                updated_at=now,
            )
        )
        return seen_version + 1 if _rows(result) == 1 else None

    async def release_lease(self, app_id: str, seen_version: int) -> None:
        await self.session.execute(
            update(WeChatToken)
            .where(WeChatToken.app_id == app_id, WeChatToken.version == seen_version)
            .values(refreshing_until=None)
        )

    # ---- the customer-service window

    async def open_window(self, openid: str, sends: int, seconds: int, now: datetime) -> None:
        """A message, click, follow or scan: the allowance becomes the larger of what is left and what this action
        gives, the deadline the later of the two (WeChat's rule: allowances do not add up)."""
        until = now + timedelta(seconds=seconds)
        row = await self.session.get(WeChatWindow, openid, with_for_update=True)
        if row is None:
            await self.session.execute(
                insert_for(self.dialect, WeChatWindow)
                .values(openid=openid, until=until, sends_left=sends, updated_at=now)
                .on_conflict_do_update(
                    index_elements=["openid"], set_={"until": until, "sends_left": sends, "updated_at": now}
                )
            )
            return
        still_open = row.until > now
        row.sends_left = max(row.sends_left if still_open else 0, sends)
        row.until = max(row.until, until) if still_open else until
        row.updated_at = now

    async def windows(self, openids: Sequence[str]) -> dict[str, WeChatWindow]:
        if not openids:
            return {}
        stmt = select(WeChatWindow).where(WeChatWindow.openid.in_(list(set(openids))))
        return {row.openid: row for row in (await self.session.execute(stmt)).scalars()}

    async def use_send(self, openid: str, now: datetime, count: int = 1) -> bool:
        """Take `count` sends of the window, all or nothing."""
        result = await self.session.execute(
            update(WeChatWindow)
            .where(WeChatWindow.openid == openid, WeChatWindow.until > now, WeChatWindow.sends_left >= count)
            .values(sends_left=WeChatWindow.sends_left - count, updated_at=now)
        )
        return _rows(result) == 1

    async def close_window(self, openid: str, now: datetime) -> None:
        await self.session.execute(
            update(WeChatWindow).where(WeChatWindow.openid == openid).values(sends_left=0, updated_at=now)
        )

    # ---- subscription notifications (订阅通知)

    async def record_grant(self, openid: str, template_id: str, accepted: bool, long_term: bool, now: datetime) -> None:
        row = await self.session.get(WeChatGrant, (openid, template_id), with_for_update=True)
        if not accepted:
            if row is not None:
                await self.session.delete(row)
            return
        if row is None:
            self.session.add(
                WeChatGrant(openid=openid, template_id=template_id, remaining=None if long_term else 1, updated_at=now)
            )
        elif row.remaining is not None:
            row.remaining = None if long_term else row.remaining + 1
            row.updated_at = now
        await self.session.flush()

    async def has_grant(self, openid: str, template_id: str) -> bool:
        row = await self.session.get(WeChatGrant, (openid, template_id))
        return row is not None and (row.remaining is None or row.remaining > 0)

    async def use_grant(self, openid: str, template_id: str, now: datetime) -> bool:
        """One send of a granted template: long-term grants stay, one-time acceptances are used up."""
        row = await self.session.get(WeChatGrant, (openid, template_id), with_for_update=True)
        if row is None or (row.remaining is not None and row.remaining <= 0):
            return False
        if row.remaining is not None:
            row.remaining -= 1
            row.updated_at = now
        return True

    async def drop_grant(self, openid: str, template_id: str) -> None:
        await self.session.execute(
            delete(WeChatGrant).where(WeChatGrant.openid == openid, WeChatGrant.template_id == template_id)
        )

    # ---- what the follower was last shown (the numbered choices they may answer)

    async def recent_shown(self, channel: str, recipient: str, limit: int) -> Sequence[dict[str, Any]]:
        """Payloads (maybe sealed) of the newest rows sent or on their way to this chat, newest first."""
        stmt = (
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient == recipient,
                OutboxMessage.status.in_(["sent", "sending"]),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())
