"""Signed callback data: each button carries a short MAC bound to its chat, so a forged or foreign one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac

LIMIT = 64  # Telegram's limit on callback_data, in bytes
MAC_CHARS = 11  # 8 bytes of HMAC-SHA256, base64url without padding


class CallbackTooLong(ValueError):
    pass


class CallbackSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def derive(cls, secret: bytes) -> CallbackSigner:
        """A key of its own, so a leaked callback key says nothing about the field-encryption keys."""
        return cls(hmac.new(secret, b"shishi/telegram/callback-data", hashlib.sha256).digest())

    def _mac(self, chat_id: str, data: str) -> str:
        digest = hmac.new(self._key, f"{chat_id}\x00{data}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:8]).decode().rstrip("=")

    def sign(self, chat_id: str, data: str) -> str:
        signed = self._mac(chat_id, data) + data
        if len(signed.encode()) > LIMIT:
            raise CallbackTooLong(data)
        return signed

    def verify(self, chat_id: str, signed: str | None) -> str | None:
        """The button's data, or None when it was not made by us for this chat."""
        if not signed or len(signed) <= MAC_CHARS or len(signed.encode()) > LIMIT:
            return None
        mac, data = signed[:MAC_CHARS], signed[MAC_CHARS:]
        if not hmac.compare_digest(mac.encode(), self._mac(chat_id, data).encode()):
            return None
        return data
