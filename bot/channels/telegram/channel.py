"""The Telegram channel: receives updates (long polling or webhook), hands them to the desk, acknowledges only
after the desk committed, answers button presses, and keeps the commands menus."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Coroutine, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import ClientDecodeError, TelegramRetryAfter
from aiogram.methods.base import Response
from aiogram.types import CallbackQuery, Update
from aiohttp import web
from pydantic import ValidationError

from bot.channels.base import Channel
from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.commands import publish_chat_menu, publish_citizen_menu
from bot.channels.telegram.transport import TelegramTransport
from bot.channels.telegram.updates import ALLOWED_UPDATES, CHANNEL, Received, chat_of, receive
from bot.channels.throttle import RateLimiter
from bot.config import Settings
from handlers.citizen.privacy.copy import NAME_PREFIX as COPY_NAME
from handlers.citizen.privacy.copy import open_copy
from handlers.conversation.i18n import SUPPORTED, Translator
from handlers.conversation.messages import Reply
from handlers.desk import Desk
from storage.uow import Database

log = logging.getLogger(__name__)

HEADROOM = 0.97  # paced to the request's start: what arrives jitters by milliseconds, and Telegram counts arrivals


def share(ceiling: float, processes: int) -> float:
    """One process's sends a second: Telegram counts the whole bot, so N processes each take 1/N of its ceiling,
    a little under it so that the network's jitter cannot put one more into any second."""
    return ceiling / max(processes, 1) * HEADROOM


# aiogram parses every answer as `Response[<the method's result type>]`; pydantic keeps such a parametrised model only
# weakly, so a garbage collection drops it and the next answer rebuilds it (~4 ms of schema work, on every reply's
# path). Built once here and held for the process's life.
RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        methods.GetUpdates,
        methods.SendMessage,
        methods.SendPhoto,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.SetMyCommands,
        methods.DeleteMyCommands,
        methods.SetWebhook,
        methods.DeleteWebhook,
        methods.GetMe,
    )
)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
MAX_UNCOMMITTED = 10_000  # throttle decisions kept for updates that Telegram will deliver again
PARALLEL_CHATS = 32  # chats of one getUpdates batch handled at the same time; one chat is always in order


class TelegramChannel(Channel):
    name = CHANNEL

    def __init__(
        self,
        desk: Desk,
        db: Database,
        translator: Translator,
        settings: Settings,
        *,
        signing_secret: bytes,
    ) -> None:
        assert settings.telegram_bot_token is not None
        super().__init__()
        self.desk, self.db, self.t = desk, db, translator
        self.settings = settings
        api = TelegramAPIServer.from_base(settings.telegram_api_base) if settings.telegram_api_base else None
        session = AiohttpSession(api=api) if api else AiohttpSession()
        self.bot = Bot(
            settings.telegram_bot_token.get_secret_value(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )
        self.signer = CallbackSigner.derive(signing_secret)
        self.transport = TelegramTransport(
            self.bot,
            self.signer,
            self.request_hint,
            rate=share(settings.telegram_rate_per_second, settings.shishi_processes),
            wake=self._wake_sender,
            files=settings.shishi_data_dir / "uploads",
            images=self._image,
        )
        self.throttle = RateLimiter(settings.telegram_user_rate, settings.telegram_user_burst)
        self._told_to_slow: dict[int, float] = {}
        self._uncommitted: dict[str, bool] = {}  # update key → throttled?, for updates that failed to commit
        self.webhook_url = settings.telegram_webhook_url
        given = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
        self.webhook_secret = given or hmac.new(signing_secret, b"shishi/telegram/webhook", hashlib.sha256).hexdigest()
        self.poll_timeout = settings.telegram_poll_timeout
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[None]] = set()  # menu refreshes in flight
        self._offset: int | None = None
        self._acknowledged: int | None = None
        self._stopping = False
        self._handling = False  # a polled batch is being handled

    # ---- wiring

    @property
    def webhook_path(self) -> str:
        return (urlsplit(self.webhook_url).path or DEFAULT_WEBHOOK_PATH) if self.webhook_url else DEFAULT_WEBHOOK_PATH

    def install(self, app: web.Application) -> None:
        if self.webhook_url:
            app.router.add_post(self.webhook_path, self.webhook)

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._register(), name="telegram-register"))

    async def stop(self, grace: float = 3.0) -> None:
        """Take no more updates. A batch being handled finishes first (within `grace`), so its replies reach the
        sender before it stops and its offset is confirmed; a long poll that is only waiting is cut at once."""
        self._stopping = True
        if self._handling:
            await asyncio.wait([t for t in self._tasks if not t.done()], timeout=grace)
        for task in [*self._tasks, *self._jobs]:
            task.cancel()
        for task in [*self._tasks, *self._jobs]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._offset is not None and self._offset != self._acknowledged:
            # Confirm what was committed, so a polite restart does not fetch it again (a repeat would be harmless).
            with contextlib.suppress(Exception):
                await self.bot.get_updates(offset=self._offset, limit=1, timeout=0, request_timeout=5)

    async def close(self) -> None:
        """After the sender stopped: the replies still on their way needed the connection."""
        await self.bot.session.close()

    async def _register(self) -> None:
        """Webhook or polling, then the menus; retried until the Bot API answers."""
        delay = 1.0
        while True:
            try:
                if self.webhook_url:
                    await self.bot.set_webhook(
                        self.webhook_url,
                        secret_token=self.webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                        drop_pending_updates=False,
                    )
                else:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("telegram: cannot register (%s), retrying in %.0fs", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
        if not self.webhook_url:
            self._tasks.append(asyncio.create_task(self._poll(), name="telegram-poll"))
        log.info("telegram: %s", f"webhook at {self.webhook_path}" if self.webhook_url else "long polling")
        await self.publish_menus()

    async def publish_menus(self) -> None:
        try:
            await publish_citizen_menu(self.bot, self.t)
            for chat in await self.desk.staff_chats(CHANNEL):
                await publish_chat_menu(self.bot, self.t, chat.external_id, chat.role, chat.locale)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("telegram: commands menu not published (%s)", type(error).__name__)

    async def refresh_commands(self, chat_id: str) -> None:
        """The hook for /join (and any role change): show this chat the menu that fits who it is now."""
        try:
            found = await self.desk.staff_chats(CHANNEL, chat_id)
            if found:
                await publish_chat_menu(self.bot, self.t, chat_id, found[0].role, found[0].locale)
            else:
                await publish_chat_menu(self.bot, self.t, chat_id, None, self.t.default)
        except Exception as error:
            log.warning("telegram: commands of a chat not refreshed (%s)", type(error).__name__)

    def _wake_sender(self) -> None:
        """Something is due for this channel (a deferred row, a notice)."""
        self.wake()

    async def _image(self, name: str) -> bytes | None:
        """A file the desk made for a chat, to upload: a /ledger chart, or a /mydata copy (#16)."""
        if name.startswith(COPY_NAME) and name.endswith(".json"):
            return await open_copy(self.db, name.removeprefix(COPY_NAME).removesuffix(".json"), self.desk.clock(),
                                   once=False)  # fmt: skip
        async with self.db.reading() as uow:
            image = await uow.ledger.charts.get(name)
            return image.png if image is not None else None

    def request_hint(self, reply: Reply) -> str:
        """The line above a contact/location keyboard, in the language the reply was written in."""
        msgid = f"request.{reply.request}"
        locale = next((code for code in SUPPORTED if self.t(code, msgid) == reply.request_label), self.t.default)
        return self.t(locale, f"telegram.request_hint.{reply.request}")

    # ---- one update

    async def process(self, update: Update) -> None:
        """Returns once the update's effects are committed (or it had none); raises when they could not be."""
        received = receive(update)
        if received is None:
            return
        key = received.incoming.update_key
        # A redelivery of an update that could not be committed gets the decision it had: it spends no new token,
        # so an outage answered with 5xx does not empty the sender's bucket and turn their message into a refusal.
        throttled = self._uncommitted.pop(key, None)
        if throttled is None:
            throttled = received.user_id is not None and not self.throttle.allow(str(received.user_id))
        try:
            if throttled:
                await self._slow_down(received)
            else:
                await self._take(received)
        except BaseException:  # an outage, or the webhook's deadline cancelling the turn
            self._uncommitted[key] = throttled
            while len(self._uncommitted) > MAX_UNCOMMITTED:
                del self._uncommitted[next(iter(self._uncommitted))]
            raise

    async def _take(self, received: Received) -> None:
        incoming = received.incoming
        if received.callback is not None:
            choice = self.signer.verify(incoming.chat_id, received.signed_choice)
            if choice is None:
                locale = self.t.locale_for(incoming.language)
                await self._answer(received.callback, self.t(locale, "input.stale_button"))
                return
            incoming = replace(incoming, choice=choice)
        handled = await self.desk.handle(incoming, send_now=self.send_now is not None)
        self.committed(handled)
        if received.callback is not None:
            self._later(self._answer(received.callback))
        for channel, chat_id in handled.commands_changed:  # a join, also one whose name came in a later message
            if channel == CHANNEL:
                self._later(self.refresh_commands(chat_id))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Off the update's path: the poll (or the webhook's answer) waits only for the commit."""
        job = asyncio.create_task(work)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _answer(self, query: CallbackQuery, text: str | None = None) -> None:
        """Always answer a button press, or the phone shows a spinner; a late answer is not worth a retry."""
        try:
            await self.bot.answer_callback_query(query.id, text=text, request_timeout=10)
        except Exception as error:
            log.info("telegram: callback not answered (%s)", type(error).__name__)

    async def _slow_down(self, received: Received) -> None:
        """A flooding user hears it once per flood; their extra updates are recorded without effect. Like any other
        update, a refused one is acknowledged only once that is committed: raises when it could not be."""
        user = received.user_id or 0
        now = time.monotonic()
        tell = self._told_to_slow.get(user, 0.0) <= now
        if tell:  # marked before the await, so a second refusal arriving meanwhile does not tell them twice
            calm = self.settings.telegram_user_burst / max(self.settings.telegram_user_rate, 0.01)
            self._told_to_slow[user] = now + calm
            if len(self._told_to_slow) > 10_000:
                self._told_to_slow = {k: v for k, v in self._told_to_slow.items() if v > now}
        try:
            handled = await self.desk.record_throttled(received.incoming, "error.rate_limited" if tell else None)
        except Exception:
            if tell:
                self._told_to_slow.pop(user, None)
            raise
        if handled.messages:
            self._wake_sender()
        if received.callback is not None:
            self._later(self._answer(received.callback))

    # ---- webhook: 200 only after commit

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return web.Response(status=401)
        try:
            raw = await request.json()
        except Exception:
            return web.Response(status=400)
        update = self._read(raw)
        if update is None:
            return web.Response(status=400)
        if isinstance(update, int):
            return web.json_response({})  # unreadable, logged: taken, so Telegram does not hold the queue for it
        try:
            # A database that does not answer gets the update a 503 within the deadline: Telegram delivers it again
            # (and holds the chat's later updates) instead of every webhook connection hanging on it.
            async with asyncio.timeout(self.settings.request_deadline):
                await self.process(update)
        except Exception as error:
            log.error(
                "telegram: update %d not committed (%s); Telegram will deliver it again",
                update.update_id,
                type(error).__name__,
            )
            return web.Response(status=503)
        return web.json_response({})

    # ---- long polling: the offset moves only past committed updates

    async def _poll(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=self._offset,
                    timeout=self.poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    request_timeout=self.poll_timeout + 15,
                )
            except asyncio.CancelledError:
                raise
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)
                continue
            except ClientDecodeError as error:
                salvaged = self._salvage(error.data)
                if salvaged is None:
                    failures += 1
                    log.warning("telegram: getUpdates answer unreadable")
                    await asyncio.sleep(min(2.0**failures, 30.0))
                    continue
                updates, unreadable = salvaged
            except Exception as error:
                failures += 1
                log.warning("telegram: getUpdates failed (%s)", type(error).__name__)
                await asyncio.sleep(min(2.0**failures, 30.0))
                continue
            else:
                unreadable = []
            failures = 0
            self._acknowledged = self._offset
            if not updates and not unreadable:
                continue
            self._handling = True
            try:
                next_offset, complete = await self.handle_batch(updates)
            finally:
                self._handling = False
            if complete and unreadable:
                next_offset = max(next_offset or 0, max(unreadable) + 1)
            if next_offset is not None:
                self._offset = next_offset
            if self._stopping:
                return
            if not complete:
                await asyncio.sleep(2.0)  # the database is down: ask again (the same updates) in a moment

    def _salvage(self, answer: object) -> tuple[list[Update], list[int]] | None:
        """getUpdates held an update aiogram cannot read (a newer Bot API, a malformed field): read the others one by
        one, and skip the unreadable ones, so one of them never stalls every chat behind it. The log names the update
        and the fields, never their values (they are citizens' words)."""
        if not isinstance(answer, dict) or not isinstance(answer.get("result"), list):
            return None
        updates: list[Update] = []
        unreadable: list[int] = []
        for raw in answer["result"]:
            update = self._read(raw)
            if update is None:
                return None
            if isinstance(update, int):
                unreadable.append(update)
            else:
                updates.append(update)
        return updates, unreadable

    def _read(self, raw: object) -> Update | int | None:
        """The update; or, when aiogram cannot read it, its id (logged by field names, never values); or None when
        it is not an update at all."""
        try:
            return Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as error:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                return None
            fields = sorted({".".join(str(part) for part in e["loc"]) for e in error.errors(include_input=False)})
            log.error("telegram: update %d cannot be read (%s); skipped", update_id, ", ".join(fields)[:300])
            return update_id

    async def handle_batch(self, updates: Iterable[Update]) -> tuple[int | None, bool]:
        """(the offset that acknowledges every committed update and nothing after the first failure, all done?)"""
        ordered = sorted(updates, key=lambda u: u.update_id)
        if not ordered:
            return None, True
        chats: dict[str, list[Update]] = {}
        for update in ordered:
            chats.setdefault(chat_of(update), []).append(update)
        failed: list[int] = []
        gate = asyncio.Semaphore(PARALLEL_CHATS)

        async def run(chat_updates: list[Update]) -> None:
            async with gate:
                for update in chat_updates:
                    try:
                        await self.process(update)
                    except Exception as error:
                        log.error("telegram: update %d not committed (%s)", update.update_id, type(error).__name__)
                        failed.append(update.update_id)
                        return

        await asyncio.gather(*(run(chat_updates) for chat_updates in chats.values()))
        if failed:
            first = min(failed)
            return (first if first > ordered[0].update_id else None), False
        return ordered[-1].update_id + 1, True
