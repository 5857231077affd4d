"""What the WeChat channel keeps: the shared token, customer-service windows, notification grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UtcDateTime


class WeChatToken(Base):
    """The WeChat access token every process shares (issue #13): one row per AppID. `version` moves with each new
    token, so a refresh is a compare-and-set; `refreshing_until` is the lease of the one process fetching it."""

    __tablename__ = "wechat_tokens"
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sealed: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)
    refreshing_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WeChatWindow(Base):
    """How long, and how many more, customer-service messages WeChat lets us send a follower (an OpenID) after their
    last message, menu click, follow or scan."""

    __tablename__ = "wechat_windows"
    openid: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    sends_left: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WeChatGrant(Base):
    """A follower accepted a subscription-notification template: `remaining` sends (one per acceptance), or None for
    a long-term template, which holds until they refuse it."""

    __tablename__ = "wechat_grants"
    openid: Mapped[str] = mapped_column(String(128), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    remaining: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
