"""The one service every channel calls: take an Incoming and, in one transaction, decide and queue replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.conversation.failures import withheld_traceback
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Incoming, Reply
from handlers.conversation.outbox import PRIORITY_REPLY, Outbox
from handlers.conversation.turn import Clock, Rules, State, Turn, system_clock
from handlers.delivery import Delivery, delivery, take_replies
from handlers.followups.effects import TickReport
from handlers.followups.firing import tick
from handlers.router import INTERVIEWS, SUBSCRIBERS, dispatch
from storage.models import OutboxMessage
from storage.repositories.people import StaffChat
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

MAX_UPDATE_KEY = 128
Record = Callable[[UnitOfWork, datetime], Awaitable[None]]
SEEN_GRAIN = timedelta(minutes=1)  # "last seen" picks a person's most recent chat; a minute is fine enough


@dataclass(frozen=True)
class Handled:
    """What the channel needs after commit: was it a repeat, which chats have new messages, and which of the replies
    to the writer the channel took to send at once (`handle(..., send_now=True)`; it must settle them)."""

    duplicate: bool
    messages: list[OutboxMessage] = field(default_factory=list)
    taken: list[Delivery] = field(default_factory=list)
    released: str | None = None  # the channel that rows waiting for this person's next message were released to

    @property
    def left_for_sender(self) -> set[str]:
        """Channels with new rows the outbox sender has to claim."""
        taken = {d.id for d in self.taken}
        return {m.channel for m in self.messages if m.id not in taken} | ({self.released} if self.released else set())

    @property
    def touched(self) -> set[tuple[str, str]]:
        return {(m.channel, m.recipient) for m in self.messages}

    @property
    def commands_changed(self) -> set[tuple[str, str]]:
        """Chats told that their command menu changed (a reply with `menu`, e.g. after /join)."""
        return {(m.channel, m.recipient) for m in self.messages if m.payload.get("menu")}


class Desk:
    def __init__(self, db: Database, translator: Translator, rules: Rules, clock: Clock = system_clock) -> None:
        self.db = db
        self.translator = translator
        self.rules = rules
        self.clock = clock

    async def handle(self, incoming: Incoming, *, send_now: bool = False, record: Record | None = None) -> Handled:
        """Raises only when the database itself fails, so the platform delivers the update again. `record` writes
        what the platform said beside the message (WeChat: the customer-service window it opens) in the turn's own
        transaction."""
        try:
            return await self._handle(incoming, send_now, record)
        except Exception as error:
            if not await self.db.ping():
                raise
            # A bug, not an outage: record the update as handled and apologise, so it is not redelivered forever.
            # Its type and where, not its message: that may quote what the citizen wrote (#16).
            log.error("turn failed on %s update\n%s", incoming.channel, withheld_traceback(error))
            return await self._apologise(incoming)

    async def _handle(self, incoming: Incoming, send_now: bool, record: Record | None) -> Handled:
        now = self.clock()
        async with self.db() as uow:
            if not await uow.inbox.record(incoming.channel, incoming.update_key[:MAX_UPDATE_KEY], now):
                return Handled(duplicate=True)
            if record is not None:
                await record(uow, now)
            found = await uow.people.who(
                incoming.channel, incoming.chat_id, unsent_below=PRIORITY_REPLY + 1 if send_now else None
            )
            unsent = waiting = False
            if found is None:
                locale = self.translator.locale_for(incoming.language or self.rules.default_locale)
                identity = await uow.people.create(incoming.channel, incoming.chat_id, locale, now)
                person = await uow.people.get(identity.person_id)
            else:
                identity, person, unsent, waiting = found
                if identity.unreachable_at is not None or now - identity.last_seen_at >= SEEN_GRAIN:
                    identity.last_seen_at, identity.unreachable_at = now, None  # not a write on every message
            if waiting:  # what waited on the delivery ladder for their next message goes to this chat now
                await uow.reach.release_waiting(person.id, incoming.channel, incoming.chat_id, now)
            conversation = await uow.conversations.get_for_update(person.id, now)
            state = State.from_json(uow.conversations.unseal(conversation))
            turn = Turn(
                uow=uow,
                incoming=incoming,
                identity=identity,
                person=person,
                conversation=conversation,
                state=state,
                translator=self.translator,
                rules=self.rules,
                now=now,
                interviews=INTERVIEWS,
                subscribers=SUBSCRIBERS,
            )
            await dispatch(turn)
            uow.conversations.seal(conversation, state.interview, state.step, state.to_json(), now)
            taken: list[OutboxMessage] = []
            if send_now and not unsent:  # nothing earlier for this chat still waits: the replies may go at once
                messages = await turn.flush(
                    lambda rows: taken.extend(take_replies(rows, incoming.channel, incoming.chat_id, now))
                )
            else:
                messages = await turn.flush()
            await uow.commit()
            return Handled(
                duplicate=False,
                messages=messages,
                taken=[delivery(uow, row) for row in taken],
                released=incoming.channel if waiting else None,
            )

    async def has_consent(self, channel: str, chat_id: str) -> bool:
        """Whether the person of this chat agreed to the privacy notice (a channel asks before taking a file)."""
        async with self.db.reading() as uow:
            identity = await uow.people.identity(channel, chat_id)
            return identity is not None and (await uow.people.get(identity.person_id)).consent_at is not None

    async def record_throttled(self, incoming: Incoming, notice: str | None) -> Handled:
        """A channel's throttle refused this update: record it as seen (a redelivery changes nothing) and queue the
        slow-down notice `notice` (a message id) when one is due, in one transaction. Raises when the database
        fails, so the channel does not acknowledge it and the platform delivers it again."""
        now = self.clock()
        async with self.db() as uow:
            if not await uow.inbox.record(incoming.channel, incoming.update_key[:MAX_UPDATE_KEY], now):
                return Handled(duplicate=True)
            messages = []
            if notice is not None:
                messages = await self._notice(uow, incoming, notice, now, kind="notice", essential=False)
            await uow.commit()
            return Handled(duplicate=False, messages=messages)

    async def _notice(
        self, uow: UnitOfWork, incoming: Incoming, msgid: str, now: datetime, *, kind: str, essential: bool
    ) -> list[OutboxMessage]:
        """A short message to a chat outside a turn (an apology, "you are sending too fast"), in its language."""
        identity = await uow.people.identity(incoming.channel, incoming.chat_id)
        locale = (
            (await uow.people.get(identity.person_id)).locale
            if identity
            else self.translator.locale_for(incoming.language)
        )
        outbox = Outbox(uow, now)
        reply = Reply(text=self.translator(locale, msgid))
        outbox.to_chat(
            incoming.channel, incoming.chat_id, reply, kind=kind, priority=PRIORITY_REPLY, essential=essential
        )
        return await outbox.flush()

    async def staff_chats(self, channel: str, external_id: str | None = None) -> Sequence[StaffChat]:
        """Officers' chats on a channel with their role and language (one chat when `external_id` is given), for
        channels that show staff their own command menu."""
        async with self.db.reading() as uow:
            return await uow.people.staff_chats(channel, external_id)

    async def _apologise(self, incoming: Incoming) -> Handled:
        now = self.clock()
        async with self.db() as uow:
            if not await uow.inbox.record(incoming.channel, incoming.update_key[:MAX_UPDATE_KEY], now):
                return Handled(duplicate=True)
            messages = await self._notice(uow, incoming, "error.internal", now, kind="reply", essential=True)
            await uow.commit()
            return Handled(duplicate=False, messages=messages)


async def fire_follow_ups(
    db: Database, translator: Translator, rules: Rules, now: datetime, *, batch: int, report: TickReport
) -> TickReport:
    """The follow-up tick, with the desk's subscribers: a rung that changes a ticket sets the same things going as
    an officer's button would."""
    return await tick(db, translator, rules, now, subscribers=SUBSCRIBERS, batch=batch, report=report)
