"""The commands menu: citizens' commands per language, and a per-chat menu with the extra commands of staff."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from handlers.conversation.i18n import SUPPORTED, Translator
from handlers.router import menu_for

log = logging.getLogger(__name__)

LANGUAGE_CODE = {"zh_CN": "zh", "en": "en"}  # Telegram keys menus by two-letter ISO 639-1 codes


def commands_for(translator: Translator, locale: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(command=name, description=translator(locale, f"command.{name}")[:256]) for name in names]


async def publish_citizen_menu(bot: Bot, translator: Translator) -> None:
    await bot.set_my_commands(
        commands_for(translator, translator.default, menu_for(None)), scope=BotCommandScopeDefault()
    )
    for locale in SUPPORTED:
        await bot.set_my_commands(
            commands_for(translator, locale, menu_for(None)),
            scope=BotCommandScopeDefault(),
            language_code=LANGUAGE_CODE[locale],
        )


async def publish_chat_menu(bot: Bot, translator: Translator, chat_id: str, role: str | None, locale: str) -> None:
    """A chat scope outranks the default menus in every language, so a staff chat gets its own, in its language."""
    scope = BotCommandScopeChat(chat_id=int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id)
    if role is None:
        await bot.delete_my_commands(scope=scope)
        return
    await bot.set_my_commands(commands_for(translator, locale, menu_for(role)), scope=scope)
