"""The way out: claim due outbox rows for a channel and settle what happened when they were sent — and the delivery
ladder (issue #14), the one place that decides how a message to a person reaches them when the chat they used last
cannot deliver it now: that chat (an open web chat page, Telegram, WeChat within its window) → a WeChat subscription
notification → a web push → an SMS to the phone they confirmed → their next message. A row moves on only when its
rung definitely did not deliver it; every rung tried and what came of it is written on the row (`ladder`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from handlers.citizen.sms import CODE_KIND
from handlers.conversation.messages import ESSENTIAL_NOTICES
from handlers.conversation.outbox import PRIORITY_REPLY
from handlers.conversation.quiet import citizen_not_before
from handlers.conversation.turn import Clock
from handlers.followups.ladder import CALL_CITIZEN
from handlers.outreach.rules import forget_unreachable
from storage.models import FollowUp, OutboxMessage, SmsSent
from storage.repositories.broadcasts import BROADCAST_KIND
from storage.uow import Database, UnitOfWork

MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)

CHAT: Final = "chat"  # the chat the person used last (the row's channel and recipient)
NOTICE: Final = "notice"  # a WeChat subscription notification
PUSH: Final = "push"  # a web push to a browser of theirs
SMS: Final = "sms"  # an SMS to the phone they confirmed
WAIT: Final = "wait"  # nothing reaches them now: their next message, on any chat, releases it
RUNGS: Final = (CHAT, NOTICE, PUSH, SMS, WAIT)
AT_MOST_ONCE_RUNGS: Final = frozenset({PUSH, SMS})  # no idempotency key to ask the push service or the SMS gateway


@dataclass(frozen=True)
class Ladder:
    """The later rungs this desk serves (a rung no transport serves is skipped) and the rules of the SMS rung."""

    rungs: frozenset[str] = frozenset()
    quiet: str = "21:00-08:00"  # the citizens' quiet hours: an SMS that is not urgent waits for the morning
    timezone: str = "Asia/Shanghai"
    sms_per_ticket_day: int = 2
    sms_per_person_day: int = 4

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def day(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).date().isoformat()


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    kind: str
    essential: bool
    attempts: int
    parts_sent: int = 0  # of a message the channel splits: how many went out in an earlier attempt
    person_id: int | None = None  # a message to a person (not a reply): the ladder may carry it on
    rung: str = CHAT
    notice: str | None = None
    urgent: bool = False

    @property
    def at_most_once(self) -> bool:
        """A broadcast, a push and an SMS are never sent twice: the request is recorded as started before it goes
        (`mark_started`), and one whose sender died on the way is given up, not sent again nor by another way."""
        return self.kind == BROADCAST_KIND or self.rung in AT_MOST_ONCE_RUNGS

    @property
    def facts(self) -> dict[str, str]:
        facts = self.payload.get("facts") or {}
        return {str(k): str(v) for k, v in facts.items()} if isinstance(facts, dict) else {}


@dataclass(frozen=True)
class Sent:
    platform_id: str | None = None


@dataclass(frozen=True)
class RetryAfter:
    """The platform asked us to wait (Telegram 429): never try before `seconds` have passed."""

    seconds: float
    parts_sent: int = 0


@dataclass(frozen=True)
class Unreachable:
    """Blocked, deactivated or gone: stop trying, and stop the non-essential messages queued for them."""

    reason: str


@dataclass(frozen=True)
class Failed:
    reason: str
    retry: bool = True
    parts_sent: int = 0


@dataclass(frozen=True)
class NotNow:
    """This rung definitely did not deliver it and cannot now (the web chat page is closed, the WeChat window closed
    and no notification granted, no push subscription left, no SMS allowed): the ladder takes it on."""

    reason: str


Outcome = Sent | RetryAfter | Unreachable | Failed | NotNow


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


async def claim(
    db: Database, channel: str, now: datetime, limit: int, *, exclude: Sequence[str] = (), rung: str = CHAT
) -> list[Delivery]:
    async with db() as uow:
        # Before claim_due could take them again: what was on its way when its sender died is given up.
        if rung == CHAT:
            await uow.broadcasts.give_up_uncertain(channel, now)
        else:
            await uow.outbox.give_up_uncertain(rung, now)
        rows = await uow.outbox.claim_due(channel, now, limit, LEASE, exclude=exclude, rung=rung)
        batch = [delivery(uow, r) for r in rows]
        await uow.commit()
        return batch


def take_replies(rows: Sequence[OutboxMessage], channel: str, recipient: str, now: datetime) -> list[OutboxMessage]:
    """Before a turn's rows are written: the answers to the chat that just wrote, leased for sending at once by the
    channel that received the message, so a reply does not wait for the sender to claim it. Exactly the lease a
    claim gives (a crash before settling sends them again once it ends). The caller has made sure no earlier reply to
    this chat is still waiting or on its way, so nothing is overtaken (less urgent rows never held a reply back)."""
    taken: list[OutboxMessage] = []
    for row in rows:
        if row.channel != channel or row.recipient != recipient:
            continue
        if row.not_before > now or row.priority > PRIORITY_REPLY:
            break  # held (quiet hours) or not a reply: it and everything after it go the usual way, in order
        row.status, row.lease_until, row.attempts = "sending", now + LEASE, 1
        taken.append(row)
    return taken


def delivery(uow: UnitOfWork, row: OutboxMessage) -> Delivery:
    return Delivery(
        row.id,
        row.channel,
        row.recipient,
        uow.outbox.open(row.payload),
        row.kind,
        row.essential,
        row.attempts,
        row.parts_sent or 0,
        row.person_id,
        row.rung or CHAT,
        row.notice,
        bool(row.urgent),
    )


async def mark_started(
    db: Database,
    message_ids: Sequence[int],
    clock: Clock,
    settled: Sequence[tuple[int, Outcome]] = (),
    ladder: Ladder | None = None,
) -> None:
    """Durably before the requests go: a crash from here on leaves these rows uncertain, and only these. The
    outcomes of the slice sent before are settled in the same transaction, so they are not counted uncertain."""
    if not message_ids and not settled:
        return
    async with db() as uow:
        now = clock()
        await _settle(uow, settled, now, ladder or Ladder())
        if message_ids:
            await uow.outbox.mark_started(message_ids, now)
        await uow.commit()


async def settle(
    db: Database, results: Sequence[tuple[int, Outcome]], clock: Clock, ladder: Ladder | None = None
) -> None:
    if not results:
        return
    async with db() as uow:
        await _settle(uow, results, clock(), ladder or Ladder())
        await uow.commit()


async def _settle(uow: UnitOfWork, results: Sequence[tuple[int, Outcome]], now: datetime, ladder: Ladder) -> None:
    """Record what happened to rows in flight; a row settled already (its status moved on) is left alone."""
    if not results:
        return
    rows = await uow.outbox.get_many([message_id for message_id, _ in results])
    for message_id, outcome in results:
        row = rows.get(message_id)
        if row is None or row.status != "sending":
            continue
        row.lease_until, row.started_at = None, None
        if row.person_id is not None:
            note(row, now, _word(outcome))
        if isinstance(outcome, Sent):
            row.status, row.sent_at, row.platform_message_id = "sent", now, outcome.platform_id
        elif isinstance(outcome, NotNow):
            await climb(uow, row, now, ladder)
        elif isinstance(outcome, RetryAfter):
            row.status, row.not_before = "pending", now + timedelta(seconds=outcome.seconds)
            row.parts_sent = max(row.parts_sent or 0, outcome.parts_sent)
            row.attempts = max(row.attempts - 1, 0)  # being told to wait is not a failed attempt
        elif isinstance(outcome, Unreachable):
            row.status, row.last_error = "unreachable", outcome.reason[:200]
            if row.rung == CHAT:
                await chat_gone(uow, row.channel, row.recipient, now)
            if row.person_id is not None:
                await climb(uow, row, now, ladder)  # that chat is gone: another way may still reach them
        elif outcome.retry and row.attempts < MAX_ATTEMPTS:
            row.parts_sent = max(row.parts_sent or 0, outcome.parts_sent)
            row.status, row.not_before, row.last_error = "pending", now + backoff(row.attempts), outcome.reason[:200]
        else:
            row.status, row.last_error = "failed", outcome.reason[:200]


async def chat_gone(uow: UnitOfWork, channel: str, recipient: str, now: datetime) -> None:
    """Blocked, deactivated, unfollowed: the chat is unreachable from now on (its person may be reached another
    way), what was queued for it that does not matter is dropped, and it hears no more broadcasts."""
    await uow.people.mark_unreachable(channel, recipient, now)
    await uow.outbox.drop_nonessential(channel, recipient)
    await forget_unreachable(uow, channel, recipient)


# ---- the ladder


def _word(outcome: Outcome) -> str:
    """An outcome as it is written on the row."""
    if isinstance(outcome, Sent):
        return "sent"
    if isinstance(outcome, RetryAfter):
        return f"later {outcome.seconds:.0f}s"
    return f"{type(outcome).__name__.lower()}: {outcome.reason}"[:120]


def note(row: OutboxMessage, now: datetime, outcome: str) -> None:
    """One attempt on the row: which rung, which chat's channel, what came of it, when."""
    entry = {"rung": row.rung or CHAT, "channel": row.channel, "to": row.recipient, "outcome": outcome,
             "at": now.isoformat()}  # fmt: skip
    row.ladder = [*(row.ladder or []), entry]  # a new list: the JSON column is written again


def facts_of(uow: UnitOfWork, row: OutboxMessage) -> dict[str, str]:
    facts = uow.outbox.open(row.payload).get("facts") or {}
    return {str(k): str(v) for k, v in facts.items()} if isinstance(facts, dict) else {}


async def climb(uow: UnitOfWork, row: OutboxMessage, now: datetime, ladder: Ladder) -> None:
    """The rung the row was on did not deliver it: another chat of theirs that can deliver now, the next rung that
    can, or the wait for their next message."""
    if row.rung == CHAT and row.person_id is not None:
        other = await _chat_now(uow, row, now)
        if other is not None:
            row.channel, row.recipient = other
            row.status, row.not_before, row.attempts, row.parts_sent, row.last_error = "pending", now, 0, 0, None
            return
    start = RUNGS.index(row.rung) + 1 if row.rung in RUNGS else 1
    for rung in RUNGS[start:-1]:
        due = await _due_on(uow, row, rung, now, ladder)
        if due is not None:
            row.rung, row.status, row.not_before = rung, "pending", due
            row.attempts, row.parts_sent, row.last_error = 0, 0, None
            return
    row.rung, row.status = WAIT, "waiting"
    await _call_task(uow, row, now, ladder)


async def _chat_now(uow: UnitOfWork, row: OutboxMessage, now: datetime) -> tuple[str, str] | None:
    """Another chat of the person (linked chats) that can deliver now and was not tried for this row: Telegram, a
    WeChat chat within its window, a web chat page that is open — the most recently used first."""
    assert row.person_id is not None
    tried = {(a.get("channel"), a.get("to")) for a in row.ladder or [] if a.get("rung") == CHAT}
    for way in await uow.reach.ways(row.person_id, now):
        if not way.reachable or (way.channel, way.external_id) in tried:
            continue
        if way.channel == "telegram" or way.window_until is not None or way.present:
            return way.channel, way.external_id
    return None


async def _due_on(uow: UnitOfWork, row: OutboxMessage, rung: str, now: datetime, ladder: Ladder) -> datetime | None:
    """When the row may be tried on `rung`; None when that rung cannot carry it. Only a notice (a message that
    matters, with its facts) goes another way than its chat; an SMS only for the essential ones."""
    if rung not in ladder.rungs or row.person_id is None or row.notice is None:
        return None
    if rung == NOTICE:
        ways = await uow.reach.ways(row.person_id, now)
        other = row.channel != "wechat"  # on its own chat the WeChat rung tried a notification already
        return now if other and any(w.channel == "wechat" and w.reachable and w.granted for w in ways) else None
    if rung == PUSH:
        return now if await uow.reach.subscriptions(row.person_id) else None
    if rung == SMS:
        if row.notice not in ESSENTIAL_NOTICES or not await sms_allowed(uow, row, now, ladder):
            return None
        return citizen_not_before(ladder.quiet, now, ladder.zone, urgent=row.urgent) or now
    return None


async def sms_allowed(uow: UnitOfWork, row: OutboxMessage, now: datetime, ladder: Ladder) -> bool:
    """A confirmed mobile, and the day's caps per ticket and per person not reached."""
    assert row.person_id is not None
    phone = await uow.reach.phone(row.person_id)
    if phone is None or phone.confirmed_at is None or phone.landline:
        return False
    day, number = ladder.day(now), facts_of(uow, row).get("number")
    if number and await uow.reach.sms_count(day, ticket_number=number) >= ladder.sms_per_ticket_day:
        return False
    return await uow.reach.sms_count(day, person_id=row.person_id) < ladder.sms_per_person_day


async def _call_task(uow: UnitOfWork, row: OutboxMessage, now: datetime, ladder: Ladder) -> None:
    """Nothing reaches the citizen: a notice that matters gives the officer a "call the citizen" task (one per ticket
    and day), which the follow-up ladder fires with the masked number and an audited reveal."""
    if row.notice not in ESSENTIAL_NOTICES or row.person_id is None:
        return
    number = facts_of(uow, row).get("number")
    ticket = await uow.tickets.by_number(number) if number else None
    if ticket is None or ticket.citizen_id != row.person_id:
        return
    await uow.follow_ups.add_once(
        FollowUp(ticket_id=ticket.id, kind=CALL_CITIZEN, due_at=now, status="pending", attempts=0,
                 params={"outbox": row.id}, created_at=now, key=f"call:{ticket.id}:{ladder.day(now)}")
    )  # fmt: skip


CODES_PER_DAY: Final = 5  # codes one person may ask for a day: an SMS costs money and can be used to annoy someone


@dataclass(frozen=True)
class SmsReservation:
    phone: str | None = None  # the number to send to, in full, once reserved
    refused: Outcome | None = None


async def reserve_sms(db: Database, delivery: Delivery, ladder: Ladder, now: datetime, *, code: bool) -> SmsReservation:
    """The SMS rung's rules, in one transaction before the request: the person's phone row locked (one SMS of theirs
    at a time, so the caps hold across processes); only a confirmed mobile (a one-time code goes to the one being
    confirmed); a few codes a day; notices never in quiet hours unless urgent and a few per ticket and person a day;
    the SMS recorded and the row marked started (at most once)."""
    if delivery.person_id is None:
        return SmsReservation(refused=NotNow("no_person"))
    async with db() as uow:
        phone = await uow.reach.phone(delivery.person_id, for_update=True)
        if phone is None or phone.landline or (not code and phone.confirmed_at is None):
            return SmsReservation(refused=NotNow("no_phone"))
        day, number = ladder.day(now), delivery.facts.get("number")
        if code:
            if await uow.reach.sms_count(day, person_id=delivery.person_id, kind=CODE_KIND) >= CODES_PER_DAY:
                return SmsReservation(refused=Failed("sms codes: daily cap", retry=False))
        else:
            quiet_end = citizen_not_before(ladder.quiet, now, ladder.zone, urgent=delivery.urgent)
            if quiet_end is not None:
                return SmsReservation(refused=RetryAfter(max((quiet_end - now).total_seconds(), 1.0)))
            over = number and await uow.reach.sms_count(day, ticket_number=number) >= ladder.sms_per_ticket_day
            if over or await uow.reach.sms_count(day, person_id=delivery.person_id) >= ladder.sms_per_person_day:
                return SmsReservation(refused=NotNow("sms_cap"))
        sent = SmsSent(person_id=delivery.person_id, outbox_id=delivery.id, ticket_number=number,
                       kind=CODE_KIND if code else "notice", day=day, created_at=now)  # fmt: skip
        if not await uow.reach.record_sms(sent):
            return SmsReservation(refused=Failed("sms recorded before: not sent twice", retry=False))
        await uow.outbox.mark_started([delivery.id], now)
        number_in_full = uow.cipher.decrypt(phone.phone_sealed)
        await uow.commit()
    return SmsReservation(phone=number_in_full)
