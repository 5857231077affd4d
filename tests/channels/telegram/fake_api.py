"""A local Bot API server for tests and the benchmark: real HTTP on 127.0.0.1, Bot API JSON that aiogram parses.

A test acts as Telegram users (text, commands, contact, location, photo, button presses), reads what the bot sent
(parsed the way a phone shows it), and can switch on Telegram's refusals: 429 with retry_after past rate limits,
403 for a chat that blocked the bot, 5xx. Every request is recorded with its arrival time, so a test can prove that
nothing was sent inside a retry_after window.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

TOKEN = "123456789:TEST-token_for-the-fake-bot-api"
BOT_ID = 123456789
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "link_preview_options", "reply_parameters"}
SEND_METHODS = {"sendmessage", "sendphoto", "senddocument", "sendvoice", "sendlocation"}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}  # fmt: skip
GLOBAL_GRACE = 0.05  # requests already on the wire when a global 429 was answered are not the bot's fault


class EntityError(ValueError):
    pass


class _TelegramHTML(HTMLParser):
    """What Telegram's HTML parse mode accepts, reduced to the plain text a phone shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.plain: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise EntityError(f'Unexpected end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)


def parse_html(text: str) -> str:
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        raise EntityError("Can't parse entities: unsupported entity")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.plain)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart request, as Telegram received it."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made."""

    at: float
    method: str
    params: dict[str, Any]
    status: int = 200
    files: dict[str, Upload] = field(default_factory=dict)  # multipart file parts, by field (sendDocument's document)

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        try:
            return int(raw) if raw is not None else None
        except (TypeError, ValueError):
            return None


@dataclass
class Sent:
    """A message the bot sent, as the user's phone shows it."""

    message_id: int
    chat_id: int
    at: float
    text: str  # plain text after HTML parsing
    raw: str  # what the bot sent, HTML
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    kind: str = "text"  # text | photo | document
    media: str | None = None

    @property
    def inline(self) -> list[list[dict[str, Any]]]:
        markup = self.reply_markup or {}
        return list(markup.get("inline_keyboard", []))

    def button(self, label: str) -> dict[str, Any]:
        for row in self.inline:
            for button in row:
                if button["text"] == label:
                    return button
        raise KeyError(f"no button {label!r} among {[b['text'] for r in self.inline for b in r]}")

    @property
    def labels(self) -> list[str]:
        return [b["text"] for row in self.inline for b in row]

    def to_bot_api(self, bot_user: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(self.at),
            "chat": {"id": self.chat_id, "type": "private" if self.chat_id > 0 else "group", "title": "g"},
            "from": bot_user,
        }
        if self.kind == "photo":
            message["photo"] = [{"file_id": self.media, "file_unique_id": "u", "width": 90, "height": 90}]
            if self.text:
                message["caption"] = self.text
        else:
            message["text"] = self.text
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass
class Window:
    """A 429 the fake answered: nothing for `chat_id` (None: for anyone) may arrive before `until`."""

    chat_id: int | None
    start: float
    until: float


@dataclass
class Limits:
    per_chat_per_second: float | None = None  # sustained, with `per_chat_burst`
    per_chat_burst: int = 3
    global_per_second: float | None = None
    retry_after: int = 1


@dataclass
class FakeUser:
    api: FakeBotAPI
    id: int
    language_code: str | None = "zh-hans"
    first_name: str = "Citizen"
    chat_id: int = 0
    chat_type: str = "private"

    def __post_init__(self) -> None:
        if not self.chat_id:
            self.chat_id = self.id

    @property
    def user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def _message(self, **content: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat_id, "type": self.chat_type}
        if self.chat_type == "private":
            chat["first_name"] = self.first_name
        else:
            chat["title"] = "group"
        return {
            "message_id": next(self.api.message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user,
            **content,
        }

    def text(self, text: str) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ", 1)[0])}]
        return self.api.push({"message": self._message(**content)})

    def contact(self, phone: str, *, own: bool = True) -> int:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": self.first_name}
        contact["user_id"] = self.id if own else self.id + 1
        return self.api.push({"message": self._message(contact=contact)})

    def location(self, latitude: float, longitude: float) -> int:
        return self.api.push({"message": self._message(location={"latitude": latitude, "longitude": longitude})})

    def photo(self, file_id: str, caption: str | None = None) -> int:
        sizes = [
            {"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 1000},
            {"file_id": file_id, "file_unique_id": "l", "width": 1280, "height": 853, "file_size": 90000},
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self.api.push({"message": self._message(**content)})

    def voice(self, file_id: str) -> int:
        voice = {"file_id": file_id, "file_unique_id": "v", "duration": 3, "file_size": 4000}
        return self.api.push({"message": self._message(voice=voice)})

    def document(self, file_id: str, name: str) -> int:
        document = {"file_id": file_id, "file_unique_id": "d", "file_name": name, "file_size": 12000}
        return self.api.push({"message": self._message(document=document)})

    def press(self, message: Sent, label: str) -> int:
        return self.press_data(message, message.button(label)["callback_data"])

    def press_data(self, message: Sent, data: str) -> int:
        query = {
            "id": str(next(self.api.query_ids)),
            "from": self.user,
            "message": message.to_bot_api(self.api.bot_user),
            "chat_instance": f"ci{self.chat_id}",
            "data": data,
        }
        return self.api.push({"callback_query": query})

    # ---- reading

    def inbox(self) -> list[Sent]:
        return self.api.sent_to(self.chat_id)

    async def wait(self, count: int, within: float = 10.0) -> list[Sent]:
        """Wait until the chat has received `count` messages in all; returns them."""
        return await self.api.wait_messages(self.chat_id, count, within)

    async def next(self, after: int, within: float = 10.0, settle: float = 0.15, quiet: float = 1.6) -> list[Sent]:
        """The messages after the first `after`: once one with buttons or a keyboard came and `settle` passed
        without more, or `quiet` seconds passed without any (the bot paces a chat at about one message a second)."""
        await self.api.wait_messages(self.chat_id, after + 1, within)
        while True:
            seen = len(self.inbox())
            asked = any(m.inline or "keyboard" in (m.reply_markup or {}) for m in self.inbox()[after:])
            await asyncio.sleep(settle if asked else 0.05)
            if len(self.inbox()) != seen:
                continue
            if asked:
                return self.inbox()[after:]
            last = self.inbox()[-1].at
            if time.monotonic() - last >= quiet:
                return self.inbox()[after:]


class FakeBotAPI:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Shishi", "username": "shishi_test_bot"}
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.updates: list[dict[str, Any]] = []  # not yet confirmed
        self.delivered_update_ids: list[int] = []  # every time an update went out (polling or webhook)
        self.confirmed_offset = 0
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_responses: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.blocked: set[int] = set()
        self.limits = Limits()
        self.windows: list[Window] = []
        self.violations: list[tuple[Call, Window]] = []
        self.fail_sends: int = 0  # answer the next N sends with 502
        self.hold_sends = asyncio.Event()  # cleared: sends wait (to freeze the bot mid-answer)
        self.hold_sends.set()
        self.message_ids = itertools.count(1000)
        self.query_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._new_update = asyncio.Event()
        self._chat_times: dict[int, list[float]] = defaultdict(list)
        self._global_times: list[float] = []
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._scripted: list[tuple[int | None, int]] = []
        self._all_updates: list[dict[str, Any]] = []
        self.port = 0

    # ---- life

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- acting as users

    def user(self, user_id: int, language_code: str | None = "zh-hans", **kw: Any) -> FakeUser:
        return FakeUser(self, user_id, language_code, **kw)

    def push(self, update: dict[str, Any], *, update_id: int | None = None) -> int:
        """Queue an update as Telegram would; `update_id` repeats an earlier one (a redelivery)."""
        if update_id is None:
            update_id = next(self._update_ids)
        full = {"update_id": update_id, **update}
        self.updates.append(full)
        self._all_updates.append(full)
        self._new_update.set()
        return update_id

    def repeat(self, update_id: int) -> None:
        """Deliver an update again with the same update_id, as Telegram does after a lost acknowledgement."""
        original = next(u for u in self._all_updates if u["update_id"] == update_id)
        self.updates.append(dict(original))
        self._new_update.set()

    # ---- reading what the bot did

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.lower()]

    async def wait_until(self, predicate: Any, within: float = 10.0) -> None:
        async def check() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(check(), within)

    async def wait_messages(self, chat_id: int, count: int, within: float = 10.0) -> list[Sent]:
        await self.wait_until(lambda: len(self.sent_to(chat_id)) >= count, within)
        return self.sent_to(chat_id)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- the HTTP side

    async def _params(self, request: web.Request, files: dict[str, Upload]) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                params[key] = value if isinstance(value, str) else getattr(value, "filename", "file")
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        for key, value in list(params.items()):  # document=attach://<part>: the file is the part of that name
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                files[key] = files[value[9:]]
        return params

    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _endpoint(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        files: dict[str, Upload] = {}
        params = await self._params(request, files)
        call = Call(arrived, method, params, files=files)
        self.calls.append(call)
        try:
            response = await self._dispatch(call)
        except EntityError as error:
            response = self._error(400, f"Bad Request: can't parse entities: {error}")
        call.status = response.status
        await self._notify()
        return response

    async def _dispatch(self, call: Call) -> web.Response:
        method, params = call.method, call.params
        if method in SEND_METHODS:
            return await self._send(call)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result: web.Response = await handler(params)
        return result

    async def _m_getme(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self.bot_user)

    async def _m_getupdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook is not None:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        if offset:
            self._confirm(offset)
            await self._notify()
        deadline = time.monotonic() + timeout
        while True:
            pending = [u for u in self.updates if u["update_id"] >= (offset or 0)][:limit]
            if pending or time.monotonic() >= deadline:
                break
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), max(deadline - time.monotonic(), 0.001))
        self.delivered_update_ids.extend(u["update_id"] for u in pending)
        return self._ok(pending)

    def _confirm(self, offset: int) -> None:
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]

    async def _m_setwebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        if params.get("drop_pending_updates") in ("true", True):
            self.updates.clear()
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.create_task(self._push_webhook())
        return self._ok(True)

    async def _m_deletewebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = None
        if params.get("drop_pending_updates") in ("true", True):
            self.updates.clear()
        return self._ok(True)

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> web.Response:
        info = {"url": self.webhook["url"] if self.webhook else "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self.updates)
        return self._ok(info)

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> web.Response:
        self.callback_answers.append(params)
        return self._ok(True)

    async def _m_setmycommands(self, params: dict[str, Any]) -> web.Response:
        scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        self.commands[(scope, params.get("language_code") or "")] = params["commands"]
        return self._ok(True)

    async def _m_deletemycommands(self, params: dict[str, Any]) -> web.Response:
        scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        self.commands.pop((scope, params.get("language_code") or ""), None)
        return self._ok(True)

    def commands_for(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[str]:
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [c["command"] for c in self.commands.get(key, [])]

    def command_descriptions(self, scope: dict[str, Any] | None = None, language_code: str = "") -> dict[str, str]:
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return {c["command"]: c["description"] for c in self.commands.get(key, [])}

    async def _m_editmessagetext(self, params: dict[str, Any]) -> web.Response:
        message = self._find(params)
        if message is None:
            return self._error(400, "Bad Request: message to edit not found")
        message.raw = params["text"]
        message.text = parse_html(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]
        message.reply_markup = params.get("reply_markup")
        return self._ok(message.to_bot_api(self.bot_user))

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> web.Response:
        message = self._find(params)
        if message is None:
            return self._error(400, "Bad Request: message to edit not found")
        message.reply_markup = params.get("reply_markup")
        return self._ok(message.to_bot_api(self.bot_user))

    def _find(self, params: dict[str, Any]) -> Sent | None:
        wanted = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        return next((m for m in self.sent if (m.chat_id, m.message_id) == wanted), None)

    # ---- sending, with Telegram's refusals

    def _refusal(self, call: Call) -> web.Response | None:
        chat_id = call.chat_id or 0
        now = call.at
        for window in self.windows:
            if window.start < now < window.until and window.chat_id in (None, chat_id):
                late = window.chat_id is not None or now > window.start + GLOBAL_GRACE
                if late:
                    self.violations.append((call, window))
                return self._error(
                    429,
                    f"Too Many Requests: retry after {int(window.until - now) + 1}",
                    retry_after=int(window.until - now) + 1,
                )
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if self.fail_sends > 0:
            self.fail_sends -= 1
            return self._error(502, "Bad Gateway")
        limits = self.limits
        if limits.global_per_second:
            recent = [t for t in self._global_times if t > now - 1.0]
            self._global_times = recent
            if len(recent) >= limits.global_per_second:
                self.windows.append(Window(None, now, now + limits.retry_after))
                return self._error(429, "Too Many Requests: retry after", retry_after=limits.retry_after)
        if limits.per_chat_per_second:
            times = self._chat_times[chat_id]
            horizon = limits.per_chat_burst / limits.per_chat_per_second
            times[:] = [t for t in times if t > now - horizon]
            if len(times) >= limits.per_chat_burst:
                self.windows.append(Window(chat_id, now, now + limits.retry_after))
                return self._error(429, "Too Many Requests: retry after", retry_after=limits.retry_after)
        return None

    def flood(self, chat_id: int | None, retry_after: int) -> None:
        """Answer 429 to the next send (to `chat_id`, or to anyone) and open a retry_after window from then."""
        self._scripted.append((chat_id, retry_after))

    async def _send(self, call: Call) -> web.Response:
        await self.hold_sends.wait()
        chat_id = call.chat_id or 0
        for index, (target, seconds) in enumerate(self._scripted):
            if target in (None, chat_id):
                del self._scripted[index]
                self.windows.append(Window(target, call.at, call.at + seconds))
                return self._error(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        refusal = self._refusal(call)
        if refusal is not None:
            return refusal
        params = call.params
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        parse_mode = params.get("parse_mode")
        if call.method == "sendmessage":
            raw, kind, media = params.get("text", ""), "text", None
            if not raw.strip():
                return self._error(400, "Bad Request: message text is empty")
        else:
            raw, kind = params.get("caption", ""), call.method.removeprefix("send")
            media = params.get(kind)
        plain = parse_html(raw) if parse_mode == "HTML" else raw
        limit = 4096 if call.method == "sendmessage" else 1024
        if utf16_len(plain) > limit:
            return self._error(400, "Bad Request: message is too long")
        self._global_times.append(call.at)
        self._chat_times[chat_id].append(call.at)
        message = Sent(next(self.message_ids), chat_id, call.at, plain, raw, parse_mode, markup, kind, media)
        self.sent.append(message)
        return self._ok(message.to_bot_api(self.bot_user))

    # ---- webhook mode: Telegram POSTs each update until it gets a 2xx

    async def _push_webhook(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            while self.webhook is not None:
                if not self.updates:
                    self._new_update.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._new_update.wait(), 0.5)
                    continue
                update = self.updates[0]
                headers = {}
                if self.webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
                self.delivered_update_ids.append(update["update_id"])
                try:
                    async with session.post(self.webhook["url"], json=update, headers=headers) as response:
                        status = response.status
                except Exception:
                    status = 0
                self.webhook_responses.append((update["update_id"], status))
                await self._notify()
                if 200 <= status < 300:
                    self.updates.remove(update)
                else:
                    await asyncio.sleep(0.3)  # Telegram backs off; the test does not want to wait minutes
