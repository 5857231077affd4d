"""The web chat: a phone-sized page a government site can embed, with an HTTP API and a WebSocket."""

from bot.channels.webchat.server import WebChat

__all__ = ["WebChat"]
