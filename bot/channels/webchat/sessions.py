"""Web chat sessions exist only when the server issued them: a random id with a MAC under a key derived from the
desk's secret. A token the client made up (or one from before this scheme) is never taken: it gets a new session,
so a planted token cannot read anyone's transcript and a fresh cookie per request is not a fresh quota."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

NONCE_BYTES = 24
MAC_LENGTH = 27  # base64url characters of the MAC kept: 160 bits


class Sessions:
    """Issued under the current secret; sessions issued under a secret still accepted stay valid through a key
    rotation, so nobody loses their conversation."""

    def __init__(self, secret: bytes, *older: bytes) -> None:
        self._keys = [hmac.new(s, b"shishi/webchat/session", hashlib.sha256).digest() for s in (secret, *older)]

    def _mac(self, nonce: str, key: bytes) -> str:
        digest = hmac.new(key, nonce.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii")[:MAC_LENGTH]

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        return f"{nonce}.{self._mac(nonce, self._keys[0])}"

    def valid(self, token: str) -> bool:
        nonce, dot, mac = token.partition(".")
        if not dot or len(token) > 96 or not nonce.isascii() or not mac.isascii():
            return False
        return any(hmac.compare_digest(mac, self._mac(nonce, key)) for key in self._keys)
