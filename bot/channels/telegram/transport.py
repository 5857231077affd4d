"""The outbox sender's Telegram side: renders rows and sends them within Telegram's limits, in order per chat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Message

from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.pace import ChatPaces, Pace
from bot.channels.telegram.render import Part, Rendered, render, split_text
from bot.channels.telegram.updates import CHANNEL
from handlers.delivery import Delivery, Failed, Outcome, RetryAfter, Sent, Unreachable, backoff
from handlers.messages import Reply

log = logging.getLogger(__name__)

HORIZON = 0.05  # wait inside a batch for a chat's next slot at most this long, so one chat never slows the batch
WAKE_MARGIN = 0.1  # the sender settles a deferred row a little after we decided; wake it once the row is due
MAX_INLINE_PAUSE = 3.0  # a global pause shorter than this is waited out inside the batch
# A claim holds about this many seconds of sending: a citizen's reply never waits longer behind a broadcast, and a
# kill -9 leaves at most one claim's rows uncertain (broadcast rows are then given up, never sent twice).
BATCH_SECONDS = 0.25
GONE = ("chat not found", "user is deactivated", "bot was kicked", "have no rights to send", "peer_id_invalid")


class _Deferred(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class TelegramTransport:
    channel = CHANNEL

    def __init__(
        self,
        bot: Bot,
        signer: CallbackSigner,
        request_hint: Callable[[Reply], str],
        *,
        wake: Callable[[], object] = lambda: None,
        rate: float = 30.0,
        concurrency: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.signer = signer
        self.request_hint = request_hint
        self.wake = wake
        self.clock = clock
        self.batch_size = max(int(rate * BATCH_SECONDS), 10)
        self.overall = Pace(rate, max(int(rate), 1))
        self.chats = ChatPaces(clock)
        self._calls = asyncio.Semaphore(concurrency)
        self._paused_until = 0.0  # a 429 pauses every chat: we cannot tell a global flood limit from a chat's
        self._held: dict[str, float] = {}  # chat → not before (a 429, a back-off, or its pace)
        self._progress: dict[int, int] = {}  # outbox id → parts already sent, so a retry does not repeat them
        self._keyboards: set[str] = set()  # chats where our contact/location keyboard is open

    # ---- the Transport protocol

    def busy_recipients(self) -> Sequence[str]:
        now = self.clock()
        for chat in [c for c, until in self._held.items() if until <= now]:
            del self._held[chat]
        return list(self._held)

    async def deliver(self, batch: Sequence[Delivery]) -> list[tuple[int, Outcome]]:
        pause = self._paused_until - self.clock()
        if pause > MAX_INLINE_PAUSE:
            asyncio.get_running_loop().call_later(pause + WAKE_MARGIN, self.wake)
            return [(d.id, RetryAfter(pause)) for d in batch]
        if pause > 0:
            await asyncio.sleep(pause)
        by_chat: dict[str, list[Delivery]] = {}
        for delivery in sorted(batch, key=lambda d: d.id):
            by_chat.setdefault(delivery.recipient, []).append(delivery)
        done = await asyncio.gather(*(self._deliver_chat(chat, rows) for chat, rows in by_chat.items()))
        self.chats.prune()
        return [result for chunk in done for result in chunk]

    # ---- one chat, strictly in order

    def _hold(self, chat: str, seconds: float) -> None:
        self._held[chat] = max(self._held.get(chat, 0.0), self.clock() + seconds)
        asyncio.get_running_loop().call_later(seconds + WAKE_MARGIN, self.wake)

    def _waiting(self, chat: str) -> float:
        now = self.clock()
        return max(self._paused_until - now, self._held.get(chat, 0.0) - now, 0.0)

    async def _deliver_chat(self, chat: str, rows: list[Delivery]) -> list[tuple[int, Outcome]]:
        results: list[tuple[int, Outcome]] = []
        for index, delivery in enumerate(rows):
            rest = rows[index + 1 :]
            try:
                outcome = await self._send(delivery)
            except _Deferred as deferred:
                self._hold(chat, deferred.seconds)
                results.extend((d.id, RetryAfter(deferred.seconds)) for d in rows[index:])
                break
            results.append((delivery.id, outcome))
            if isinstance(outcome, RetryAfter):
                results.extend((d.id, RetryAfter(outcome.seconds)) for d in rest)
                break
            if isinstance(outcome, Unreachable):
                results.extend((d.id, outcome) for d in rest)
                break
            if isinstance(outcome, Failed) and outcome.retry:
                # Later messages wait behind the failed one, so the chat still reads them in order.
                seconds = backoff(delivery.attempts).total_seconds()
                self._hold(chat, seconds)
                results.extend((d.id, RetryAfter(seconds)) for d in rest)
                break
        return results

    async def _slot(self, chat: str) -> None:
        """Wait for the chat's pace and the overall pace; defer if that is too long or a pause began."""
        waiting = self._waiting(chat)
        if waiting > 0:
            raise _Deferred(waiting)
        delay = self.chats.delay(chat)
        if delay > HORIZON:
            raise _Deferred(delay)
        now = self.clock()
        wait = max(delay, self.overall.delay(now))
        self.chats.take(chat, now + wait)
        self.overall.take(now + wait)
        if wait > 0:
            await asyncio.sleep(wait)
        waiting = self._waiting(chat)
        if waiting > 0:
            raise _Deferred(waiting)

    async def _send(self, delivery: Delivery) -> Outcome:
        chat = delivery.recipient
        # A payload with `edit_message_id` changes that earlier message in place (a broadcast's progress).
        edit = str(delivery.payload.get("edit_message_id") or "") or None
        if edit is not None:
            rendered = Rendered((Part(split_text(str(delivery.payload.get("text", "")))[0]),), chat in self._keyboards)
        else:
            rendered = render(
                Reply.from_payload(delivery.payload),
                chat_id=chat,
                signer=self.signer,
                keyboard_shown=chat in self._keyboards,
                request_hint=self.request_hint,
            )
        start = self._progress.get(delivery.id, 0)
        last: Message | None = None
        for number in range(start, len(rendered.parts)):
            try:
                await self._slot(chat)
            except _Deferred:
                self._remember(delivery.id, number)
                raise
            try:
                async with self._calls:
                    waiting = self._waiting(chat)
                    if waiting > 0:  # a 429 came back while this one queued for a connection
                        self._remember(delivery.id, number)
                        raise _Deferred(waiting)
                    if edit is not None:
                        await self._edit(chat, edit, rendered.parts[number])
                        return Sent(edit)
                    last = await self._call(chat, rendered.parts[number])
            except TelegramRetryAfter as error:
                self._remember(delivery.id, number)
                seconds = float(error.retry_after)
                self._paused_until = max(self._paused_until, self.clock() + seconds)
                self._hold(chat, seconds)
                log.warning("telegram 429: pausing sends for %ss", seconds)
                return RetryAfter(seconds)
            except TelegramForbiddenError as error:
                self._progress.pop(delivery.id, None)
                return Unreachable(f"403 {error.message}")
            except TelegramBadRequest as error:
                self._progress.pop(delivery.id, None)
                if edit is not None and "not modified" in error.message.lower():
                    return Sent(edit)  # the same text again: the message already shows it
                if any(sign in error.message.lower() for sign in GONE):
                    return Unreachable(f"400 {error.message}")
                log.error("telegram refused outbox message %d: %s", delivery.id, error.message)
                return Failed(f"400 {error.message}", retry=False)
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as error:
                self._remember(delivery.id, number)
                return Failed(type(error).__name__)
        self._progress.pop(delivery.id, None)
        if rendered.keyboard_shown:
            self._keyboards.add(chat)
        else:
            self._keyboards.discard(chat)
        return Sent(str(last.message_id) if last is not None else None)

    def _remember(self, delivery_id: int, parts_sent: int) -> None:
        if parts_sent:
            self._progress[delivery_id] = parts_sent
        if len(self._progress) > 10_000:  # rows that never came back (dropped, sent by another process)
            self._progress.clear()

    async def _edit(self, chat: str, message_id: str, part: Part) -> None:
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        await self.bot.edit_message_text(text=part.text or "", chat_id=chat_id, message_id=int(message_id))

    async def _call(self, chat: str, part: Part) -> Message:
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        if part.photo is not None:
            return await self.bot.send_photo(chat_id, photo=part.photo, caption=part.text, reply_markup=part.markup)
        return await self.bot.send_message(chat_id, part.text or "", reply_markup=part.markup)
