"""One turn of a conversation: the person, their state, the clock, the catalog, and what goes out."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Incoming, Reply
from storage.models import ChatIdentity, Conversation, OutboxMessage, Person
from storage.uow import UnitOfWork

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


# Lower numbers leave first: replies and alerts overtake follow-ups, which overtake broadcasts.
PRIORITY_REPLY = 0
PRIORITY_ALERT = 5
PRIORITY_FOLLOW_UP = 10
PRIORITY_BROADCAST = 50


@dataclass(frozen=True)
class Rules:
    """The settings handlers need, as plain values (bot/ builds this from its Settings)."""

    ticket_prefix: str = "HZ"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    max_tickets_per_day: int = 5
    emergency_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

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


@dataclass(frozen=True)
class Outgoing:
    channel: str
    recipient: str
    reply: Reply
    kind: str
    priority: int
    essential: bool
    not_before: datetime | None = None


class Turn:
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
    ) -> None:
        self.uow = uow
        self.incoming = incoming
        self.identity = identity
        self.person = person
        self.conversation = conversation
        self.state = state
        self.translator = translator
        self.rules = rules
        self.now = now
        self.outgoing: list[Outgoing] = []

    @property
    def locale(self) -> str:
        return self.person.locale

    def t(self, msgid: str, **params: object) -> str:
        return self.translator(self.person.locale, msgid, **params)

    def button(self, msgid: str, data: str, **params: object) -> Button:
        return Button(label=self.t(msgid, **params), data=data)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.rules.zone)

    def reply(self, reply: Reply | str) -> None:
        if isinstance(reply, str):
            reply = Reply(text=reply)
        self.outgoing.append(
            Outgoing(
                channel=self.incoming.channel,
                recipient=self.incoming.chat_id,
                reply=reply,
                kind="reply",
                priority=PRIORITY_REPLY,
                essential=True,
            )
        )

    def say(self, msgid: str, **params: object) -> None:
        self.reply(Reply(text=self.t(msgid, **params)))

    def say_sensitive(self, msgid: str, **params: object) -> None:
        """A reply carrying personal data in full: its outbox row is sealed at rest."""
        self.reply(Reply(text=self.t(msgid, **params), meta={"sensitive": True}))

    async def send_to_person(
        self,
        person_id: int,
        render: Callable[[str], Reply],
        *,
        kind: str = "alert",
        priority: int = PRIORITY_ALERT,
        essential: bool = True,
        not_before: datetime | None = None,
    ) -> bool:
        """Queue a message for a person on their most recently used reachable chat, in their language."""
        person = await self.uow.people.get(person_id)
        for identity in await self.uow.people.identities_of(person_id):
            if identity.unreachable_at is None:
                self.outgoing.append(
                    Outgoing(
                        channel=identity.channel,
                        recipient=identity.external_id,
                        reply=render(person.locale),
                        kind=kind,
                        priority=priority,
                        essential=essential,
                        not_before=not_before,
                    )
                )
                return True
        return False

    async def flush(self, before_write: Callable[[list[OutboxMessage]], object] | None = None) -> list[OutboxMessage]:
        """Write every queued message as an outbox row, in one flush; `before_write` may still change the rows."""
        rows = [
            OutboxMessage(
                channel=out.channel,
                recipient=out.recipient,
                payload=(
                    self.uow.outbox.seal(out.reply.to_payload())
                    if out.reply.meta.get("sensitive")
                    else out.reply.to_payload()
                ),
                priority=out.priority,
                essential=out.essential,
                kind=out.kind,
                status="pending",
                attempts=0,
                not_before=out.not_before or self.now,
                created_at=self.now,
            )
            for out in self.outgoing
        ]
        self.outgoing.clear()
        if before_write is not None:
            before_write(rows)
        await self.uow.outbox.add_all(rows)
        return rows
