"""Tencent Cloud SMS, API 3.0 (SendSms, version 2021-01-11), with TC3-HMAC-SHA256 request signing.

https://cloud.tencent.com/document/api/382/55981 (SendSms) and /document/api/382/52072 (signature v3)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.reach.sms import SmsResult

log = logging.getLogger(__name__)

SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
TIMEOUT = ClientTimeout(total=10)
RETRY_LATER = ("RequestLimitExceeded", "LimitExceeded.DeliveryFrequencyLimit")
UNCERTAIN = ("InternalError",)  # the gateway failed on its side: the message may or may not have gone


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def authorization(secret_id: str, secret_key: str, host: str, body: str, timestamp: int) -> str:
    """The Authorization header of a POST to `host` with a JSON `body` at `timestamp` (seconds, UTC)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body.encode("utf-8")).hexdigest(),
        ]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), SERVICE), "tc3_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


class TencentSms:
    """One gateway: SendSms to one mainland number with a template of the account's and its parameters."""

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
        endpoint: str = "https://sms.tencentcloudapi.com",
    ) -> None:
        self.secret_id, self.secret_key = secret_id, secret_key
        self.sdk_app_id, self.sign_name, self.region = sdk_app_id, sign_name, region
        self.endpoint = endpoint.rstrip("/") + "/"
        self.host = urlsplit(self.endpoint).netloc
        self._session: ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, phone: str, template_id: str, params: Sequence[str], context: str = "") -> SmsResult:
        body = json.dumps(
            {
                "PhoneNumberSet": [f"+86{phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template_id,
                "TemplateParamSet": list(params),
                "SessionContext": context,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        timestamp = int(time.time())
        headers = {
            "Authorization": authorization(self.secret_id, self.secret_key, self.host, body, timestamp),
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
        }
        if self._session is None:
            self._session = ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.post(self.endpoint, data=body.encode("utf-8"), headers=headers) as response:
                if response.status != 200:
                    return SmsResult(False, certain=response.status < 500, code=f"http {response.status}")
                answer = (await response.json(content_type=None)).get("Response") or {}
        except (ClientError, TimeoutError, ValueError) as error:
            return SmsResult(False, certain=False, code=type(error).__name__)
        refused = answer.get("Error")
        if isinstance(refused, dict):
            code = str(refused.get("Code", "error"))
            if code.startswith(RETRY_LATER):
                return SmsResult(False, certain=True, code=code, later=True)
            log.warning("sms: the gateway refused the request (%s)", code)
            return SmsResult(False, certain=not code.startswith(UNCERTAIN), code=code)
        statuses = answer.get("SendStatusSet") or [{}]
        status = statuses[0] if isinstance(statuses[0], dict) else {}
        code = str(status.get("Code", "no status"))
        if code == "Ok":
            return SmsResult(True, certain=True, code=code, serial=str(status.get("SerialNo") or "") or None)
        return SmsResult(False, certain=True, code=code, later=code.startswith(RETRY_LATER))
