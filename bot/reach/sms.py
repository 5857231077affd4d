"""SMS, the ladder's last way out (issue #14): a pluggable gateway (Tencent Cloud SMS first, bot/reach/tencent.py)
and the transport of the "sms" rung. Its rules are handlers.delivery.reserve_sms's: only to the phone the person
confirmed with a one-time code, only a few per ticket and per person a day, never in the citizens' quiet hours unless
urgent; nothing in the text but the ticket number and a short status (templates are the provider's)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.sender import Started
from handlers.citizen.sms import CODE_KIND
from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import SMS, Delivery, Failed, Ladder, NotNow, Outcome, Sent, reserve_sms
from storage.uow import Database

log = logging.getLogger(__name__)


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
        reserved = await reserve_sms(self.db, delivery, self.ladder, self.clock(), code=code)
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
