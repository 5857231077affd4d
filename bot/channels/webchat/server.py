"""Web chat routes: the page, the message API, the WebSocket push with a long-poll fallback, and the guards."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from bot.channels.webchat.limits import RateLimiter
from bot.config import Settings
from handlers.delivery import Delivery, Outcome, Sent
from handlers.desk import Desk
from handlers.i18n import Translator
from handlers.messages import Contact, Incoming
from storage.uow import Database

log = logging.getLogger(__name__)

CHANNEL = "webchat"
COOKIE = "shishi_sid"
STATIC = Path(__file__).parent / "static"
HISTORY = 100
UI_KEYS = (
    "webchat.title",
    "webchat.placeholder",
    "webchat.send",
    "webchat.phone_placeholder",
    "webchat.offline",
    "webchat.you",
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

    async def deliver(self, batch: Sequence[Delivery]) -> list[tuple[int, Outcome]]:
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
        self.on_handled: list[Any] = []

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/ui", self.ui)
        app.router.add_get("/api/messages", self.poll)
        app.router.add_post("/api/messages", self.post)
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

    def _refuse(self, request: web.Request, status: int, msgid: str) -> web.Response:
        response = web.json_response({"error": self.t(self._locale(request), msgid)}, status=status)
        self._headers(response)
        return response

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser; the cookie still binds the session
        origin = origin.rstrip("/")
        own = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
        return origin in own or origin in self.allowed_origins

    def _throttled(self, request: web.Request, chat_id: str) -> bool:
        address = request.remote or "unknown"
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
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file() or name == "index.html":
            raise web.HTTPNotFound()
        response = web.FileResponse(path)
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
        messages = [{"id": r.id, **r.payload} for r in rows]
        return messages, (rows[-1].id if rows else after)

    def _incoming(self, chat_id: str, body: dict[str, Any], request: web.Request) -> Incoming | None:
        key = body.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= 64:
            return None
        text, choice, contact = body.get("text"), body.get("choice"), body.get("contact")
        if text is not None and not isinstance(text, str):
            return None
        if choice is not None and (not isinstance(choice, str) or len(choice) > 64):
            return None
        if contact is not None and (not isinstance(contact, str) or len(contact) > 32):
            return None
        if text is None and choice is None and contact is None:
            text = ""
        return Incoming(
            channel=CHANNEL,
            chat_id=chat_id,
            update_key=f"{chat_id}:{key}",
            text=text,
            choice=choice,
            contact=Contact(phone=contact, own=True) if contact else None,
            language=request.headers.get("Accept-Language"),
        )

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
            return self._refuse(request, 403, "error.internal")
        if self._throttled(request, chat_id):
            return self._refuse(request, 429, "error.rate_limited")
        try:
            body = await request.json()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(request, 413, "error.too_large")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._refuse(request, 400, "error.internal")
        incoming = self._incoming(chat_id, body if isinstance(body, dict) else {}, request)
        if incoming is None:
            return self._refuse(request, 400, "error.internal")
        try:
            await self._handle(incoming)
        except Exception:
            log.exception("web chat message could not be stored")
            return self._refuse(request, 503, "error.internal")
        after = body.get("after") if isinstance(body.get("after"), int) else 0
        messages, cursor = await self._transcript(chat_id, after)
        response = web.json_response({"messages": messages, "cursor": cursor})
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def poll(self, request: web.Request) -> web.Response:
        """The fallback when WebSockets are blocked: long-poll for messages after a cursor."""
        chat_id, token = self._session(request)
        try:
            after = int(request.query.get("after", "0"))
            wait = min(max(float(request.query.get("wait", "0")), 0.0), 25.0)
        except ValueError:
            return self._refuse(request, 400, "error.internal")
        with self.hub.listen(chat_id) as event:
            messages, cursor = await self._transcript(chat_id, after)
            if not messages and wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=wait)
                messages, cursor = await self._transcript(chat_id, after)
        response = web.json_response({"messages": messages, "cursor": cursor})
        self._headers(response)
        self._set_cookie(request, response, token)
        return response

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            return self._refuse(request, 403, "error.internal")
        chat_id, token = self._session(request)
        if token:  # a socket cannot set a cookie: the page must be loaded first
            return self._refuse(request, 401, "error.internal")
        ws = web.WebSocketResponse(heartbeat=25, max_msg_size=self.settings.webchat_max_body)
        await ws.prepare(request)
        cursor = int(request.query.get("after", "0") or 0)
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
            await ws.send_json({"type": "error", "text": self.t(locale, "error.internal")})
            return
        try:
            await self._handle(incoming)
            await ws.send_json({"type": "ack", "key": body.get("key")})
        except Exception:
            log.exception("web chat message could not be stored")
            await ws.send_json({"type": "error", "text": self.t(locale, "error.internal"), "key": body.get("key")})


def new_key() -> str:
    return uuid.uuid4().hex
