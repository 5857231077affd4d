"""Local fakes of what reaches a citizen outside the chats (issue #14), real HTTP on 127.0.0.1 speaking the real wire:

- a Web Push service: subscriptions are made here as a browser makes them (a P-256 key pair and an auth secret of
  its own); a push must carry a valid VAPID JWT (ES256, checked with `cryptography` against the key it names, for
  this service's origin, not expired) and an aes128gcm body, decrypted here with the subscription's private key;
  a subscription can be made gone (410) or unknown (404);
- Tencent Cloud SMS API 3.0: SendSms with TC3-HMAC-SHA256, the signature recomputed here from the request as it
  arrived (an implementation of the documented algorithm independent of bot/reach/tencent.py); a number can be
  refused, a request slowed down (for kill -9 mid-request), and every SMS read.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SMS_SECRET_ID = "AKIDfakeShishi0000000000000000000000"
SMS_SECRET_KEY = "fakeShishiSecretKey00000000000000"
SMS_APP_ID = "1400123456"
SMS_SIGN = "汉中政法"
TEMPLATE_NOTICE = "1900001"
TEMPLATE_CODE = "1900002"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Server:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._changed = asyncio.Condition()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> _Server:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Any, within: float = 15.0) -> None:
        async def check() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(check(), within)


@dataclass
class Browser:
    """One browser's push subscription: what PushSubscription.toJSON() gives the page, and its private half."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def to_json(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)},
        }


@dataclass
class Push:
    at: float
    subscription: str
    message: dict[str, Any]
    ttl: str


class FakePushService(_Server):
    def __init__(self) -> None:
        super().__init__()
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()
        self.pushes: list[Push] = []
        self.refused: list[tuple[str, int, str]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/push/{id}", self._push)

    def subscribe(self) -> Browser:
        sid = secrets.token_hex(8)
        browser = Browser(sid, f"{self.base}/push/{sid}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.browsers[sid] = browser
        return browser

    def pushes_to(self, browser: Browser) -> list[Push]:
        return [p for p in self.pushes if p.subscription == browser.id]

    def _vapid_ok(self, header: str) -> str | None:
        """None when the VAPID header is right, else why not."""
        if not header.lower().startswith("vapid "):
            return "no vapid scheme"
        parts = dict(p.strip().split("=", 1) for p in header[6:].split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            head, body, signature = token.split(".")
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            raw = _unb64(signature)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
            claims = json.loads(_unb64(body))
        except (ValueError, InvalidSignature) as error:
            return f"bad jwt: {type(error).__name__}"
        if json.loads(_unb64(head)).get("alg") != "ES256":
            return "not ES256"
        if claims.get("aud") != self.base or int(claims.get("exp", 0)) < time.time():
            return "wrong aud or expired"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "no sub"
        return None

    async def _push(self, request: web.Request) -> web.Response:
        sid = request.match_info["id"]
        browser = self.browsers.get(sid)
        if browser is None:
            return await self._refuse(sid, 404, "unknown subscription")
        if sid in self.gone:
            return await self._refuse(sid, 410, "subscription expired")
        why = self._vapid_ok(request.headers.get("Authorization", ""))
        if why is not None:
            return await self._refuse(sid, 401, why)
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return await self._refuse(sid, 415, "not aes128gcm")
        try:
            plain = http_ece.decrypt(await request.read(), private_key=browser.private_key, auth_secret=browser.auth,
                                     version="aes128gcm")  # fmt: skip
            message = json.loads(plain.decode("utf-8"))
        except Exception as error:
            return await self._refuse(sid, 400, f"undecryptable: {type(error).__name__}")
        self.pushes.append(Push(time.monotonic(), sid, message, request.headers.get("TTL", "")))
        await self._notify()
        return web.Response(status=201, headers={"Location": f"{self.base}/message/{secrets.token_hex(6)}"})

    async def _refuse(self, sid: str, status: int, why: str) -> web.Response:
        self.refused.append((sid, status, why))
        await self._notify()
        return web.Response(status=status, text=why)


@dataclass
class Sms:
    at: float
    phone: str
    template: str
    params: list[str]
    sign: str


def tc3_signature(secret_key: str, request_headers: dict[str, str], body: bytes, host: str) -> str:
    """The signature of a request as it arrived, recomputed from the documented steps."""
    timestamp = int(request_headers["X-TC-Timestamp"])
    day = datetime.fromtimestamp(timestamp, UTC).date().isoformat()
    content_type = request_headers["Content-Type"]
    canonical = (
        f"POST\n/\n\ncontent-type:{content_type.lower()}\nhost:{host.lower()}\n\ncontent-type;host\n"
        + hashlib.sha256(body).hexdigest()
    )
    string = f"TC3-HMAC-SHA256\n{timestamp}\n{day}/sms/tc3_request\n" + hashlib.sha256(canonical.encode()).hexdigest()
    key = ("TC3" + secret_key).encode()
    for part in (day, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeTencentSms(_Server):
    messages: list[Sms] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    blacklisted: set[str] = field(default_factory=set)
    delay: float = 0.0
    requests: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self._send)

    def to(self, phone: str) -> list[Sms]:
        return [m for m in self.messages if m.phone == f"+86{phone}"]

    def _error(self, code: str, message: str) -> web.Response:
        self.refused.append(code)
        return web.json_response({"Response": {"Error": {"Code": code, "Message": message},
                                               "RequestId": secrets.token_hex(8)}})  # fmt: skip

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()}
        authorization = headers.get("Authorization", "")
        if headers.get("X-TC-Action") != "SendSms" or headers.get("X-TC-Version") != "2021-01-11":
            return self._error("InvalidAction", "action or version")
        try:
            credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
            signature = authorization.split("Signature=", 1)[1].strip()
            signed = tc3_signature(SMS_SECRET_KEY, headers, body, headers.get("Host", ""))
        except (IndexError, KeyError, ValueError):
            return self._error("AuthFailure.SignatureFailure", "malformed authorization")
        if not credential.startswith(SMS_SECRET_ID + "/") or not hmac.compare_digest(signature, signed):
            return self._error("AuthFailure.SignatureFailure", "signature mismatch")
        if abs(time.time() - int(headers["X-TC-Timestamp"])) > 300:
            return self._error("AuthFailure.SignatureExpire", "expired")
        data = json.loads(body.decode("utf-8"))
        if data.get("SmsSdkAppId") != SMS_APP_ID or not data.get("SignName"):
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "app id")
        if self.delay:
            await asyncio.sleep(self.delay)
        phone = data["PhoneNumberSet"][0]
        if phone in self.blacklisted:
            status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "Code": "FailedOperation.PhoneNumberInBlacklist",
                      "Message": "blacklisted", "IsoCode": "CN"}  # fmt: skip
        else:
            self.messages.append(Sms(time.monotonic(), phone, data["TemplateId"], list(data["TemplateParamSet"]),
                                     data["SignName"]))  # fmt: skip
            status = {"SerialNo": secrets.token_hex(10), "PhoneNumber": phone, "Fee": 1, "Code": "Ok",
                      "Message": "send success", "IsoCode": "CN"}  # fmt: skip
        await self._notify()
        return web.json_response({"Response": {"SendStatusSet": [status], "RequestId": secrets.token_hex(8)}})


def sms_settings(fake: FakeTencentSms) -> dict[str, str]:
    """The environment of a bot process that sends its SMS to `fake`."""
    return {
        "SMS_PROVIDER": "tencent",
        "TENCENT_SMS_SECRET_ID": SMS_SECRET_ID,
        "TENCENT_SMS_SECRET_KEY": SMS_SECRET_KEY,
        "TENCENT_SMS_SDK_APP_ID": SMS_APP_ID,
        "TENCENT_SMS_SIGN_NAME": SMS_SIGN,
        "TENCENT_SMS_TEMPLATE_NOTICE": TEMPLATE_NOTICE,
        "TENCENT_SMS_TEMPLATE_CODE": TEMPLATE_CODE,
        "TENCENT_SMS_ENDPOINT": fake.base,
    }
