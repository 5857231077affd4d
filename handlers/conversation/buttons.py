"""Button data: what a button says it does, as one typed value with one encoder and one reader.

On the wire a button is `prefix:part:part…` (Telegram allows 64 bytes; channels sign it). `data("t", "claim",
ticket.id)` writes one; `Data.read(incoming.choice)` reads it once, at the router, and every capability takes the
parts it needs, ids through the one rule of what an id may look like."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SEPARATOR: Final = ":"
MAX_ID_DIGITS: Final = 18  # a BIGINT has 19 digits; no id of ours comes near, and a longer one is forged


def data(prefix: str, *parts: str | int) -> str:
    return SEPARATOR.join((prefix, *(str(p) for p in parts)))


def as_id(text: str) -> int | None:
    """A database id written in button data, or None when the text cannot be one."""
    return int(text) if text.isdigit() and len(text) <= MAX_ID_DIGITS else None


@dataclass(frozen=True)
class Data:
    prefix: str
    parts: tuple[str, ...] = ()

    @classmethod
    def read(cls, raw: str) -> Data:
        prefix, *parts = raw.split(SEPARATOR)
        return cls(prefix, tuple(parts))

    def part(self, index: int) -> str:
        return self.parts[index] if index < len(self.parts) else ""

    def id(self, index: int) -> int | None:
        return as_id(self.part(index))

    def rest(self, index: int) -> str:
        """Everything from part `index` on, as it was written (a value that may itself hold the separator)."""
        return SEPARATOR.join(self.parts[index:])

    def __str__(self) -> str:
        return data(self.prefix, *self.parts)
