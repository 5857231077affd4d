"""A conversation turn with no database behind it, for unit tests of the engine, inputs and rendering: the person
and their state live in memory, and what the turn says is read straight from its outbox composer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.i18n import load_translator
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Incoming, Reply
from handlers.conversation.turn import Rules, State, Turn
from storage.models import ChatIdentity, Conversation, Person

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Hanzhong, a Friday
_translator: Translator | None = None


def translator() -> Translator:
    global _translator
    if _translator is None:
        _translator = load_translator()
    return _translator


class PlainOutbox:
    """A row sealed at rest (a summary, a revealed number) stays as it is: a unit test holds no key and no rows."""

    @staticmethod
    def seal(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    @staticmethod
    def open(payload: dict[str, Any]) -> dict[str, Any]:
        return payload


class NoDatabase:
    """Stands where a unit of work would; anything that reaches for the database fails the test loudly."""

    outbox = PlainOutbox()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a unit test reached for the database ({name})")


@dataclass
class Chat:
    """One chat's memory across turns: its person, its conversation state, and every reply so far."""

    interviews: dict[str, Any] = field(default_factory=dict)
    locale: str = "zh_CN"
    now: datetime = NOW
    state: State = field(default_factory=State)
    person: Person = field(init=False)
    replies: list[Reply] = field(default_factory=list)
    keys: int = 0

    def __post_init__(self) -> None:
        self.person = Person(id=1, locale=self.locale, created_at=self.now, consent_declined=False)
        self.person.consent_at = self.now

    def turn(self, **incoming: Any) -> Turn:
        self.keys += 1
        return Turn(
            uow=NoDatabase(),  # type: ignore[arg-type]
            incoming=Incoming("webchat", "unit", f"k{self.keys}", **incoming),
            identity=ChatIdentity(id=1, person_id=1, channel="webchat", external_id="unit"),
            person=self.person,
            conversation=Conversation(person_id=1),
            state=self.state,
            translator=translator(),
            rules=Rules(),
            now=self.now,
            interviews=self.interviews,
        )

    def said(self, turn: Turn) -> list[Reply]:
        """What the turn queued for this chat, in order (kept in `replies` too)."""
        found = [Reply.from_payload(row.payload) for row in turn.outbox.pending]
        self.replies.extend(found)
        return found

    def t(self, msgid: str, **params: object) -> str:
        return translator()(self.locale, msgid, **params)
