"""Telegram on aiogram 3: long polling or webhook in, the outbox out, Telegram's limits kept."""

from bot.channels.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
