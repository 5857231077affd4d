"""The WeChat Official Account channel: verifies and decrypts what WeChat pushes to /wechat, hands it to the desk,
and answers within WeChat's five seconds — the replies in the HTTP response when the turn commits in time, otherwise
`success` and the replies by the customer-service API, never both. Nothing is acknowledged before it is committed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime

from aiohttp import web

from bot.channels.base import Channel
from bot.channels.text_menu import LocaleGuess, menu_of
from bot.channels.wechat.api import WeChatApi
from bot.channels.wechat.crypto import Forged, MessageCrypto, signature_ok
from bot.channels.wechat.notices import load_notices
from bot.channels.wechat.render import passive_text
from bot.channels.wechat.transport import WeChatNoticeTransport, WeChatTransport
from bot.channels.wechat.updates import CHANNEL, Received, receive
from bot.channels.wechat.wire import Message, Unreadable, encrypted_reply, parse, text_reply
from bot.config import Settings
from bot.sender import Transport
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Incoming, Reply
from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import Sent, chat_gone, settle
from handlers.desk import Desk, Handled, Record
from storage.repositories.wechat import WeChatRepository
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

PATH = "/wechat"
SUCCESS = "success"  # WeChat's word for "taken, nothing to show now, do not retry"
WECHAT_PATIENCE = 4.8  # WeChat drops the connection after 5 s and retries; past this an answer is not read
WECHAT_TRIES = 3  # the first push and WeChat's retries of it
RETRY_MEMORY = 30.0  # seconds a finished turn's passive answer is kept, for a retry after that answer was lost
SHOWN_LOOKBACK = 10  # recent rows searched for the choices the follower was last shown


@dataclass(frozen=True)
class Context:
    """How to answer one request: to whom, from which account, encrypted or not."""

    openid: str
    account: str
    encrypted: bool
    nonce: str


@dataclass
class _Waiter:
    arrived: float
    context: Context
    answer: asyncio.Future[web.Response]
    request: web.Request

    @property
    def listening(self) -> bool:
        """WeChat still holds this request's connection (it closes it after five seconds and tries again)."""
        transport = self.request.transport
        return transport is not None and not transport.is_closing()


@dataclass
class _Turn:
    requests: int = 1
    waiters: list[_Waiter] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    finished: bool = False
    passive: str | None = None  # the text answered passively, repeated to a retry only if it never got out
    handed: web.Response | None = None  # that answer, as given to a request whose connection was open


class WeChatChannel(Channel):
    name = CHANNEL

    def __init__(
        self, desk: Desk, db: Database, translator: Translator, settings: Settings, *, clock: Clock = system_clock
    ) -> None:
        assert settings.wechat_token is not None and settings.wechat_app_id is not None
        super().__init__()
        self.desk, self.db, self.t, self.clock = desk, db, translator, clock
        self.token = settings.wechat_token.get_secret_value()
        self.app_id = settings.wechat_app_id
        aes = settings.wechat_encoding_aes_key
        self.crypto = MessageCrypto(self.token, aes.get_secret_value(), self.app_id) if aes is not None else None
        secret = settings.wechat_app_secret.get_secret_value() if settings.wechat_app_secret else ""
        if not secret:
            log.warning("wechat: WECHAT_APP_SECRET is not set: only passive replies can be sent")
        self.api = WeChatApi(db, settings.wechat_api_base, self.app_id, secret, clock=clock)
        self.locales = LocaleGuess(translator)
        self.notices = load_notices(settings.wechat_notices_file)
        self.transport = WeChatTransport(
            db, self.api, self.notices, self.locales, zone=settings.timezone, clock=clock, wake=self._wake_sender
        )
        self.budget = settings.wechat_passive_budget
        self.max_body = settings.wechat_max_body
        self.freshness = settings.wechat_timestamp_window
        self._turns: dict[str, _Turn] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.passive_answers = 0
        self.deferred_answers = 0

    @property
    def dialect(self) -> str:
        return "sqlite" if self.db.sqlite else "postgresql"

    def transports(self) -> list[Transport]:
        assert isinstance(self.transport, WeChatTransport)
        return [self.transport, WeChatNoticeTransport(self.transport)]

    def install(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.verify)
        app.router.add_post(PATH, self.push)

    async def close(self) -> None:
        """After the sender stopped: finish recording what was answered, then close the API connection."""
        turns = [t.task for t in self._turns.values() if t.task is not None and not t.task.done()]
        pending = [*turns, *self._background]
        if pending:
            await asyncio.wait(pending, timeout=10)
        await self.api.close()

    def _wake_sender(self) -> None:
        self.wake()

    # ---- who is calling

    def _fresh(self, timestamp: str) -> bool:
        try:
            return abs(time.time() - int(timestamp)) <= self.freshness
        except ValueError:
            return False

    def _signed(self, request: web.Request) -> bool:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not timestamp or not nonce or not self._fresh(timestamp):
            return False
        return signature_ok(query.get("signature", ""), self.token, timestamp, nonce)

    async def verify(self, request: web.Request) -> web.Response:
        """The admin console checks the URL: the echo string back when the signature is ours."""
        if not self._signed(request):
            log.warning("wechat: URL verification with a wrong or stale signature")
            return web.Response(status=403)
        return web.Response(text=request.query.get("echostr", ""), content_type="text/plain")

    async def _body(self, request: web.Request) -> bytes | None:
        if request.content_length is not None and request.content_length > self.max_body:
            return None
        body = await request.content.read(self.max_body + 1)
        return None if len(body) > self.max_body else body

    def _open(self, request: web.Request, body: bytes) -> tuple[Message, bool]:
        """The message and whether it came encrypted. Raises Forged or Unreadable."""
        envelope = parse(body)
        if request.query.get("encrypt_type", "raw").lower() != "aes":
            if self.crypto is not None:
                raise Forged("plain text while safe mode is configured")
            return envelope, False
        if self.crypto is None:
            raise Forged("encrypted message without WECHAT_ENCODING_AES_KEY")
        encrypted = envelope.get("Encrypt")
        query = request.query
        if not encrypted or not self.crypto.msg_signature_ok(
            query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", ""), encrypted
        ):
            raise Forged("wrong msg_signature")
        return parse(self.crypto.decrypt(encrypted).encode()), True

    async def push(self, request: web.Request) -> web.Response:
        if not self._signed(request):
            log.warning("wechat: push with a wrong or stale signature refused")
            return web.Response(status=403)
        body = await self._body(request)
        if body is None:
            log.warning("wechat: push over %d bytes refused", self.max_body)
            return web.Response(status=413)
        try:
            message, encrypted = self._open(request, body)
        except Forged as forged:
            log.warning("wechat: push refused (%s)", forged)
            return web.Response(status=403)
        except Unreadable as unreadable:
            log.warning("wechat: unreadable push refused (%s)", unreadable)
            return web.Response(status=400)
        openid = request.query.get("openid")
        if openid is not None and openid != message.get("FromUserName"):
            log.warning("wechat: push whose sender differs from its signed openid refused")
            return web.Response(status=403)
        received = receive(message)
        if received is None:
            return web.Response(text=SUCCESS, content_type="text/plain")
        context = Context(received.openid, message.get("ToUserName"), encrypted, request.query.get("nonce", ""))
        return await self._answer(received, context, request)

    # ---- one update, answered once, whatever WeChat retries

    def _success(self) -> web.Response:
        return web.Response(text=SUCCESS, content_type="text/plain")

    def _passive(self, text: str, context: Context) -> web.Response:
        xml = text_reply(context.openid, context.account, text)
        if context.encrypted and self.crypto is not None:
            timestamp = str(int(time.time()))
            sealed = self.crypto.encrypt(xml)
            xml = encrypted_reply(sealed, self.crypto.sign(timestamp, context.nonce, sealed), timestamp, context.nonce)
        return web.Response(text=xml, content_type="application/xml")

    async def _hand_over(self, turn: _Turn, answer: web.Response, request: web.Request) -> web.Response:
        """Write the passive answer now, to know whether it got out: when the connection closed first, a retry of
        WeChat's may have it instead."""
        try:
            if request.transport is None or request.transport.is_closing():
                raise ConnectionResetError("closed before the answer")
            await answer.prepare(request)
            await answer.write_eof()
        except (ConnectionError, RuntimeError):
            log.warning("wechat: a passive answer did not get out; a retry will hear it")
            if turn.handed is answer:
                turn.handed = None
        return answer

    async def _answer(self, received: Received, context: Context, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        turn = self._turns.get(received.key)
        if turn is None:
            turn = self._turns[received.key] = _Turn()
            turn.task = asyncio.create_task(self._run(received.key, turn, received), name=f"wechat-{received.key}")
        else:
            turn.requests += 1  # WeChat's retry: it joins the turn already running, or hears how it ended
            if turn.finished:
                # The answer went out on an open connection: a repeat (however close behind, however loaded the
                # machine) hears `success`, so the follower sees one answer. Only an answer that never got out is
                # given again.
                if turn.passive is None or turn.handed is not None:
                    return self._success()
                turn.handed = self._passive(turn.passive, context)
                return await self._hand_over(turn, turn.handed, request)
        waiter = _Waiter(loop.time(), context, loop.create_future(), request)
        turn.waiters.append(waiter)
        try:
            answer = await asyncio.wait_for(asyncio.shield(waiter.answer), WECHAT_PATIENCE)
            return await self._hand_over(turn, answer, request) if answer is turn.handed else answer
        except TimeoutError:
            with contextlib.suppress(ValueError):
                turn.waiters.remove(waiter)
            if turn.requests >= WECHAT_TRIES:
                # WeChat tries no more after this: take it, so the follower sees no error; the turn is still running
                # and its replies go by the customer-service API once it commits.
                log.warning("wechat: a turn is slower than WeChat's last retry; answering success")
                return self._success()
            return web.Response(status=503)  # WeChat has stopped listening; its retry joins the running turn

    async def _run(self, key: str, turn: _Turn, received: Received) -> None:
        try:
            handled = await self._handle(received)
        except Exception as error:
            log.error("wechat: update not committed (%s); WeChat will push it again", type(error).__name__)
            self._turns.pop(key, None)  # the retry starts afresh
            for waiter in turn.waiters:
                if not waiter.answer.done():
                    waiter.answer.set_result(web.Response(status=503))
            return
        self._finish(key, turn, handled, received)

    async def _handle(self, received: Received) -> Handled | None:
        if received.incoming is None:
            await self._record_only(received)
            return None
        incoming = await self._with_choice(received.incoming)
        return await self.desk.handle(incoming, send_now=self.send_now is not None, record=self._window(received))

    def _finish(self, key: str, turn: _Turn, handled: Handled | None, received: Received) -> None:
        now = asyncio.get_running_loop().time()
        live = [w for w in turn.waiters if not w.answer.done() and now - w.arrived <= self.budget and w.listening]
        text = None
        if handled is not None and handled.taken and live:
            text = passive_text([Reply.from_payload(d.payload) for d in handled.taken], self.locales.say)
        if text is not None:
            turn.handed = self._passive(text, live[-1].context)
            live[-1].answer.set_result(turn.handed)  # the newest: WeChat still listens there
            turn.passive = text
            self.passive_answers += 1
        elif handled is not None and handled.taken:
            self.deferred_answers += 1
        for waiter in turn.waiters:
            if not waiter.answer.done():
                waiter.answer.set_result(self._success())
        turn.finished = True
        asyncio.get_running_loop().call_later(RETRY_MEMORY, self._turns.pop, key, None)
        if handled is not None:
            task = asyncio.create_task(self._after(received, handled, passive=text is not None), name="wechat-after")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _after(self, received: Received, handled: Handled, *, passive: bool) -> None:
        """After the answer, off WeChat's five seconds: the passive answer is recorded as sent; the deferred
        replies go by the customer-service API."""
        for attempt in range(5 if passive else 0):
            try:
                await settle(self.db, [(d.id, Sent("passive")) for d in handled.taken], self.clock)
                break
            except Exception as error:
                log.warning("wechat: recording passive answers failed (%s)", type(error).__name__)
                await asyncio.sleep(0.5 * 2**attempt)
        if not passive and handled.taken and self.send_now is not None:
            self.send_now(handled.taken)
        for callback in self.on_handled:
            callback(handled)

    # ---- around the turn: the window it opens, the choice a typed number names, what events record

    def _window(self, received: Received) -> Record | None:
        """The follower wrote (a message, a click, a follow, a scan): their window opens again, in the turn's own
        transaction (so nothing sent after the answer can find it closed)."""
        if received.window is None:
            return None
        sends, seconds = received.window

        async def opened(uow: UnitOfWork, now: datetime) -> None:
            await WeChatRepository(uow.session, self.dialect).open_window(received.openid, sends, seconds, now)

        return opened

    async def _with_choice(self, incoming: Incoming) -> Incoming:
        """A typed number or an option's words become the choice among those the follower was last shown."""
        if incoming.choice is not None or not incoming.text or incoming.command is not None:
            return incoming
        async with self.db.reading() as uow:
            payloads = await WeChatRepository(uow.session, self.dialect).recent_shown(
                CHANNEL, incoming.chat_id, SHOWN_LOOKBACK
            )
            shown = next((p for p in map(uow.outbox.open, payloads) if p.get("buttons")), None)
        if shown is None:
            return incoming
        data = menu_of(shown).pick(incoming.text)
        return incoming if data is None else replace(incoming, text=None, choice=data)

    async def _record_only(self, received: Received) -> None:
        """Events without a conversation: an unfollow (unreachable from now on) and notification grants."""
        if not received.unfollowed and not received.grants:
            return
        now = self.clock()
        released = 0
        async with self.db() as uow:
            if not await uow.inbox.record(CHANNEL, received.key, now):
                return
            repository = WeChatRepository(uow.session, self.dialect)
            if received.unfollowed:
                await chat_gone(uow, CHANNEL, received.openid, now)
                await repository.close_window(received.openid, now)
            for template_id, status in received.grants:
                accepted = status == "accept"
                await repository.record_grant(
                    received.openid, template_id, accepted, self.notices.long_term(template_id), now
                )
            identity = await uow.people.identity(CHANNEL, received.openid)
            if identity is not None and any(status == "accept" for _, status in received.grants):
                # What waited for them may now go as a notification.
                released = await uow.reach.release_waiting(identity.person_id, CHANNEL, received.openid, now)
            await uow.commit()
        if released:
            self._wake_sender()
