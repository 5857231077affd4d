"""A local WeChat for tests: the API server (real HTTP on 127.0.0.1, WeChat's JSON and error codes) and the push
side — followers whose messages are signed and, in safe mode, encrypted with wechatpy's crypto (an implementation
independent of the code under test), pushed to the bot the way WeChat pushes: five seconds, then up to two retries.

A test can expire every token, close a follower's customer-service window (45015), block them (43004), refuse a
template (43101), slow the API down, and read every customer-service message, notification and menu the bot sent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

APP_ID = "wx5f1c0ffee0d15ea5"
APP_SECRET = "test-app-secret-0123456789abcdef"
TOKEN = "shishiWeChatToken2026"
ACCOUNT = "gh_5h15h1desk00"
TEXT_LIMIT = 2048
FIELD_LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10}


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


@dataclass
class Custom:
    """A customer-service message the bot sent."""

    at: float
    openid: str
    msgtype: str
    text: str
    body: dict[str, Any]


@dataclass
class Notice:
    at: float
    openid: str
    template_id: str
    data: dict[str, Any]


@dataclass
class Pushed:
    """One push as WeChat made it, with every try and what came back."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    passive: str | None = None  # the text answered in the HTTP response (decrypted)
    passive_kind: str | None = None

    @property
    def tries(self) -> int:
        return len(self.statuses)

    @property
    def answered(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 200


class FakeWeChat:
    def __init__(self, *, app_id: str = APP_ID, secret: str = APP_SECRET, token_lifetime: int = 7200) -> None:
        self.app_id, self.secret = app_id, secret
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}  # token → monotonic expiry
        self.stable: str | None = None
        self.token_fetches: list[str] = []  # "stable" | "stable-force" | "token"
        self.refused: list[tuple[str, int]] = []  # (path, errcode) of every refusal
        self.customs: list[Custom] = []
        self.notices: list[Notice] = []
        self.menus: list[dict[str, Any]] = []
        self.media: dict[str, bytes] = {}
        self.oauth_codes: dict[str, str] = {}
        self.closed: set[str] = set()  # openids outside the 48 h window: 45015
        self.blocked: set[str] = set()  # 43004
        self.grants: dict[tuple[str, str], int] = {}  # (openid, template) → acceptances left
        self.send_delay = 0.0
        self.stable_token_missing = False  # answer /cgi-bin/stable_token with 404, as an old proxy would
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeWeChat:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/subscribe/bizsend", self._bizsend)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        app.router.add_get("/sns/oauth2/access_token", self._oauth)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- the test's levers

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    def customs_to(self, openid: str) -> list[Custom]:
        return [c for c in self.customs if c.openid == openid]

    def notices_to(self, openid: str) -> list[Notice]:
        return [n for n in self.notices if n.openid == openid]

    async def wait_until(self, predicate: Any, within: float = 10.0) -> None:
        async def check() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(check(), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- the API

    @staticmethod
    def _error(code: int, message: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(4)}"})

    def _new_token(self) -> str:
        token = "AT_" + secrets.token_urlsafe(48)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return token

    def _credentials_error(self, appid: object, secret: object) -> web.Response | None:
        if appid != self.app_id:
            return self._error(40013, "invalid appid")
        if secret != self.secret:
            return self._error(40125, "invalid appsecret")
        return None

    async def _stable_token(self, request: web.Request) -> web.Response:
        if self.stable_token_missing:
            return web.Response(status=404)
        body = await request.json()
        refused = self._credentials_error(body.get("appid"), body.get("secret"))
        if refused is not None:
            return refused
        force = bool(body.get("force_refresh"))
        self.token_fetches.append("stable-force" if force else "stable")
        current = self.stable
        if force or current is None or self.tokens.get(current, 0) - time.monotonic() < 300:
            if current is not None and force:
                self.tokens[current] = 0.0
            current = self.stable = self._new_token()
        await self._notify()
        left = int(self.tokens[current] - time.monotonic())
        return web.json_response({"access_token": current, "expires_in": left})

    async def _token(self, request: web.Request) -> web.Response:
        refused = self._credentials_error(request.query.get("appid"), request.query.get("secret"))
        if refused is not None:
            return refused
        self.token_fetches.append("token")
        await self._notify()
        return web.json_response({"access_token": self._new_token(), "expires_in": self.token_lifetime})

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return self._error(41001, "access_token missing")
        expiry = self.tokens.get(token)
        if expiry is None:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        if expiry <= time.monotonic():
            return self._error(42001, "access_token expired")
        return None

    async def _refuse(self, path: str, response: web.Response) -> web.Response:
        self.refused.append((path, json.loads(response.text or "{}").get("errcode", 0)))
        await self._notify()
        return response

    async def _custom_send(self, request: web.Request) -> web.Response:
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        refused = self._token_error(request)
        if refused is not None:
            return await self._refuse(request.path, refused)
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return await self._refuse(request.path, self._error(47001, "data format error"))
        openid, msgtype = body.get("touser", ""), body.get("msgtype", "")
        if openid in self.blocked:
            return await self._refuse(request.path, self._error(43004, "require subscribe"))
        if openid in self.closed:
            return await self._refuse(request.path, self._error(45015, "response out of time limit"))
        text = ""
        if msgtype == "text":
            text = body.get("text", {}).get("content", "")
            if not text or len(text.encode()) > TEXT_LIMIT:
                return await self._refuse(request.path, self._error(45002, "content size out of limit"))
        elif msgtype in ("image", "voice"):
            if not body.get(msgtype, {}).get("media_id"):
                return await self._refuse(request.path, self._error(40007, "invalid media_id"))
        else:
            return await self._refuse(request.path, self._error(40008, "invalid message type"))
        self.customs.append(Custom(time.monotonic(), openid, msgtype, text, body))
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _bizsend(self, request: web.Request) -> web.Response:
        refused = self._token_error(request)
        if refused is not None:
            return await self._refuse(request.path, refused)
        body = json.loads((await request.read()).decode("utf-8"))
        openid, template = body.get("touser", ""), body.get("template_id", "")
        if openid in self.blocked:
            return await self._refuse(request.path, self._error(43004, "require subscribe"))
        left = self.grants.get((openid, template), 0)
        if left <= 0:
            return await self._refuse(request.path, self._error(43101, "user refuse to accept the msg"))
        data = body.get("data")
        if not isinstance(data, dict) or not data:
            return await self._refuse(request.path, self._error(47003, "argument invalid! data is empty"))
        for key, cell in data.items():
            value = cell.get("value", "") if isinstance(cell, dict) else None
            kind = re.sub(r"\d+$", "", key)
            if not isinstance(value, str) or not value or len(value) > FIELD_LIMITS.get(kind, 10_000):
                return await self._refuse(request.path, self._error(47003, f"argument invalid! data.{key}.value"))
        self.grants[(openid, template)] = left - 1
        self.notices.append(Notice(time.monotonic(), openid, template, data))
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(_MSG_IDS)})

    async def _media_get(self, request: web.Request) -> web.Response:
        refused = self._token_error(request)
        if refused is not None:
            return await self._refuse(request.path, refused)
        data = self.media.get(request.query.get("media_id", ""))
        if data is None:
            return await self._refuse(request.path, self._error(40007, "invalid media_id"))
        return web.Response(body=data, content_type="image/jpeg")

    async def _menu_create(self, request: web.Request) -> web.Response:
        refused = self._token_error(request)
        if refused is not None:
            return await self._refuse(request.path, refused)
        body = json.loads((await request.read()).decode("utf-8"))
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return await self._refuse(request.path, self._error(40016, "invalid button size"))
        for button in buttons:
            if len(button.get("name", "").encode()) > 16 or len(button.get("sub_button", [])) > 5:
                return await self._refuse(request.path, self._error(40018, "invalid button name size"))
        self.menus.append(body)
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _oauth(self, request: web.Request) -> web.Response:
        query = request.query
        refused = self._credentials_error(query.get("appid"), query.get("secret"))
        if refused is not None:
            return refused
        openid = self.oauth_codes.pop(query.get("code", ""), None)
        if openid is None:
            return self._error(40029, "invalid code")
        return web.json_response(
            {"access_token": secrets.token_urlsafe(32), "expires_in": 7200, "openid": openid, "scope": "snsapi_base"}
        )


_MSG_IDS = itertools.count(7_000_000_000)
_NEXT_MSG_ID = itertools.count(24_000_000_000_000_000)


class Pusher:
    """WeChat's push side for one bot: signs, encrypts (safe and compatible modes) and retries like WeChat."""

    def __init__(self, url: str, *, token: str = TOKEN, app_id: str = APP_ID, aes_key: str | None = None,
                 mode: str = "plain", timeout: float = 5.0, tries: int = 3) -> None:  # fmt: skip
        self.url, self.token, self.app_id, self.mode = url, token, app_id, mode
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.timeout, self.tries = timeout, tries

    def query(
        self, *, timestamp: int | None = None, nonce: str | None = None, openid: str | None = None
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        once = nonce or str(secrets.randbelow(10**9))
        params = {"signature": signature(self.token, stamp, once), "timestamp": stamp, "nonce": once}
        if openid:
            params["openid"] = openid
        return params

    def body(self, xml: str, params: dict[str, str], account: str = ACCOUNT) -> bytes:
        """The body of a push in this pusher's mode; encrypted modes add encrypt_type and msg_signature."""
        if self.mode == "plain" or self.crypto is None:
            return xml.encode()
        sealed = ET.fromstring(self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"]))
        encrypted = sealed.findtext("Encrypt") or ""
        params["encrypt_type"] = "aes"
        params["msg_signature"] = sealed.findtext("MsgSignature") or ""
        if self.mode == "compatible":  # the plain fields and the ciphertext side by side
            return xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        envelope = f"<ToUserName><![CDATA[{account}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        return f"<xml>{envelope}</xml>".encode()

    def read_passive(self, body: str, params: dict[str, str]) -> tuple[str | None, str | None]:
        """(kind, text) of a passive answer, decrypted and its signature checked by wechatpy in encrypted modes."""
        if not body or body == "success":
            return None, None
        if params.get("encrypt_type") == "aes":
            assert self.crypto is not None
            root = ET.fromstring(body)
            body = self.crypto.decrypt_message(
                body, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
            )
        root = ET.fromstring(body)
        return root.findtext("MsgType"), root.findtext("Content") or root.findtext("Image/MediaId")

    async def push(self, xml: str, *, openid: str | None = None) -> Pushed:
        """Push as WeChat does: wait five seconds for an answer, try again (at most `tries` in all) when none came
        or the server failed."""
        pushed = Pushed()
        async with ClientSession(timeout=ClientTimeout(total=self.timeout)) as http:
            for _ in range(self.tries):
                params = self.query(openid=openid)
                data = self.body(xml, params)
                try:
                    async with http.post(self.url, params=params, data=data,
                                         headers={"Content-Type": "text/xml"}) as response:  # fmt: skip
                        text = await response.text()
                        pushed.statuses.append(response.status)
                        pushed.bodies.append(text)
                except (TimeoutError, ClientError):
                    pushed.statuses.append(0)
                    pushed.bodies.append("")
                    continue
                if response.status >= 500:
                    continue
                if response.status == 200:
                    pushed.passive_kind, pushed.passive = self.read_passive(text, params)
                return pushed
        return pushed

    async def post_raw(self, body: bytes, params: dict[str, str]) -> tuple[int, str]:
        headers = {"Content-Type": "text/xml"}
        async with (
            ClientSession(timeout=ClientTimeout(total=self.timeout)) as http,
            http.post(self.url, params=params, data=body, headers=headers) as response,
        ):
            return response.status, await response.text()


class Raw(str):
    """A field value that is XML already."""


def message_xml(openid: str, kind: str, fields: dict[str, str], *, created: int | None = None,
                account: str = ACCOUNT) -> str:  # fmt: skip
    """A pushed message or event as WeChat writes it."""
    parts = [
        f"<ToUserName><![CDATA[{account}]]></ToUserName>",
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
        f"<CreateTime>{int(time.time()) if created is None else created}</CreateTime>",
        f"<MsgType><![CDATA[{kind}]]></MsgType>",
    ]
    for name, value in fields.items():
        if isinstance(value, Raw):  # nested elements (a subscription event's <List>), written as they are
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Follower:
    """One WeChat user following the account: what they do, and what reaches them (passive answers and
    customer-service messages, in the order they arrived)."""

    wechat: FakeWeChat
    pusher: Pusher
    openid: str = field(default_factory=lambda: "o" + hashlib.sha1(os.urandom(8)).hexdigest()[:27])
    seen: list[tuple[float, str]] = field(default_factory=list)  # (when, text) of passive answers
    pushes: list[Pushed] = field(default_factory=list)

    def next_msg_id(self) -> str:
        return str(next(_NEXT_MSG_ID))

    def inbox(self) -> list[str]:
        arrived = self.seen + [(c.at, c.text) for c in self.wechat.customs_to(self.openid) if c.msgtype == "text"]
        return [text for _, text in sorted(arrived, key=lambda pair: pair[0])]

    async def push(self, kind: str, fields: dict[str, str], *, created: int | None = None) -> Pushed:
        if kind != "event" or fields.get("Event", "").lower() in ("click", "subscribe", "scan"):
            self.wechat.closed.discard(self.openid)  # writing to the account opens its window again
        pushed = await self.pusher.push(message_xml(self.openid, kind, fields, created=created), openid=self.openid)
        self.pushes.append(pushed)
        if pushed.passive is not None and pushed.passive_kind == "text":
            if len(pushed.passive.encode()) > TEXT_LIMIT:  # WeChat shows the follower nothing of it
                self.wechat.refused.append(("passive", 45002))
            else:
                self.seen.append((time.monotonic(), pushed.passive))
        return pushed

    async def text(self, content: str, msg_id: str | None = None) -> Pushed:
        return await self.push("text", {"Content": content, "MsgId": msg_id or self.next_msg_id()})

    async def image(self, media_id: str) -> Pushed:
        return await self.push("image", {"PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": media_id,
                                         "MsgId": self.next_msg_id()})  # fmt: skip

    async def location(self, latitude: float, longitude: float) -> Pushed:
        return await self.push("location", {"Location_X": str(latitude), "Location_Y": str(longitude), "Scale": "15",
                                            "Label": "汉中市", "MsgId": self.next_msg_id()})  # fmt: skip

    async def event(self, event: str, key: str = "", **extra: str) -> Pushed:
        fields = {"Event": event, **({"EventKey": key} if key else {}), **extra}
        return await self.push("event", fields)

    async def act(self, action: Any, *, within: float = 10.0, quiet: float = 0.4) -> list[str]:
        """Do something and return what reached the follower because of it: the passive answer, or the
        customer-service messages that follow a `success` (once they stop coming for `quiet` seconds)."""
        before = len(self.inbox())
        pushed: Pushed = await action()
        if pushed.passive is None:
            with contextlib.suppress(TimeoutError):
                await self.wechat.wait_until(lambda: len(self.inbox()) > before, within)
            count = -1
            while count != len(self.inbox()):
                count = len(self.inbox())
                await asyncio.sleep(quiet)
        return self.inbox()[before:]
