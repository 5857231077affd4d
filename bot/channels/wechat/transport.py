"""The outbox sender's WeChat side: customer-service messages while the follower's window is open, a subscription
notification for a notice once it has closed (when they granted its template); otherwise the delivery ladder takes
the row on (a web push, an SMS, their next message). The notice rung serves the rows of the other chats of a person
who also follows the account."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.channels.text_menu import LocaleGuess
from bot.channels.wechat.api import TOKEN_ERRORS, WeChatApi, WeChatError
from bot.channels.wechat.notices import Notices, values_of
from bot.channels.wechat.render import Part, render
from bot.channels.wechat.updates import CHANNEL
from bot.sender import Started
from handlers.conversation.messages import Reply
from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import NOTICE, Delivery, Failed, NotNow, Outcome, RetryAfter, Sent, Unreachable
from storage.models import WeChatWindow
from storage.repositories.wechat import WeChatRepository
from storage.uow import Database

log = logging.getLogger(__name__)

WINDOW_CLOSED = frozenset({45015, 45047})  # out of the 48 h window; the window's sends used up
GONE = frozenset({43004, 43019, 40003})  # unfollowed, blocked us, not a follower of this account
NOTICE_REFUSED = 43101  # the follower has not (or no longer) accepted this template
DAILY_QUOTA = 45009  # the account's daily calls of this API are used up
TOO_FAST = 45011
PARALLEL_CHATS = 8


class WeChatTransport:
    channel = CHANNEL
    batch_size = 20

    def __init__(
        self,
        db: Database,
        api: WeChatApi,
        notices: Notices,
        locales: LocaleGuess,
        *,
        zone: str,
        clock: Clock = system_clock,
        wake: Callable[[], object] = lambda: None,
    ) -> None:
        self.db, self.api, self.notices, self.locales = db, api, notices, locales
        self.zone, self.clock, self.wake = zone, clock, wake
        self._gate = asyncio.Semaphore(PARALLEL_CHATS)
        self.sent_custom = 0
        self.sent_notices = 0

    def _repository(self, session: object) -> WeChatRepository:
        return WeChatRepository(session, "sqlite" if self.db.sqlite else "postgresql")  # type: ignore[arg-type]

    def busy_recipients(self) -> Sequence[str]:
        return ()

    async def deliver(self, batch: Sequence[Delivery], started: Started | None = None) -> list[tuple[int, Outcome]]:
        """Chats side by side, each strictly in order. A broadcast row is recorded as started before it goes."""
        ordered = sorted(batch, key=lambda d: d.id)
        if started is not None and any(d.at_most_once for d in ordered):
            await started([d.id for d in ordered if d.at_most_once], [])
        async with self.db.reading() as uow:
            windows = await self._repository(uow.session).windows([d.recipient for d in ordered])
        chats: dict[str, list[Delivery]] = {}
        for delivery in ordered:
            chats.setdefault(delivery.recipient, []).append(delivery)
        done = await asyncio.gather(*(self._deliver_chat(rows, windows.get(chat)) for chat, rows in chats.items()))
        return [result for chunk in done for result in chunk]

    async def _deliver_chat(self, rows: list[Delivery], window: WeChatWindow | None) -> list[tuple[int, Outcome]]:
        results: list[tuple[int, Outcome]] = []
        async with self._gate:
            for index, delivery in enumerate(rows):
                outcome = await self._send(delivery, window)
                results.append((delivery.id, outcome))
                rest = rows[index + 1 :]
                if isinstance(outcome, Unreachable):
                    results.extend((d.id, outcome) for d in rest)
                    break
                if isinstance(outcome, Failed) and outcome.retry:
                    results.extend((d.id, RetryAfter(30)) for d in rest)  # behind the failed one, in order
                    break
                if isinstance(outcome, RetryAfter):
                    results.extend((d.id, RetryAfter(outcome.seconds)) for d in rest)
                    break
        return results

    def _closed_now(self, window: WeChatWindow | None, needed: int, now: datetime) -> bool:
        """What we know says WeChat would refuse (no record: we do not know, so WeChat is asked)."""
        return window is not None and (window.until <= now or window.sends_left < needed)

    async def _send(self, delivery: Delivery, window: WeChatWindow | None) -> Outcome:
        if delivery.payload.get("edit_message_id"):
            return Sent()  # WeChat cannot edit a message in place: a progress update would be a new message each time
        reply = Reply.from_payload(delivery.payload)
        parts = render(reply, self.locales.say(reply))
        first = min(delivery.parts_sent, len(parts) - 1)
        needed = len(parts) - first
        now = self.clock()
        if self._closed_now(window, needed, now):
            return await self._window_closed(delivery, first)
        if window is not None:
            async with self.db() as uow:
                reserved = await self._repository(uow.session).use_send(delivery.recipient, now, needed)
                await uow.commit()
            if not reserved:
                return await self._window_closed(delivery, first)
        return await self._send_parts(delivery, parts, first)

    async def _send_parts(self, delivery: Delivery, parts: list[Part], first: int) -> Outcome:
        last: str | None = None
        for number in range(first, len(parts)):
            try:
                answer = await self.api.send_custom(delivery.recipient, parts[number].custom())
            except WeChatError as error:
                return await self._refused(delivery, error, number)
            self.sent_custom += 1
            last = str(answer.get("msgid") or "") or None
        return Sent(last)

    async def _refused(self, delivery: Delivery, error: WeChatError, parts_sent: int) -> Outcome:
        code = error.code
        if code in WINDOW_CLOSED:
            async with self.db() as uow:
                await self._repository(uow.session).close_window(delivery.recipient, self.clock())
                await uow.commit()
            return await self._window_closed(delivery, parts_sent)
        if code in GONE:
            return Unreachable(f"wechat {code}")
        if code == DAILY_QUOTA:
            log.error("wechat: the daily quota of customer-service messages is used up")
            return RetryAfter(3600, parts_sent)
        if code == TOO_FAST:
            return RetryAfter(60, parts_sent)
        if code in (-1, -2, -3) or code in TOKEN_ERRORS:
            return Failed(f"wechat {code}", parts_sent=parts_sent)
        log.error("wechat refused outbox message %d: %s", delivery.id, error)
        return Failed(f"wechat {code}", retry=False, parts_sent=parts_sent)

    async def _window_closed(self, delivery: Delivery, parts_sent: int) -> Outcome:
        """A notification when the row is a notice and the follower granted its template; otherwise not now: the
        ladder takes it on."""
        if delivery.at_most_once:
            return Failed("wechat window closed", retry=False)  # a broadcast is not worth a place in the ladder
        return await self.notify(delivery, delivery.recipient, "window_closed")

    async def notify(self, delivery: Delivery, openid: str, closed: str) -> Outcome:
        """A subscription notification of the row's notice to `openid`, filled from its facts, once per grant."""
        template = self.notices.for_row(delivery.payload)
        if template is None:
            return NotNow(closed or "no_template")
        async with self.db() as uow:
            granted = await self._repository(uow.session).use_grant(openid, template.id, self.clock())
            await uow.commit()
        if not granted:
            return NotNow("not_granted")
        values = values_of(delivery.payload, self.clock(), self.zone)
        try:
            answer = await self.api.send_notice(openid, template.id, template.fill(values), template.page)
        except WeChatError as error:
            if error.code in GONE:
                return Unreachable(f"wechat {error.code}") if openid == delivery.recipient else NotNow("unfollowed")
            if error.code == NOTICE_REFUSED:
                async with self.db() as uow:
                    await self._repository(uow.session).drop_grant(openid, template.id)
                    await uow.commit()
                return NotNow("not_granted")
            if error.code in (-1, -2, -3) or error.code in TOKEN_ERRORS:
                return Failed(f"wechat {error.code}")
            log.warning("wechat: notification %s refused (%s)", template.name, error.code)
            return NotNow("notice_refused")
        self.sent_notices += 1
        return Sent(f"notice:{answer.get('msgid') or ''}"[:64])


class WeChatNoticeTransport:
    """The ladder's notice rung: a row for another chat of a person who also follows the account (the web chat page
    was closed) goes to them as a subscription notification, when they granted its template."""

    rung = NOTICE
    channel = "wechat-notice"
    batch_size = 20

    def __init__(self, transport: WeChatTransport) -> None:
        self.transport = transport

    def busy_recipients(self) -> Sequence[str]:
        return ()

    async def deliver(self, batch: Sequence[Delivery], started: Started | None = None) -> list[tuple[int, Outcome]]:
        results: list[tuple[int, Outcome]] = []
        for delivery in batch:
            openid = await self._openid(delivery)
            outcome = NotNow("no_follower") if openid is None else await self.transport.notify(delivery, openid, "")
            results.append((delivery.id, outcome))
        return results

    async def _openid(self, delivery: Delivery) -> str | None:
        if delivery.person_id is None:
            return None
        db = self.transport.db
        async with db.reading() as uow:
            ways = await uow.reach.ways(delivery.person_id, self.transport.clock())
        return next((w.external_id for w in ways if w.channel == CHANNEL and w.reachable), None)
