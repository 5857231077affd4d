"""Web chat routes: the page, the message API, the WebSocket push with a long-poll fallback, and the guards."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from bot.channels.webchat.limits import RateLimiter
from bot.channels.webchat.uploads import UploadRefused, Uploads
from bot.config import Settings
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Attachment, Contact, Incoming
from handlers.delivery import Delivery, Outcome, Sent
from handlers.desk import Desk
from storage.uow import Database

log = logging.getLogger(__name__)

CHANNEL = "webchat"
COOKIE = "shishi_sid"
STATIC = Path(__file__).parent / "static"
HISTORY = 100
MAX_CURSOR = 2**62  # cursors are outbox ids; anything beyond is a forged request, not a reason to fail
MAX_ATTACHMENTS = 5
RETRY_AFTER = "2"
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
)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
)


class Hub:
    """Wakes the sockets and long polls of a chat when it has new messages."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, recipient: str) -> None:
        for event in self._waiters.get(recipient, ()):
            event.set()

    @contextlib.contextmanager
    def listen(self, recipient: str) -> Any:
        event = asyncio.Event()
        self._waiters[recipient].add(event)
        try:
            yield event
        finally:
            self._waiters[recipient].discard(event)
            if not self._waiters[recipient]:
                del self._waiters[recipient]


class WebChatTransport:
    """The sender's side: a web chat message is delivered once it is stored; waking the page is enough."""

    channel = CHANNEL
    batch_size = 200

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def deliver(self, batch: Sequence[Delivery], started: object = None) -> list[tuple[int, Outcome]]:
        for recipient in {d.recipient for d in batch}:
            self.hub.notify(recipient)
        return [(d.id, Sent()) for d in batch]

    def busy_recipients(self) -> Sequence[str]:
        return ()


def chat_id_for(token: str) -> str:
    """The cookie is a bearer secret; the database only ever sees its hash."""
    return "w" + hashlib.sha256(token.encode()).hexdigest()[:40]


class WebChat:
    def __init__(self, desk: Desk, db: Database, translator: Translator, settings: Settings) -> None:
        self.desk, self.db, self.t, self.settings = desk, db, translator, settings
        self.hub = Hub()
        self.transport = WebChatTransport(self.hub)
        self.per_session = RateLimiter(settings.webchat_session_rate, settings.webchat_session_burst)
        self.per_address = RateLimiter(settings.webchat_address_rate, settings.webchat_address_burst)
        self.allowed_origins = {o.strip().rstrip("/") for o in settings.webchat_allowed_origins.split(",") if o.strip()}
        self.trusted_proxies = _networks(settings.webchat_trusted_proxies)
        self.uploads = Uploads(
            settings.shishi_data_dir / "uploads", settings.webchat_max_upload, settings.webchat_max_uploads
        )
        self.static_files = {p.name for p in STATIC.iterdir() if p.is_file() and p.name != "index.html"}
        self.on_handled: list[Any] = []

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/ui", self.ui)
        app.router.add_get("/api/messages", self.poll)
        app.router.add_post("/api/messages", self.post)
        app.router.add_post("/api/upload", self.upload)
        app.router.add_get("/ws", self.socket)

    # ---- session, headers, guards

    def _session(self, request: web.Request) -> tuple[str, str | None]:
        """(chat id, a new token to set) — a fresh anonymous session when the cookie is missing or malformed."""
        token = request.cookies.get(COOKIE, "")
        if 20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum():
            return chat_id_for(token), None
        token = secrets.token_urlsafe(24)
        return chat_id_for(token), token

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
        _, token = self._session(request)
        response = web.FileResponse(STATIC / "index.html")
        self._headers(response)
        self._set_cookie(request, response, token)
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
        locale = self._locale(request)
        response = web.json_response({"locale": locale, "strings": {k: self.t(locale, k) for k in UI_KEYS}})
        self._headers(response)
        return response

    async def _transcript(self, chat_id: str, after: int) -> tuple[list[dict[str, Any]], int]:
        async with self.db.reading() as uow:
            if after <= 0:
                last = await uow.outbox.last_id(CHANNEL, chat_id)
                after = max(last - HISTORY, 0) if last else 0
            rows = await uow.outbox.transcript(CHANNEL, chat_id, after, HISTORY)
            messages = [{"id": r.id, **uow.outbox.open(r.payload)} for r in rows]
        return messages, (rows[-1].id if rows else after)

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
        if text is None and choice is None and contact is None and not attachments:
            text = ""
        return Incoming(
            channel=CHANNEL,
            chat_id=chat_id,
            update_key=f"{chat_id}:{key}",
            text=text,
            choice=choice,
            contact=Contact(phone=contact, own=True) if contact else None,
            attachments=attachments,
            language=request.headers.get("Accept-Language"),
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
        for callback in self.on_handled:
            callback(handled)

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
            await self._handle(incoming)
        except Exception:
            log.exception("web chat message could not be stored")
            return self._refuse(request, 503, "error.internal")
        messages, cursor = await self._transcript(chat_id, _cursor(body.get("after")))
        response = web.json_response({"messages": messages, "cursor": cursor})
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def poll(self, request: web.Request) -> web.Response:
        """The fallback when WebSockets are blocked: long-poll for messages after a cursor."""
        chat_id, token = self._session(request)
        try:
            after = _cursor(int(request.query.get("after", "0")))
            wait = float(request.query.get("wait", "0"))
        except ValueError:
            return self._refuse(request, 400, "webchat.bad_request")
        wait = min(max(wait, 0.0), 25.0) if wait == wait else 0.0  # NaN waits not at all
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        with self.hub.listen(chat_id) as event:
            while True:
                event.clear()  # before reading: a reply queued while we read still wakes us
                messages, cursor = await self._transcript(chat_id, after)
                remaining = deadline - loop.time()
                if messages or remaining <= 0:
                    break
                # A wake without news (the sender settling rows) or another process writing: look again.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, 3.0))
        response = web.json_response({"messages": messages, "cursor": cursor})
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            return self._refuse(request, 403, "webchat.origin_refused")
        chat_id, token = self._session(request)
        if token:  # a socket cannot set a cookie: the page must be loaded first
            return self._refuse(request, 401, "webchat.reload")
        try:
            cursor = _cursor(int(request.query.get("after", "0") or 0))
        except ValueError:
            return self._refuse(request, 400, "webchat.bad_request")
        ws = web.WebSocketResponse(heartbeat=25, max_msg_size=self.settings.webchat_max_body)
        await ws.prepare(request)
        with self.hub.listen(chat_id) as event:
            pusher = asyncio.create_task(self._push(ws, chat_id, cursor, event))
            try:
                async for message in ws:
                    if message.type != WSMsgType.TEXT:
                        continue
                    await self._socket_message(request, ws, chat_id, message.data)
            finally:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher
        return ws

    async def _push(self, ws: web.WebSocketResponse, chat_id: str, cursor: int, event: asyncio.Event) -> None:
        while not ws.closed:
            event.clear()
            messages, new_cursor = await self._transcript(chat_id, cursor)
            if messages:
                await ws.send_json({"type": "messages", "messages": messages, "cursor": new_cursor})
                cursor = new_cursor
            with contextlib.suppress(TimeoutError):
                # Another process may have written for this chat: look again every few seconds.
                await asyncio.wait_for(event.wait(), timeout=3.0)

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
            await self._handle(incoming)
            await ws.send_json({"type": "ack", "key": body.get("key")})
        except Exception:
            log.exception("web chat message could not be stored")
            await ws.send_json({"type": "error", "text": self.t(locale, "error.internal"), "key": body.get("key")})

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
        try:
            reader = await request.multipart()
            part = await reader.next()
            while part is not None and not (isinstance(part, BodyPartReader) and part.name == "file"):
                part = await reader.next()
            if part is None:
                return self._refuse(request, 400, "webchat.upload_empty")
            stored = await self.uploads.store(chat_id, part)
        except UploadRefused as refused:
            return self._refuse(request, refused.status, refused.msgid, max=megabytes, files=self.uploads.max_files)
        except (AssertionError, ValueError, KeyError):  # aiohttp's words for "this is not multipart"
            return self._refuse(request, 400, "webchat.bad_request")
        response = web.json_response({"ref": stored.name, "kind": stored.kind, "size": stored.size})
        self._headers(response)
        return response


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _cursor(value: Any) -> int:
    return min(max(value, 0), MAX_CURSOR) if isinstance(value, int) and not isinstance(value, bool) else 0


def _networks(listed: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item.strip(), strict=False) for item in listed.split(",") if item.strip()]


def _within(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def new_key() -> str:
    return uuid.uuid4().hex
