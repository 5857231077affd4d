"""What a channel is.

A channel turns what its platform delivers into one `Incoming`, hands it to the desk, acknowledges the platform only
after the commit, and renders outbox rows back through its `transport`, which the outbox sender drives. The
composition root (bot/app.py) builds every registered channel (bot/channels/registry.py) whose settings are present
and treats them all alike: install routes, connect to the sender, start, stop taking work, close once the sender has
finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from handlers.delivery import Delivery
from handlers.desk import Handled

if TYPE_CHECKING:
    from bot.sender import OutboxSender, Transport


class Channel:
    """The shared part of every channel: its name, its transport and what it does once a turn has committed."""

    name: str
    transport: Transport

    def __init__(self) -> None:
        # Set by `connect`: replies a turn leased for this chat go out at once; other rows wake the sender's loops.
        self.send_now: Callable[[Sequence[Delivery]], None] | None = None
        self.wake: Callable[[], None] = lambda: None
        self.on_handled: list[Callable[[Handled], object]] = []

    def transports(self) -> list[Transport]:
        """What the outbox sender drives for this channel: its transport, and any rung of the delivery ladder it
        serves besides (WeChat's subscription notifications for a person's other chats)."""
        return [self.transport]

    def install(self, app: web.Application) -> None:
        """Add the channel's routes (webhooks, pages) to the one HTTP server."""

    def connect(self, sender: OutboxSender) -> None:
        self.send_now = partial(sender.send_now, self.name)
        self.wake = partial(sender.wake, self.name)
        self.on_handled.append(partial(wake_for, sender))

    def committed(self, handled: Handled) -> None:
        """After the desk committed a turn of this channel: send the replies it took, wake the loops for the rest."""
        if handled.taken and self.send_now is not None:
            self.send_now(handled.taken)
        for callback in self.on_handled:
            callback(handled)

    async def start(self) -> None:
        """Begin taking work from the platform (polling, registering a webhook)."""

    async def stop(self, grace: float) -> None:
        """Take no new work; what is being handled finishes within `grace`."""

    async def close(self) -> None:
        """After the sender has finished: release connections."""


def wake_for(sender: OutboxSender, handled: Handled) -> None:
    """A turn may queue rows for other chats and channels (an officer's alert): wake the loops that claim those."""
    for channel in handled.left_for_sender:
        sender.wake(channel)
