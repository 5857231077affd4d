"""What a failure may leave in the log: where it happened and what type it was, never what it said. An exception's
message can carry a citizen's words (a parser quoting its input, a database error quoting its parameters), and the
log is outside what is sealed (issue #16; PIPL Art. 51)."""

from __future__ import annotations

import traceback


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from or while handling, oldest first (as Python prints them)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain[::-1]


def withheld_traceback(error: BaseException) -> str:
    """The traceback of `error` and its chain with each exception's type and no message text (nor notes)."""
    lines: list[str] = []
    for index, each in enumerate(_chain(error)):
        if index:
            lines.append("\nThen, while handling or because of the above:\n\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(each.__traceback__))
        kind = type(each)
        lines.append(f"{kind.__module__}.{kind.__qualname__} (its message withheld: it may quote personal data)\n")
    return "".join(lines)
