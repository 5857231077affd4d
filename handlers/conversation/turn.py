"""One turn of a conversation: the person, their state, the clock, the catalog, and what goes out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from handlers.conversation.danger import Lexicon
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Incoming, Reply
from handlers.conversation.outbox import PRIORITY_REPLY, Outbox
from handlers.tickets.deadlines import Deadlines, default_deadlines
from handlers.tickets.retention import RetentionPolicy
from storage.models import ChatIdentity, Conversation, OutboxMessage, Person
from storage.uow import UnitOfWork

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Rules:
    """The settings handlers need, as plain values (bot/ builds this from its Settings)."""

    ticket_prefix: str = "HZ"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    max_tickets_per_day: int = 5
    emergency_words: Mapping[str, Lexicon] = field(default_factory=dict)
    deadlines: Deadlines = field(default_factory=default_deadlines)
    citizen_quiet: str = "21:00-08:00"  # local hours with nothing for citizens that is not urgent (local policy)
    public_url: str = ""  # where this desk's HTTP server is reached from outside, for links sent in chat (#17)
    clusters: Mapping[str, Any] = field(default_factory=dict)  # the cluster thresholds' data file, parsed (#17)
    privacy_contact: str = ""  # whom a citizen asks about their personal data, named in /privacy (#16)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy.promised)  # terms per ticket kind (#16)
    uploads_dir: str = ""  # where the web chat keeps uploads, so erasure removes a person's files (#16)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass
class State:
    """Where the person stands: the interview and step, the answers so far, and the way back."""

    interview: str | None = None
    step: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)
    editing: bool = False
    fails: int = 0
    pending: str | None = None  # an interview waiting for consent
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> State:
        if not raw:
            return cls()
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def clear(self) -> None:
        self.interview, self.step, self.answers, self.trail = None, None, {}, []
        self.editing, self.fails, self.pending = False, 0, None


class Effects:
    """What a use case may touch inside its one transaction: the unit of work, the catalog, the rules, the moment it
    runs at, and the outbox composer. A conversation turn is one; a follow-up tick is another. Events recorded on
    the unit of work reach `subscribers` at once, with these effects."""

    def __init__(
        self,
        uow: UnitOfWork,
        translator: Translator,
        rules: Rules,
        now: datetime,
        subscribers: Subscribers | None = None,
    ) -> None:
        self.uow, self.translator, self.rules, self.now = uow, translator, rules, now
        self.outbox = Outbox(uow, now)
        if subscribers is not None:
            uow.publish = partial(publish, self, subscribers)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.rules.zone)


Subscriber = Callable[[Effects, Any], Awaitable[None]]
Subscribers = Mapping[type, Sequence[Subscriber]]


async def publish(effects: Effects, subscribers: Subscribers, event: object) -> None:
    """Every subscriber of the event's type, in order, inside the same transaction."""
    for subscriber in subscribers.get(type(event), ()):
        await subscriber(effects, event)


class Turn(Effects):
    """One message from a chat: who wrote, their conversation state, the interviews the desk runs."""

    def __init__(
        self,
        *,
        uow: UnitOfWork,
        incoming: Incoming,
        identity: ChatIdentity,
        person: Person,
        conversation: Conversation,
        state: State,
        translator: Translator,
        rules: Rules,
        now: datetime,
        interviews: Mapping[str, object] | None = None,
        subscribers: Subscribers | None = None,
    ) -> None:
        super().__init__(uow, translator, rules, now, subscribers)
        self.incoming = incoming
        self.identity = identity
        self.person = person
        self.conversation = conversation
        self.state = state
        self.interviews = interviews or {}  # name → Interview; engine.current() reads it

    @property
    def locale(self) -> str:
        return self.person.locale

    def t(self, msgid: str, **params: object) -> str:
        return self.translator(self.person.locale, msgid, **params)

    def button(self, msgid: str, data: str, **params: object) -> Button:
        return Button(label=self.t(msgid, **params), data=data)

    def reply(self, reply: Reply | str) -> None:
        """To the chat that wrote."""
        if isinstance(reply, str):
            reply = Reply(text=reply)
        self.outbox.to_chat(
            self.incoming.channel,
            self.incoming.chat_id,
            reply,
            kind="reply",
            priority=PRIORITY_REPLY,
            essential=True,
        )

    def say(self, msgid: str, **params: object) -> None:
        self.reply(Reply(text=self.t(msgid, **params)))

    def say_sensitive(self, msgid: str, **params: object) -> None:
        """A reply carrying personal data in full: its outbox row is sealed at rest."""
        self.reply(Reply(text=self.t(msgid, **params), sensitive=True))

    async def flush(self, before_write: Callable[[list[OutboxMessage]], object] | None = None) -> list[OutboxMessage]:
        """Write every queued message as an outbox row, in one flush; `before_write` may still change the rows."""
        return await self.outbox.flush(before_write)
