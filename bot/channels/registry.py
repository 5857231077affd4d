"""The channels there are: whether the settings ask for each, and how to build it. Each is imported only when
wanted (aiogram alone takes seconds to import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.base import Channel
from bot.config import Settings
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Clock
from handlers.desk import Desk
from storage.uow import Database


@dataclass(frozen=True)
class Registered:
    """A channel the desk can run: whether the settings ask for it, and how to build it."""

    name: str
    wanted: Callable[[Settings], bool]
    build: Callable[[Desk, Database, Translator, Settings, Clock], Channel]


def _webchat(desk: Desk, db: Database, translator: Translator, settings: Settings, clock: Clock) -> Channel:
    from bot.channels.webchat import WebChat

    return WebChat(desk, db, translator, settings)


def _telegram(desk: Desk, db: Database, translator: Translator, settings: Settings, clock: Clock) -> Channel:
    from bot.channels.telegram import TelegramChannel

    return TelegramChannel(desk, db, translator, settings, signing_secret=db.cipher.hash_key)


def _wechat(desk: Desk, db: Database, translator: Translator, settings: Settings, clock: Clock) -> Channel:
    from bot.channels.wechat import WeChatChannel

    return WeChatChannel(desk, db, translator, settings, clock=clock)


REGISTRY: tuple[Registered, ...] = (
    Registered("webchat", lambda settings: True, _webchat),
    Registered("telegram", lambda settings: settings.telegram_bot_token is not None, _telegram),
    Registered("wechat", lambda settings: settings.wechat_token is not None and bool(settings.wechat_app_id), _wechat),
)


def build_channels(desk: Desk, db: Database, translator: Translator, settings: Settings, clock: Clock) -> list[Channel]:
    return [r.build(desk, db, translator, settings, clock) for r in REGISTRY if r.wanted(settings)]
