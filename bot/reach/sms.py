"""SMS, the ladder's last way out (issue #14): a pluggable gateway (Tencent Cloud SMS first, bot/reach/tencent.py)
and the transport of the "sms" rung. Only to the phone the person confirmed with a one-time code, only a few per
ticket and per person a day, never in the citizens' quiet hours unless urgent, and nothing in the text but the ticket
number and a short status (templates are the provider's, filled with those two)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.sender import Started
from handlers.citizen.sms import CODE_KIND
from handlers.conversation.quiet import citizen_not_before
from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import SMS, Delivery, Failed, Ladder, NotNow, Outcome, RetryAfter, Sent
from storage.models import SmsSent
from storage.uow import Database

log = logging.getLogger(__name__)

CODES_PER_DAY = 5  # codes one person may ask for a day: an SMS costs money and can be used to annoy someone


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    certain: bool = True  # False: it may or may not have gone (a timeout, the gateway's own failure)
    code: str = ""
    serial: str | None = None
    later: bool = False  # a rate limit: nothing went, try again later


class SmsGateway(Protocol):
    async def send(self, phone: str, template_id: str, params: Sequence[str], context: str = "") -> SmsResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Templates:
    notice: str  # "您的工单{1}{2}，请打开公众号或网页查看。": the ticket number and a short status
    code: str  # "验证码{1}，{2}分钟内有效。": the code and its minutes


@dataclass(frozen=True)
class _Reserved:
    phone: str | None = None
    refused: Outcome | None = None


class SmsTransport:
    rung = SMS
    channel = "sms"
    batch_size = 10

    def __init__(
        self, db: Database, gateway: SmsGateway, templates: Templates, ladder: Ladder, *, clock: Clock = system_clock
    ) -> None:
        self.db, self.gateway, self.templates, self.ladder, self.clock = db, gateway, templates, ladder, clock
        self.sent = 0

    def busy_recipients(self) -> Sequence[str]:
        return ()

    async def close(self) -> None:
        await self.gateway.close()

    async def deliver(self, batch: Sequence[Delivery], started: Started | None = None) -> list[tuple[int, Outcome]]:
        return [(delivery.id, await self._send(delivery)) for delivery in batch]

    async def _send(self, delivery: Delivery) -> Outcome:
        code = delivery.kind == CODE_KIND
        reserved = await self._reserve(delivery, code)
        if reserved.refused is not None or reserved.phone is None:
            return reserved.refused or NotNow("no_phone")
        if code:
            template, params = self.templates.code, [str(delivery.payload.get("code", "")), "10"]
        else:
            facts = delivery.facts
            template, params = self.templates.notice, [facts.get("number", ""), facts.get("status", "")]
        result = await self.gateway.send(reserved.phone, template, params, context=str(delivery.id))
        if result.ok:
            self.sent += 1
            return Sent(f"sms:{result.serial or ''}"[:64])
        if not result.certain:  # it may have gone: never again, nor another way (at most once)
            log.error("sms: outbox row %d uncertain (%s)", delivery.id, result.code)
            return Failed(f"sms uncertain: {result.code}", retry=False)
        log.warning("sms: outbox row %d not sent (%s)", delivery.id, result.code)
        return NotNow(f"sms_refused {result.code}")

    async def _reserve(self, delivery: Delivery, code: bool) -> _Reserved:
        """In one transaction, before the request: the person's phone row locked (one SMS of theirs at a time, so
        the caps hold across processes), the caps read, the SMS recorded, the row marked started."""
        now = self.clock()
        if delivery.person_id is None:
            return _Reserved(refused=NotNow("no_person"))
        async with self.db() as uow:
            phone = await uow.reach.phone(delivery.person_id, for_update=True)
            if phone is None or phone.landline or (not code and phone.confirmed_at is None):
                return _Reserved(refused=NotNow("no_phone"))
            day, number = self.ladder.day(now), delivery.facts.get("number")
            if code:
                if await uow.reach.sms_count(day, person_id=delivery.person_id, kind=CODE_KIND) >= CODES_PER_DAY:
                    return _Reserved(refused=Failed("sms codes: daily cap", retry=False))
            else:
                quiet_end = citizen_not_before(self.ladder.quiet, now, self.ladder.zone, urgent=delivery.urgent)
                if quiet_end is not None:
                    return _Reserved(refused=RetryAfter(_seconds(quiet_end, now)))
                over = number and await uow.reach.sms_count(day, ticket_number=number) >= self.ladder.sms_per_ticket_day
                if (
                    over
                    or await uow.reach.sms_count(day, person_id=delivery.person_id) >= self.ladder.sms_per_person_day
                ):
                    return _Reserved(refused=NotNow("sms_cap"))
            sent = SmsSent(person_id=delivery.person_id, outbox_id=delivery.id, ticket_number=number,
                           kind=CODE_KIND if code else "notice", day=day, created_at=now)  # fmt: skip
            if not await uow.reach.record_sms(sent):
                return _Reserved(refused=Failed("sms recorded before: not sent twice", retry=False))
            await uow.outbox.mark_started([delivery.id], now)
            number_in_full = uow.cipher.decrypt(phone.phone_sealed)
            await uow.commit()
        return _Reserved(phone=number_in_full)


def _seconds(until: datetime, now: datetime) -> float:
    return max((until - now).total_seconds(), 1.0)
