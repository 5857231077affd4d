"""The outbox sender's Telegram side: renders rows and sends them within Telegram's limits, in order per chat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, FSInputFile, Message

from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.pace import ChatPaces, Pace
from bot.channels.telegram.render import Part, Rendered, render, split_text
from bot.channels.telegram.updates import CHANNEL
from bot.channels.webchat.uploads import upload_path
from bot.sender import Started
from handlers.conversation.messages import Reply
from handlers.delivery import Delivery, Failed, Outcome, RetryAfter, Sent, Unreachable, backoff
from handlers.ledger.chat import MEDIA

log = logging.getLogger(__name__)

WEBCHAT_REF = "webchat:"  # a web chat upload's ref (bot/channels/webchat/uploads.py)

HORIZON = 0.05  # wait inside a batch for a chat's next slot at most this long, so one chat never slows the batch
WAKE_MARGIN = 0.1  # the sender settles a deferred row a little after we decided; wake it once the row is due
MAX_INLINE_PAUSE = 3.0  # a global pause shorter than this is waited out inside the batch
# A claim holds about this many seconds of sending: a citizen's reply never waits longer behind a broadcast, and a
# kill -9 leaves at most one claim's rows uncertain (broadcast rows are then given up, never sent twice).
BATCH_SECONDS = 0.25
SLICE_SECONDS = 0.02  # at-most-once rows are recorded as started this much sending at a time (see _deliver_marked)
GONE = ("chat not found", "user is deactivated", "bot was kicked", "have no rights to send", "peer_id_invalid")


class _Deferred(Exception):
    def __init__(self, seconds: float, parts_sent: int = 0) -> None:
        self.seconds = seconds
        self.parts_sent = parts_sent


class TelegramTransport:
    channel = CHANNEL

    def __init__(
        self,
        bot: Bot,
        signer: CallbackSigner,
        request_hint: Callable[[Reply], str],
        *,
        wake: Callable[[], object] = lambda: None,
        files: Path | None = None,
        images: Callable[[str], Awaitable[bytes | None]] | None = None,
        rate: float = 30.0,
        concurrency: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.signer = signer
        self.request_hint = request_hint
        self.wake = wake
        self.files = files  # the web chat's uploads folder: a web chat citizen's file goes up from there
        self.images = images  # an image the desk made (a /ledger chart, "media:<name>"), by name: uploaded
        self.clock = clock
        self.batch_size = max(int(rate * BATCH_SECONDS), 10)
        # A slice of at-most-once rows goes at once: no more than the open connections, so its requests leave
        # together; the overall pace bursts one slice at most (no one-second window holds more than the limit).
        self.slice_size = max(min(int(rate * SLICE_SECONDS), concurrency), 1)
        self.overall = Pace(rate, self.slice_size)
        self.chats = ChatPaces(clock)
        self._calls = asyncio.Semaphore(concurrency)
        self._mark_seconds = 0.0  # how long recording a slice as started takes (a moving average)
        self._paused_until = 0.0  # a 429 pauses every chat: we cannot tell a global flood limit from a chat's
        self._held: dict[str, float] = {}  # chat → not before (a 429, a back-off, or its pace)
        self._keyboards: set[str] = set()  # chats where our contact/location keyboard is open
        self._hurry = False  # the process is stopping: no new request goes out, the rows wait for the restart

    # ---- the Transport protocol

    def hurry(self) -> None:
        """The process is stopping: requests on the wire finish; every row not yet on its way comes back as
        RetryAfter(0), due again at once after the restart (see OutboxSender.stop)."""
        self._hurry = True

    def busy_recipients(self) -> Sequence[str]:
        now = self.clock()
        for chat in [c for c, until in self._held.items() if until <= now]:
            del self._held[chat]
        return list(self._held)

    async def deliver(self, batch: Sequence[Delivery], started: Started | None = None) -> list[tuple[int, Outcome]]:
        if self._hurry:
            return [(d.id, RetryAfter(0.0)) for d in batch]
        pause = self._paused_until - self.clock()
        if pause > MAX_INLINE_PAUSE:
            asyncio.get_running_loop().call_later(pause + WAKE_MARGIN, self.wake)
            return [(d.id, RetryAfter(pause)) for d in batch]
        if pause > 0:
            await asyncio.sleep(pause)
        ordered = sorted(batch, key=lambda d: d.id)
        if started is None or not any(d.at_most_once for d in ordered):
            results, _ = await self._deliver_chats(ordered, {})
        else:
            results = await self._deliver_marked(ordered, started)
        self.chats.prune()
        return results

    async def _deliver_marked(self, ordered: list[Delivery], started: Started) -> list[tuple[int, Outcome]]:
        """At-most-once rows go a slice at a time: wait until the pace lets the whole slice go, record its rows as
        started (settling the slice before in the same transaction), then send them together. A kill -9 leaves
        uncertain only the slice on its way; the rest of the claim is claimed again and sent after all."""
        size = self.slice_size
        results: list[tuple[int, Outcome]] = []
        stopped: dict[str, Outcome] = {}  # a chat that stopped in an earlier slice: its later rows share that fate
        settled = 0  # results before this index went to the database with the last `started`
        for start in range(0, len(ordered), size):
            part = ordered[start : start + size]
            # Record the slice while its turn comes near, so the slice goes on time and right after its record.
            await asyncio.sleep(self.overall.delay_for(len(part), self.clock()) - self._mark_seconds)
            going: list[Delivery] = []
            for delivery in part:
                chat = delivery.recipient
                if self._hurry and chat not in stopped:
                    stopped[chat] = RetryAfter(0.0)  # not started, so never given up as uncertain
                if chat not in stopped:
                    waiting = max(self._waiting(chat), self.chats.delay(chat))
                    if waiting > HORIZON:  # it would be deferred anyway: not started, not sent
                        self._hold(chat, waiting)
                        stopped[chat] = RetryAfter(waiting)
                if chat in stopped:
                    results.append((delivery.id, stopped[chat]))
                else:
                    going.append(delivery)
            if not going:
                continue
            marking = self.clock()
            await started([d.id for d in going if d.at_most_once], results[settled:])
            self._mark_seconds = 0.8 * self._mark_seconds + 0.2 * (self.clock() - marking)
            settled = len(results)
            done, more = await self._deliver_chats(going, stopped)
            results.extend(done)
            stopped.update(more)
        return results

    async def _deliver_chats(
        self, rows: list[Delivery], stopped: dict[str, Outcome]
    ) -> tuple[list[tuple[int, Outcome]], dict[str, Outcome]]:
        """Chats side by side, each strictly in order; returns the results and the chats that stopped, with the
        outcome their remaining rows get."""
        by_chat: dict[str, list[Delivery]] = {}
        for delivery in rows:
            by_chat.setdefault(delivery.recipient, []).append(delivery)
        done = await asyncio.gather(*(self._deliver_chat(chat, chat_rows) for chat, chat_rows in by_chat.items()))
        results = [result for chunk, _ in done for result in chunk]
        return results, {chat: rest for (chat, (_, rest)) in zip(by_chat, done, strict=True) if rest is not None}

    # ---- one chat, strictly in order

    def _hold(self, chat: str, seconds: float) -> None:
        self._held[chat] = max(self._held.get(chat, 0.0), self.clock() + seconds)
        asyncio.get_running_loop().call_later(seconds + WAKE_MARGIN, self.wake)

    def _waiting(self, chat: str) -> float:
        now = self.clock()
        return max(self._paused_until - now, self._held.get(chat, 0.0) - now, 0.0)

    async def _deliver_chat(self, chat: str, rows: list[Delivery]) -> tuple[list[tuple[int, Outcome]], Outcome | None]:
        """(results, the outcome for this chat's later rows if it had to stop)."""
        results: list[tuple[int, Outcome]] = []
        for index, delivery in enumerate(rows):
            rest = rows[index + 1 :]
            try:
                outcome = await self._send(delivery)
            except _Deferred as deferred:
                self._hold(chat, deferred.seconds)
                results.append((delivery.id, RetryAfter(deferred.seconds, deferred.parts_sent)))
                results.extend((d.id, RetryAfter(deferred.seconds)) for d in rest)
                return results, RetryAfter(deferred.seconds)
            results.append((delivery.id, outcome))
            if isinstance(outcome, RetryAfter):
                results.extend((d.id, RetryAfter(outcome.seconds)) for d in rest)  # none of theirs went yet
                return results, RetryAfter(outcome.seconds)
            if isinstance(outcome, Unreachable):
                results.extend((d.id, outcome) for d in rest)
                return results, outcome
            if isinstance(outcome, Failed) and outcome.retry:
                # Later messages wait behind the failed one, so the chat still reads them in order.
                seconds = backoff(delivery.attempts).total_seconds()
                self._hold(chat, seconds)
                results.extend((d.id, RetryAfter(seconds)) for d in rest)
                return results, RetryAfter(seconds)
        return results, None

    async def _slot(self, chat: str) -> None:
        """Wait for the chat's pace and the overall pace; defer if that is too long, a pause began, or the process
        is stopping."""
        if self._hurry:
            raise _Deferred(0.0)
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
        if self._hurry:
            raise _Deferred(0.0)
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
        last: Message | None = None
        for number in range(min(delivery.parts_sent, len(rendered.parts) - 1), len(rendered.parts)):
            try:
                await self._slot(chat)
            except _Deferred as deferred:
                raise _Deferred(deferred.seconds, number) from None
            try:
                async with self._calls:
                    waiting = 0.0 if self._hurry else self._waiting(chat)
                    if waiting > 0 or self._hurry:  # a 429 came back (or a stop began) while this one queued
                        raise _Deferred(waiting, number)
                    if edit is not None:
                        await self._edit(chat, edit, rendered.parts[number])
                        return Sent(edit)
                    last = await self._call(chat, rendered.parts[number])
            except TelegramRetryAfter as error:
                seconds = float(error.retry_after)
                self._paused_until = max(self._paused_until, self.clock() + seconds)
                self._hold(chat, seconds)
                log.warning("telegram 429: pausing sends for %ss", seconds)
                return RetryAfter(seconds, number)
            except TelegramForbiddenError as error:
                return Unreachable(f"403 {error.message}")
            except TelegramBadRequest as error:
                if edit is not None and "not modified" in error.message.lower():
                    return Sent(edit)  # the same text again: the message already shows it
                if any(sign in error.message.lower() for sign in GONE):
                    return Unreachable(f"400 {error.message}")
                log.error("telegram refused outbox message %d: %s", delivery.id, error.message)
                return Failed(f"400 {error.message}", retry=False)
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as error:
                return Failed(type(error).__name__, parts_sent=number)
        if rendered.keyboard_shown:
            self._keyboards.add(chat)
        else:
            self._keyboards.discard(chat)
        return Sent(str(last.message_id) if last is not None else None)

    async def _edit(self, chat: str, message_id: str, part: Part) -> None:
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        await self.bot.edit_message_text(text=part.text or "", chat_id=chat_id, message_id=int(message_id))

    async def _call(self, chat: str, part: Part) -> Message:
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        if part.photo is not None:
            media: str | FSInputFile | BufferedInputFile = part.photo
            if part.photo.startswith(MEDIA):
                name = part.photo.removeprefix(MEDIA)
                image = await self.images(name) if self.images is not None else None
                if image is None:  # gone (kept a day): the text still goes
                    return await self.bot.send_message(chat_id, part.text or "📊 ✗", reply_markup=part.markup)
                media = BufferedInputFile(image, filename=name)
            elif part.photo.startswith(WEBCHAT_REF):
                found = upload_path(self.files, part.photo) if self.files is not None else None
                if found is None:  # removed, or not on this machine: say so rather than fail the row
                    return await self.bot.send_message(chat_id, "📎 ✗", reply_markup=part.markup)
                media = FSInputFile(found)
            if part.media == "photo":
                return await self.bot.send_photo(chat_id, photo=media, caption=part.text, reply_markup=part.markup)
            if part.media == "voice":
                return await self.bot.send_voice(chat_id, voice=media, caption=part.text, reply_markup=part.markup)
            if part.media == "audio":
                return await self.bot.send_audio(chat_id, audio=media, caption=part.text, reply_markup=part.markup)
            if part.media == "video":
                return await self.bot.send_video(chat_id, video=media, caption=part.text, reply_markup=part.markup)
            return await self.bot.send_document(chat_id, document=media, caption=part.text, reply_markup=part.markup)
        return await self.bot.send_message(chat_id, part.text or "", reply_markup=part.markup)
