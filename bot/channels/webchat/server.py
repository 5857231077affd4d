"""Web chat routes: the page, the message API, the WebSocket push with a long-poll fallback, and the guards."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.base import Channel
from bot.channels.throttle import RateLimiter
from bot.channels.webchat.live import CHANNEL, MAX_CURSOR, Cursor, Hub, WebChatTransport, chat_id_for
from bot.channels.webchat.sessions import Sessions
from bot.channels.webchat.uploads import UploadQuota, UploadRefused, Uploads, upload_path
from bot.channels.webchat.wakeups import Wakeups
from bot.config import Settings
from handlers.citizen.link import oauth_join
from handlers.citizen.push import remember_push, valid_subscription
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Attachment, Contact, Incoming, Location
from handlers.desk import Desk
from handlers.ledger.chat import MEDIA
from storage.repositories.webchat import due_transcript, message_for
from storage.uow import Database

log = logging.getLogger(__name__)

COOKIE = "shishi_sid"
STATIC = Path(__file__).parent / "static"
HISTORY = 100
MAX_ATTACHMENTS = 5
RETRY_AFTER = "2"
OAUTH_STATE = "wechat"  # the state the OA menu's OAuth link carries back (see demo/wechat_menu.toml)
PRESENCE = timedelta(seconds=45)  # an open page is believed open this long after it was last written down
PRESENCE_EVERY = 20.0  # seconds between writing it down again
UI_KEYS = (
    "webchat.title",
    "webchat.subtitle",
    "webchat.footer",
    "webchat.placeholder",
    "webchat.send",
    "webchat.phone_placeholder",
    "webchat.offline",
    "webchat.you",
    "webchat.attach",
    "webchat.type_phone",
    "webchat.photo_sent",
    "webchat.voice_sent",
    "webchat.upload_failed",
    "request.contact",
    "request.location",
    "webchat.location_refused",
)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
)


class WebChat(Channel):
    name = CHANNEL

    def __init__(self, desk: Desk, db: Database, translator: Translator, settings: Settings) -> None:
        super().__init__()
        self.desk, self.db, self.t, self.settings = desk, db, translator, settings
        self.hub = Hub()
        self.wakeups = Wakeups(db, self.hub.notify, self.hub.notify_all)  # rows other processes write
        self.transport = WebChatTransport(self.hub, db, desk.clock)
        self._present_marks: dict[str, float] = {}  # chat → when its open page was last written down
        # Set by the composition root (issue #14): the VAPID key pages subscribe to pushes with, and with WeChat
        # configured, the OAuth look-up of the follower who opened the page from the OA's menu.
        self.push_key: str | None = None
        self.openid_for_code: Callable[[str], Awaitable[str]] | None = None
        self.per_session = RateLimiter(settings.webchat_session_rate, settings.webchat_session_burst)
        self.per_address = RateLimiter(settings.webchat_address_rate, settings.webchat_address_burst)
        self.allowed_origins = {o.strip().rstrip("/") for o in settings.webchat_allowed_origins.split(",") if o.strip()}
        self.trusted_proxies = _networks(settings.webchat_trusted_proxies)
        self.sessions = Sessions(*db.cipher.hash_keys)
        self.uploads = Uploads(
            settings.shishi_data_dir / "uploads",
            settings.webchat_max_upload,
            UploadQuota(
                per_chat=settings.webchat_max_uploads,
                per_address=settings.webchat_address_uploads,
                per_address_bytes=settings.webchat_address_upload_bytes,
                unattached_bytes=settings.webchat_upload_total_bytes,
            ),
        )
        self.static_files = {p.name for p in STATIC.iterdir() if p.is_file() and p.name != "index.html"}
        self._sockets: set[web.WebSocketResponse] = set()
        self._closing = False
        self._sweeper: asyncio.Task[None] | None = None

    async def shutdown(self, app: web.Application | None = None) -> None:
        """The server is stopping: long polls answer now and sockets close as "going away", so the page
        reconnects to whichever process serves next instead of holding this one's stop."""
        self._closing = True
        self.hub.notify_all()
        closing = [ws.close(code=WSCloseCode.GOING_AWAY, message=b"restart") for ws in list(self._sockets)]
        if closing:  # a page that does not answer the closing handshake is not waited for long
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), timeout=2.0)

    async def _start_sweeping(self, app: web.Application) -> None:
        self._sweeper = asyncio.create_task(self.uploads.sweep_forever(self.db, self.desk.clock), name="uploads")

    async def _stop_sweeping(self, app: web.Application) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    def install(self, app: web.Application) -> None:
        app.on_startup.append(self._start_sweeping)
        self.wakeups.install(app)
        app.on_shutdown.append(self.shutdown)
        app.on_cleanup.append(self._stop_sweeping)
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/ui", self.ui)
        app.router.add_get("/api/messages", self.poll)
        app.router.add_post("/api/messages", self.post)
        app.router.add_post("/api/upload", self.upload)
        app.router.add_get("/ws", self.socket)
        app.router.add_get("/api/push", self.push_key_for_page)
        app.router.add_post("/api/push", self.push_subscribe)
        app.router.add_get("/sw.js", self.service_worker)
        app.router.add_get("/api/file/{id}", self.file)

    # ---- session, headers, guards

    def _session(self, request: web.Request) -> tuple[str, str | None]:
        """(chat id, a new token to set) — a new session, issued here, unless the cookie holds one we issued."""
        token = request.cookies.get(COOKIE, "")
        if self.sessions.valid(token):
            return chat_id_for(token), None
        token = self.sessions.issue()
        return chat_id_for(token), token

    def session_chat(self, request: web.Request) -> str | None:
        """The chat of the session the request's cookie holds, when we issued it (another server route asks)."""
        token = request.cookies.get(COOKIE, "")
        return chat_id_for(token) if self.sessions.valid(token) else None

    def _set_cookie(self, request: web.Request, response: web.StreamResponse, token: str | None) -> None:
        if token:
            secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
            response.set_cookie(
                COOKIE, token, max_age=365 * 86400, httponly=True, samesite="Lax", secure=secure, path="/"
            )

    def _headers(self, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = CSP.format(ancestors=self.settings.webchat_frame_ancestors)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"

    def _locale(self, request: web.Request) -> str:
        return self.t.locale_for(request.headers.get("Accept-Language"))

    def _unavailable(self, request: web.Request) -> web.Response:
        """The database did not answer in time: nothing was done; the page may send the same key again."""
        response = self._refuse(request, 503, "error.internal")
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    def _refuse(self, request: web.Request, status: int, msgid: str, **params: object) -> web.Response:
        response = web.json_response({"error": self.t(self._locale(request), msgid, **params)}, status=status)
        self._headers(response)
        if status == 429:
            response.headers["Retry-After"] = RETRY_AFTER
        return response

    def client_address(self, request: web.Request) -> str:
        """The peer, or behind a trusted reverse proxy the last address it saw that is not one of ours."""
        peer = request.remote or "unknown"
        if not self.trusted_proxies or not _within(peer, self.trusted_proxies):
            return peer
        hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
        for hop in reversed(hops):
            if not _within(hop, self.trusted_proxies):
                return hop
        return peer

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser; the cookie still binds the session
        origin = origin.rstrip("/")
        own = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
        return origin in own or origin in self.allowed_origins

    def _throttled(self, request: web.Request, chat_id: str) -> bool:
        address = self.client_address(request)
        # Check both buckets every time, so a flooding session also spends its address's tokens.
        session_ok = self.per_session.allow(chat_id)
        address_ok = self.per_address.allow(address)
        return not (session_ok and address_ok)

    # ---- routes

    async def page(self, request: web.Request) -> web.StreamResponse:
        chat_id, token = self._session(request)
        code = request.query.get("code")
        if code and request.query.get("state") == OAUTH_STATE and self.openid_for_code is not None:
            # Opened from the OA's menu through WeChat's OAuth (snsapi_base): this page is that follower.
            await self._join_follower(chat_id, code)
            response: web.StreamResponse = web.Response(status=302, headers={"Location": "/"})
            self._set_cookie(request, response, token)
            return response
        response = web.FileResponse(STATIC / "index.html")
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def _join_follower(self, chat_id: str, code: str) -> None:
        assert self.openid_for_code is not None
        try:
            async with asyncio.timeout(self.settings.request_deadline):
                openid = await self.openid_for_code(code)
                told = await oauth_join(
                    self.db, self.t, self.desk.rules.default_locale, chat_id, openid, self.desk.clock()
                )
        except Exception as error:  # the page opens all the same, as a page of its own
            log.warning("web chat: WeChat OAuth did not identify the follower (%s)", type(error).__name__)
            return
        for _, recipient in told:
            self.hub.notify(recipient)

    async def push_key_for_page(self, request: web.Request) -> web.Response:
        """The VAPID public key the page subscribes with, and the words of its bell."""
        if self.push_key is None:
            return self._refuse(request, 404, "webchat.push_refused")
        chat_id, _ = self._session(request)
        try:
            async with asyncio.timeout(self.settings.request_deadline):
                consented = await self.desk.has_consent(CHANNEL, chat_id)  # offered only after the privacy notice
        except Exception as error:
            _log_unavailable("web push offer unavailable", error)
            return self._unavailable(request)
        locale = self._locale(request)
        words = {
            "offer": self.t(locale, "webchat.push_offer"),
            "on": self.t(locale, "webchat.push_on"),
            "refused": self.t(locale, "webchat.push_refused"),
        }
        response = web.json_response({"key": self.push_key, "consented": consented, **words})
        self._headers(response)
        return response

    async def push_subscribe(self, request: web.Request) -> web.Response:
        """The browser's PushSubscription, kept for this session's person once they agreed to the privacy notice."""
        chat_id, token = self._session(request)
        if not self._origin_ok(request):
            return self._refuse(request, 403, "webchat.origin_refused")
        if token or self.push_key is None:
            return self._refuse(request, 401, "webchat.reload")
        try:
            info = valid_subscription(await request.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            info = None
        if info is None:
            return self._refuse(request, 400, "webchat.bad_request")
        try:
            async with asyncio.timeout(self.settings.request_deadline):
                kept = await remember_push(self.db, CHANNEL, chat_id, info, self.desk.clock())
        except Exception as error:
            _log_unavailable("web push subscription not kept", error)
            return self._unavailable(request)
        if not kept:
            return self._refuse(request, 403, "webchat.upload_consent")
        response = web.json_response({"ok": True}, status=201)
        self._headers(response)
        return response

    async def service_worker(self, request: web.Request) -> web.StreamResponse:
        """The service worker shows a push and opens the chat at its ticket; served at the root for its scope."""
        response = web.FileResponse(STATIC / "sw.js")
        self._headers(response)
        response.headers["Service-Worker-Allowed"] = "/"
        response.headers["Content-Type"] = "text/javascript; charset=utf-8"
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.static_files:  # a fixed list: no path tricks, no NUL bytes reach the file system
            raise web.HTTPNotFound()
        response = web.FileResponse(STATIC / name)
        self._headers(response)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    async def ui(self, request: web.Request) -> web.Response:
        """The page's own words, in the chat's chosen language (/lang), else the browser's."""
        locale = self._locale(request)
        token = request.cookies.get(COOKIE, "")
        if self.sessions.valid(token):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.settings.request_deadline), self.db.reading() as uow:
                    identity = await uow.people.identity(CHANNEL, chat_id_for(token))
                    if identity is not None:
                        locale = (await uow.people.get(identity.person_id)).locale
        response = web.json_response({"locale": locale, "strings": {k: self.t(locale, k) for k in UI_KEYS}})
        self._headers(response)
        return response

    async def _transcript(self, chat_id: str, cursor: Cursor) -> tuple[list[dict[str, Any]], Cursor]:
        """The messages due since the cursor (a message held for quiet hours shows when it is due, not before) and
        the cursor that follows them."""
        now = self.desk.clock()
        async with self.db.reading() as uow:
            after, held_since = cursor.after, cursor.held_since
            if after <= 0:
                last = await uow.outbox.last_id(CHANNEL, chat_id)
                after, held_since = (max(last - HISTORY, 0) if last else 0), None
            rows = await due_transcript(
                uow.session, CHANNEL, chat_id, after=after, held_since=held_since, now=now, limit=HISTORY
            )
            messages = [_with_files({"id": r.id, **uow.outbox.open(r.payload)}) for r in rows]
        return messages, Cursor(max([after, *(r.id for r in rows)]), now)

    def _incoming(self, chat_id: str, body: dict[str, Any], request: web.Request) -> Incoming | None:
        key = body.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= 64:
            return None
        text, choice, contact = body.get("text"), body.get("choice"), body.get("contact")
        if not all(_utf8(v) for v in (key, text, choice, contact) if isinstance(v, str)):
            return None  # a lone surrogate (a JSON \ud800 escape on its own) could not even be stored
        if text is not None and not isinstance(text, str):
            return None
        if choice is not None and (not isinstance(choice, str) or len(choice) > 64):
            return None
        if contact is not None and (not isinstance(contact, str) or len(contact) > 32):
            return None
        attachments = self._attachments(chat_id, body.get("attachments"))
        if attachments is None:
            return None
        location = _location(body.get("location"))
        if location is False:
            return None
        if text is None and choice is None and contact is None and not attachments and location is None:
            text = ""
        return Incoming(
            channel=CHANNEL,
            chat_id=chat_id,
            update_key=f"{chat_id}:{key}",
            text=text,
            choice=choice,
            contact=Contact(phone=contact, own=True) if contact else None,
            location=location if isinstance(location, Location) else None,
            attachments=attachments,
            language=request.headers.get("Accept-Language"),
            origin=self.client_address(request),
        )

    def _attachments(self, chat_id: str, listed: Any) -> tuple[Attachment, ...] | None:
        """Only files this chat uploaded itself; the kind comes from what the file is, not from the client."""
        if listed is None:
            return ()
        if not isinstance(listed, list) or len(listed) > MAX_ATTACHMENTS:
            return None
        found = []
        for item in listed:
            name = item.get("ref") if isinstance(item, dict) else None
            stored = self.uploads.find(chat_id, name) if isinstance(name, str) else None
            if stored is None:
                return None
            found.append(Attachment(kind=stored.kind, ref=f"webchat:{chat_id}/{stored.name}", size=stored.size))
        return tuple(found)

    async def _handle(self, incoming: Incoming) -> None:
        handled = await self.desk.handle(incoming)
        for channel, recipient in handled.touched:
            if channel == CHANNEL:
                self.hub.notify(recipient)
        self.committed(handled)

    async def post(self, request: web.Request) -> web.Response:
        chat_id, token = self._session(request)
        if not self._origin_ok(request):
            return self._refuse(request, 403, "webchat.origin_refused")
        if self._throttled(request, chat_id):
            return self._refuse(request, 429, "error.rate_limited")
        try:
            body = await request.json()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(request, 413, "error.too_large")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._refuse(request, 400, "webchat.bad_request")
        incoming = self._incoming(chat_id, body if isinstance(body, dict) else {}, request)
        if incoming is None:
            return self._refuse(request, 400, "webchat.bad_request")
        try:
            async with asyncio.timeout(self.settings.request_deadline):
                await self._handle(incoming)
                messages, cursor = await self._transcript(chat_id, Cursor.read(body.get("after")) or Cursor())
        except Exception as error:
            _log_unavailable("web chat message could not be stored", error)
            return self._unavailable(request)
        response = web.json_response({"messages": messages, "cursor": cursor.encode()})
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def poll(self, request: web.Request) -> web.Response:
        """The fallback when WebSockets are blocked: long-poll for messages after a cursor."""
        chat_id, token = self._session(request)
        after = Cursor.read(request.query.get("after", "0"))
        try:
            wait = float(request.query.get("wait", "0"))
        except ValueError:
            after = None
        if after is None:
            return self._refuse(request, 400, "webchat.bad_request")
        wait = min(max(wait, 0.0), 25.0) if wait == wait else 0.0  # NaN waits not at all
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        if wait > 0:
            await self._mark_present(chat_id)
        with self.hub.listen(chat_id) as event:
            while True:
                event.clear()  # before reading: a reply queued while we read still wakes us
                try:
                    async with asyncio.timeout(self.settings.request_deadline):
                        messages, cursor = await self._transcript(chat_id, after)
                except Exception as error:
                    _log_unavailable("web chat transcript unavailable", error)
                    return self._unavailable(request)
                after = cursor
                remaining = deadline - loop.time()
                if messages or remaining <= 0 or self._closing:
                    break
                # A wake without news (the sender settling rows), or a row held for quiet hours falling due.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, self.wakeups.relook))
        response = web.json_response({"messages": messages, "cursor": cursor.encode()})
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            return self._refuse(request, 403, "webchat.origin_refused")
        chat_id, token = self._session(request)
        if token:  # a socket cannot set a cookie: the page must be loaded first
            return self._refuse(request, 401, "webchat.reload")
        cursor = Cursor.read(request.query.get("after", "0") or "0")
        if cursor is None:
            return self._refuse(request, 400, "webchat.bad_request")
        ws = web.WebSocketResponse(heartbeat=25, max_msg_size=self.settings.webchat_max_body)
        await ws.prepare(request)
        self._sockets.add(ws)
        await self._mark_present(chat_id)
        with self.hub.listen(chat_id) as event:
            pusher = asyncio.create_task(self._push(ws, chat_id, cursor, event))
            try:
                async for message in ws:
                    if message.type != WSMsgType.TEXT:
                        continue
                    await self._socket_message(request, ws, chat_id, message.data)
            finally:
                self._sockets.discard(ws)
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher
        await self._mark_gone(chat_id)
        return ws

    async def _mark_present(self, chat_id: str) -> None:
        """This chat's page is open: written down for the other processes' senders, at most every PRESENCE_EVERY."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._present_marks.get(chat_id, -PRESENCE_EVERY) < PRESENCE_EVERY:
            return
        self._present_marks[chat_id] = loop.time()
        try:
            async with asyncio.timeout(self.settings.request_deadline), self.db() as uow:
                await uow.reach.mark_present(chat_id, self.desk.clock() + PRESENCE)
                await uow.commit()
        except Exception as error:  # the page works on; the ladder may push to it in vain meanwhile
            _log_unavailable("web chat presence not recorded", error)

    async def _mark_gone(self, chat_id: str) -> None:
        self._present_marks.pop(chat_id, None)
        if self.hub.listening(chat_id):
            return  # another page of the chat is still open here
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.settings.request_deadline), self.db() as uow:
                await uow.reach.mark_gone(chat_id)
                await uow.commit()

    async def _push(self, ws: web.WebSocketResponse, chat_id: str, cursor: Cursor, event: asyncio.Event) -> None:
        while not ws.closed:
            event.clear()
            try:
                async with asyncio.timeout(self.settings.request_deadline):
                    messages, cursor = await self._transcript(chat_id, cursor)
            except Exception as error:  # the database is away: the socket stays, the push looks again soon
                _log_unavailable("web chat push paused", error)
                messages = []
            if messages:
                await ws.send_json({"type": "messages", "messages": messages, "cursor": cursor.encode()})
            await self._mark_present(chat_id)
            with contextlib.suppress(TimeoutError):
                # Other processes' rows wake us too (wakeups.py); a row held for quiet hours is found by looking.
                await asyncio.wait_for(event.wait(), timeout=self.wakeups.relook)

    async def _socket_message(self, request: web.Request, ws: web.WebSocketResponse, chat_id: str, data: str) -> None:
        locale = self._locale(request)
        if self._throttled(request, chat_id):
            await ws.send_json({"type": "error", "text": self.t(locale, "error.rate_limited")})
            return
        try:
            body = json.loads(data)
        except json.JSONDecodeError:
            body = None
        incoming = self._incoming(chat_id, body, request) if isinstance(body, dict) else None
        if incoming is None:
            await ws.send_json({"type": "error", "text": self.t(locale, "webchat.bad_request")})
            return
        try:
            async with asyncio.timeout(self.settings.request_deadline):
                await self._handle(incoming)
        except Exception as error:
            _log_unavailable("web chat message could not be stored", error)
            text = self.t(locale, "error.internal")
            await ws.send_json({"type": "error", "text": text, "key": body.get("key"), "retry": True})
            return
        await ws.send_json({"type": "ack", "key": body.get("key")})

    async def upload(self, request: web.Request) -> web.Response:
        """One photo or voice note as multipart/form-data; the answer's `ref` goes into a message's attachments."""
        chat_id, token = self._session(request)
        if not self._origin_ok(request):
            return self._refuse(request, 403, "webchat.origin_refused")
        if token:
            return self._refuse(request, 401, "webchat.reload")
        if self._throttled(request, chat_id):
            return self._refuse(request, 429, "error.rate_limited")
        limit = self.settings.webchat_max_upload
        megabytes = max(limit // (1024 * 1024), 1)
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            return self._refuse(request, 413, "webchat.upload_too_large", max=megabytes)
        address = self.db.cipher.lookup_hash(self.client_address(request))
        try:
            async with asyncio.timeout(self.settings.request_deadline):
                if not await self.desk.has_consent(CHANNEL, chat_id):  # a file may hold personal data
                    return self._refuse(request, 403, "webchat.upload_consent")
            reader = await request.multipart()
            part = await reader.next()
            while part is not None and not (isinstance(part, BodyPartReader) and part.name == "file"):
                part = await reader.next()
            if part is None:
                return self._refuse(request, 400, "webchat.upload_empty")
            stored = await self.uploads.store(
                self.db, chat_id, address, part, self.desk.clock, self.settings.request_deadline
            )
        except UploadRefused as refused:
            files = self.uploads.quota.per_chat
            return self._refuse(request, refused.status, refused.msgid, max=megabytes, files=files)
        except (AssertionError, ValueError, KeyError):  # aiohttp's words for "this is not multipart"
            return self._refuse(request, 400, "webchat.bad_request")
        except Exception as error:
            _log_unavailable("web chat upload could not be recorded", error)
            return self._unavailable(request)
        response = web.json_response({"ref": stored.name, "kind": stored.kind, "size": stored.size})
        self._headers(response)
        return response

    async def file(self, request: web.Request) -> web.StreamResponse:
        """The file a message of this chat carries (a citizen's photo an officer opened, a broadcast's image): only
        to the chat the message was for, so the desk's decision to send it is the permission to read it."""
        chat_id, token = self._session(request)
        raw = request.match_info["id"]
        if token or not raw.isdigit() or int(raw) > MAX_CURSOR:
            raise web.HTTPNotFound()
        try:
            async with asyncio.timeout(self.settings.request_deadline), self.db.reading() as uow:
                row = await message_for(uow.session, CHANNEL, chat_id, int(raw))
                payload = uow.outbox.open(row.payload) if row is not None else {}
        except Exception as error:
            _log_unavailable("web chat file unavailable", error)
            return self._unavailable(request)
        ref = (payload.get("attachment") or {}).get("ref") or payload.get("photo") or ""
        path = upload_path(self.uploads.root, str(ref))
        if path is None:
            raise web.HTTPNotFound()
        response = web.FileResponse(path)
        self._headers(response)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Content-Disposition"] = "inline"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


def _with_files(message: dict[str, Any]) -> dict[str, Any]:
    """A web chat file a message carries becomes a link the page can load (`/api/file/<message id>`); the ref itself
    (another chat's folder) never reaches the page, and a file of another platform is left to the text."""
    attachment = message.pop("attachment", None)
    if isinstance(attachment, dict) and str(attachment.get("ref", "")).startswith(f"{CHANNEL}:"):
        message["file"] = {"kind": attachment.get("kind"), "url": f"/api/file/{message['id']}"}
    photo = message.pop("photo", None)
    if isinstance(photo, str) and photo.startswith(f"{CHANNEL}:"):
        message["file"] = {"kind": "photo", "url": f"/api/file/{message['id']}"}
    elif isinstance(photo, str) and photo.startswith(MEDIA):  # a chart the desk drew for this chat (/ledger, #17)
        message["file"] = {"kind": "photo", "url": f"/media/{photo.removeprefix(MEDIA)}"}
    return message


def _location(raw: Any) -> Location | bool | None:
    """`{"lat": …, "lon": …}` from the page's "send my location"; None when absent, False when malformed."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return False
    lat, lon = raw.get("lat"), raw.get("lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float) or isinstance(lat, bool):
        return False
    if isinstance(lon, bool) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return Location(latitude=float(lat), longitude=float(lon))


def _log_unavailable(what: str, error: BaseException) -> None:
    if isinstance(error, (TimeoutError, OSError, SQLAlchemyError)):
        log.error("%s: the database did not answer (%s)", what, type(error).__name__)
    else:
        log.exception(what)


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _networks(listed: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item.strip(), strict=False) for item in listed.split(",") if item.strip()]


def _within(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
