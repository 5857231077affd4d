"""Sending approved broadcasts: start them when due, fan them out into the outbox in batches, keep citizens' quiet
hours and daily cap, and show the author one progress message edited in place, then a final report.

Every batch is one transaction that records its recipients in broadcast_deliveries (primary key broadcast ×
person), queues their outbox rows and moves the cursor. A crash loses at most an uncommitted batch, which the next
tick does again; a recipient already recorded is never queued twice. The rows go out at PRIORITY_BROADCAST, so the
sender lets every citizen reply and officer alert overtake them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from handlers.conversation.i18n import SUPPORTED, Translator
from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_ALERT, PRIORITY_BROADCAST, PRIORITY_FOLLOW_UP, Outbox
from handlers.conversation.turn import Clock, Rules, system_clock
from handlers.outreach.rules import (
    CANCELLED,
    DONE,
    SCHEDULED,
    SENDING,
    OutreachRules,
    citizen_message,
    first_allowed,
    morning_of,
    quiet_end_after,
)
from storage.models import Broadcast, OutboxMessage
from storage.repositories.broadcasts import BROADCAST_KIND, PROGRESS_KIND
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    sent: int
    failed: int
    blocked: int
    withdrawn: int
    queued: int  # due now, waiting for the sender
    later: int  # held back by quiet hours or the daily cap
    unplanned: int  # subscribers not fanned out yet

    @property
    def remaining(self) -> int:
        return self.queued + self.later + self.unplanned


def progress_of(broadcast: Broadcast, counts: dict[str, int]) -> Progress:
    unplanned = 0 if broadcast.fanned_out_at else max(broadcast.recipients - broadcast.fanned_out, 0)
    if broadcast.status == CANCELLED:
        unplanned = 0
    return Progress(
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        blocked=counts.get("unreachable", 0) + counts.get("dropped", 0),
        withdrawn=counts.get("cancelled", 0),
        queued=counts.get("pending", 0) + counts.get("sending", 0),
        later=counts.get("later", 0),
        unplanned=unplanned,
    )


class Broadcaster:
    """Called on a timer by bot/ (and directly by tests): `await broadcaster.tick()`."""

    def __init__(
        self,
        db: Database,
        translator: Translator,
        rules: Rules,
        outreach: OutreachRules | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.db = db
        self.translator = translator
        self.rules = rules
        self.outreach = outreach or OutreachRules()
        self.clock = clock
        self._swept_until: datetime | None = None

    async def tick(self, *, max_batches: int | None = None) -> int:
        """Start what is due, fan out (at most `max_batches` batches per broadcast), hold quiet hours, report.
        Returns how many outbox rows were queued."""
        await self.start_due()
        queued = 0
        for broadcast_id in await self._unplanned():
            queued += await self.fan_out(broadcast_id, max_batches=max_batches)
        await self.hold_quiet_hours()
        for broadcast_id in await self._reportable():
            await self.report(broadcast_id)
        return queued

    async def _unplanned(self) -> list[int]:
        async with self.db.reading() as uow:
            return [b.id for b in await uow.broadcasts.with_status([SENDING]) if b.fanned_out_at is None]

    async def _reportable(self) -> list[int]:
        async with self.db.reading() as uow:
            rows = await uow.broadcasts.with_status([SENDING, CANCELLED])
        return [b.id for b in rows if b.started_at is not None and b.finished_at is None]

    # ---- starting

    async def start_due(self) -> int:
        now = self.clock()
        async with self.db.reading() as uow:
            due = [b.id for b in await uow.broadcasts.with_status([SCHEDULED], due_by=now)]
        for broadcast_id in due:
            async with self.db() as uow:
                broadcast = await uow.broadcasts.get_for_update(broadcast_id)
                if broadcast is None or broadcast.status != SCHEDULED:
                    continue
                broadcast.status, broadcast.started_at = SENDING, now
                broadcast.recipients = await uow.subscriptions.count_audience(broadcast.topic, broadcast.county)
                locale = (await uow.people.get(broadcast.author_person_id)).locale
                text = self._progress_text(locale, broadcast, None)
                progress = await self._tell_author(uow, broadcast, text, now)
                broadcast.progress_outbox_id = progress.id if progress else None
                broadcast.progress_at = now
                await uow.commit()
                log.info("broadcast %d started for about %d recipients", broadcast.id, broadcast.recipients)
        return len(due)

    async def _tell_author(
        self, uow: UnitOfWork, broadcast: Broadcast, text: str, now: datetime, *, kind: str = PROGRESS_KIND
    ) -> OutboxMessage | None:
        address = (await uow.subscriptions.addresses([broadcast.author_person_id])).get(broadcast.author_person_id)
        if address is None:
            return None
        outbox = Outbox(uow, now)
        row = outbox.to_chat(
            address.channel,
            address.recipient,
            Reply(text=text),
            priority=PRIORITY_FOLLOW_UP if kind == PROGRESS_KIND else PRIORITY_ALERT,
            essential=True,
            kind=kind,
            broadcast_id=broadcast.id,
        )
        await outbox.flush()
        return row

    # ---- fanning out

    async def fan_out(self, broadcast_id: int, *, max_batches: int | None = None) -> int:
        queued, batches = 0, 0
        while max_batches is None or batches < max_batches:
            added = await self._batch(broadcast_id)
            if added is None:
                break
            queued, batches = queued + added, batches + 1
        return queued

    async def _batch(self, broadcast_id: int) -> int | None:
        """One transaction: the next subscribers after the cursor → deliveries + outbox rows; None when done."""
        now = self.clock()
        async with self.db() as uow:
            broadcast = await uow.broadcasts.get_for_update(broadcast_id)
            if broadcast is None or broadcast.status != SENDING or broadcast.fanned_out_at is not None:
                return None
            people = await uow.subscriptions.audience_after(
                broadcast.topic, broadcast.county, broadcast.fanout_cursor, self.outreach.batch_size
            )
            if not people:
                broadcast.fanned_out_at = now
                await uow.commit()
                return None
            addresses = await uow.subscriptions.addresses(people)
            plan = await self._plan(uow, sorted(addresses), now)
            fresh = await uow.broadcasts.claim_recipients(broadcast.id, {p: d for p, (d, _) in plan.items()}, now)
            outbox, messages = Outbox(uow, now), {}
            rows: list[dict[str, Any]] = []
            for person_id in sorted(fresh):
                address = addresses[person_id]
                locale = address.locale if address.locale in SUPPORTED else SUPPORTED[0]
                if (locale, address.channel) not in messages:
                    messages[locale, address.channel] = citizen_message(
                        self.translator, broadcast, locale, address.channel
                    )
                rows.append(
                    outbox.values(
                        address.channel,
                        address.recipient,
                        messages[locale, address.channel],
                        priority=PRIORITY_BROADCAST,
                        essential=False,  # dropped, not retried forever, when the chat turns out unreachable
                        kind=BROADCAST_KIND,
                        not_before=plan[person_id][1],
                        broadcast_id=broadcast.id,
                    )
                )
            await uow.broadcasts.enqueue_many(rows)
            broadcast.fanout_cursor = people[-1]
            broadcast.fanned_out += len(rows)
            await uow.commit()
            return len(rows)

    async def _plan(self, uow: UnitOfWork, people: list[int], now: datetime) -> dict[int, tuple[str, datetime]]:
        """For each person: the local day the message counts against, and when it may leave. Quiet hours move it to
        the morning; a full day (the daily cap) moves it to the next morning with room; past the lookahead it is
        not sent at all."""
        zone, rules = self.rules.zone, self.outreach
        start = first_allowed(now, zone, rules)
        first_day = start.astimezone(zone).date()
        taken = await uow.broadcasts.day_counts(people, first_day.isoformat())
        plan: dict[int, tuple[str, datetime]] = {}
        for person_id in people:
            for offset in range(rules.cap_lookahead_days):
                day: date = first_day + timedelta(days=offset)
                if taken.get((person_id, day.isoformat()), 0) < rules.daily_cap:
                    leave = start if offset == 0 else morning_of(day, zone, rules, now)
                    plan[person_id] = (day.isoformat(), leave)
                    break
        return plan

    # ---- quiet hours

    async def hold_quiet_hours(self) -> int:
        """Inside citizens' quiet hours, queued broadcast rows wait for the morning (once per night is enough: rows
        fanned out during the night are planned for the morning already)."""
        until = quiet_end_after(self.clock(), self.rules.zone, self.outreach)
        if until is None or until == self._swept_until:
            return 0
        async with self.db() as uow:
            held = await uow.broadcasts.defer_pending(before=until, until=until)
            await uow.commit()
        self._swept_until = until
        if held:
            log.info("quiet hours: %d broadcast messages wait until %s", held, until.isoformat())
        return held

    # ---- progress and the final report

    async def report(self, broadcast_id: int) -> None:
        now = self.clock()
        async with self.db.reading() as uow:  # most ticks have nothing to say: find that out without the write lock
            broadcast = await uow.broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.started_at is None or broadcast.finished_at is not None:
                return
            due = broadcast.progress_at is None or now - broadcast.progress_at >= self.outreach.progress_every
            if not due and await uow.broadcasts.unsettled(broadcast_id):
                return
        async with self.db() as uow:
            broadcast = await uow.broadcasts.get_for_update(broadcast_id)
            if broadcast is None or broadcast.started_at is None or broadcast.finished_at is not None:
                return
            progress = progress_of(broadcast, await uow.broadcasts.outbox_counts(broadcast.id, now))
            finished = broadcast.status == SENDING and broadcast.fanned_out_at is not None and not progress.remaining
            stopped = broadcast.status == CANCELLED and progress.queued == 0
            due = broadcast.progress_at is None or now - broadcast.progress_at >= self.outreach.progress_every
            if finished:
                broadcast.status = DONE
            if finished or stopped:
                broadcast.finished_at = now
            locale = (await uow.people.get(broadcast.author_person_id)).locale
            if finished or stopped or due:
                rate = await self._rate(uow, broadcast, now)
                await self._edit_progress(uow, broadcast, self._progress_text(locale, broadcast, (progress, rate)), now)
                broadcast.progress_at = now
            if finished or stopped:
                final = self._final_text(locale, broadcast, progress, now)
                await self._tell_author(uow, broadcast, final, now, kind="alert")
                log.info("broadcast %d %s: %s", broadcast.id, broadcast.status, progress)
            await uow.commit()

    async def _rate(self, uow: UnitOfWork, broadcast: Broadcast, now: datetime) -> float:
        """Messages per second over the last minute (or since the start, if shorter)."""
        window = min(now - (broadcast.started_at or now), timedelta(minutes=1))
        if window.total_seconds() < 1:
            return 0.0
        return await uow.broadcasts.sent_rate(broadcast.id, now - window) / window.total_seconds()

    async def _edit_progress(self, uow: UnitOfWork, broadcast: Broadcast, text: str, now: datetime) -> None:
        """One message, edited in place: a payload with `edit_of` (our outbox id of the message, for the web chat)
        and `edit_message_id` (the platform's id of it, for Telegram). While the message itself has not gone out,
        its text is simply replaced; an edit not sent yet is overwritten rather than followed by another."""
        original = await uow.outbox.get(broadcast.progress_outbox_id) if broadcast.progress_outbox_id else None
        if original is None:
            return
        if original.status == "pending":
            original.payload = {**original.payload, "text": text}
            return
        if original.status != "sent":
            return  # still in flight, or it never arrived: nothing to edit yet
        waiting = await uow.broadcasts.unsent_edit(broadcast.id, original.id)
        if waiting is not None:
            edit = Reply(text=text, edit_of=original.id, edit_message_id=original.platform_message_id)
            waiting.payload = edit.to_payload()
            return
        outbox = Outbox(uow, now)
        outbox.to_chat(
            original.channel,
            original.recipient,
            Reply(text=text, edit_of=original.id, edit_message_id=original.platform_message_id),
            priority=PRIORITY_FOLLOW_UP,
            essential=True,
            kind=PROGRESS_KIND,
            broadcast_id=broadcast.id,
        )
        await outbox.flush()

    def _progress_text(self, locale: str, broadcast: Broadcast, state: tuple[Progress, float] | None) -> str:
        t = self.translator
        topic = t(locale, f"topic.{broadcast.topic}")
        if state is None:
            return t(locale, "broadcast.progress_start", id=broadcast.id, topic=topic, count=broadcast.recipients)
        progress, rate = state
        if broadcast.status == DONE:
            head = t(locale, "broadcast.progress_done", id=broadcast.id, topic=topic)
        elif broadcast.status == CANCELLED:
            head = t(locale, "broadcast.progress_cancelled", id=broadcast.id, topic=topic)
        else:
            head = t(locale, "broadcast.progress_head", id=broadcast.id, topic=topic)
        lines = [
            head,
            t(
                locale,
                "broadcast.progress_counts",
                sent=progress.sent,
                failed=progress.failed,
                blocked=progress.blocked,
                remaining=progress.remaining,
            ),
        ]
        if progress.later:
            lines.append(t(locale, "broadcast.progress_later", later=progress.later))
        due_now = progress.queued + progress.unplanned
        if broadcast.status == SENDING and due_now:
            if rate > 0:
                seconds = int(due_now / rate)
                lines.append(t(locale, "broadcast.eta", minutes=seconds // 60, seconds=seconds % 60))
            else:
                lines.append(t(locale, "broadcast.eta_unknown"))
        return "\n".join(lines)

    def _final_text(self, locale: str, broadcast: Broadcast, progress: Progress, now: datetime) -> str:
        t = self.translator
        took = int((now - (broadcast.started_at or now)).total_seconds())
        return t(
            locale,
            "broadcast.final_cancelled" if broadcast.status == CANCELLED else "broadcast.final",
            id=broadcast.id,
            topic=t(locale, f"topic.{broadcast.topic}"),
            sent=progress.sent,
            failed=progress.failed,
            blocked=progress.blocked,
            withdrawn=progress.withdrawn,
            minutes=took // 60,
            seconds=took % 60,
        )
