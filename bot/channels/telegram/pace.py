"""Telegram's sending limits as reservations on a clock (GCRA): overall, per chat, per group."""

from __future__ import annotations

import time
from collections.abc import Callable

Now = Callable[[], float]

CHAT_RATE = 1.0  # "no more than one message per second in a single chat", short bursts tolerated
CHAT_BURST = 3
GROUP_RATE = 20 / 60  # "no more than 20 messages per minute in the same group"
GROUP_BURST = 3


class Pace:
    """Evenly spaced sending at `rate` per second with up to `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (max(burst, 1) - 1) * self.interval
        self.tat = 0.0  # theoretical arrival time of the next message

    def delay(self, now: float) -> float:
        """Seconds to wait before the next message may go."""
        return self.delay_for(1, now)

    def delay_for(self, count: int, now: float) -> float:
        """Seconds to wait before `count` messages may go at once."""
        return max(self.tat + (count - 1) * self.interval - self.tolerance - now, 0.0)

    def take(self, at: float) -> None:
        """Record a message sent at `at`."""
        self.tat = max(self.tat, at) + self.interval

    def idle(self, now: float) -> bool:
        return self.tat <= now


class ChatPaces:
    """One Pace per chat (and a stricter one per group), forgotten once idle."""

    def __init__(self, clock: Now = time.monotonic) -> None:
        self.clock = clock
        self._chats: dict[str, Pace] = {}
        self._groups: dict[str, Pace] = {}

    @staticmethod
    def is_group(chat_id: str) -> bool:
        return chat_id.startswith("-")

    def _paces(self, chat_id: str) -> list[Pace]:
        paces = [self._chats.setdefault(chat_id, Pace(CHAT_RATE, CHAT_BURST))]
        if self.is_group(chat_id):
            paces.append(self._groups.setdefault(chat_id, Pace(GROUP_RATE, GROUP_BURST)))
        return paces

    def delay(self, chat_id: str) -> float:
        now = self.clock()
        return max(p.delay(now) for p in self._paces(chat_id))

    def take(self, chat_id: str, at: float) -> None:
        for pace in self._paces(chat_id):
            pace.take(at)

    def prune(self) -> None:
        now = self.clock()
        for table in (self._chats, self._groups):
            for key in [k for k, p in table.items() if p.idle(now)]:
                del table[key]
