"""WeChat's message security: the URL signature, msg_signature of safe mode, and the AES-256-CBC message crypto
(WXBizMsgCrypt) — random(16) + length(4, network order) + message + AppID, PKCS#7 to 32-byte blocks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class Forged(Exception):
    """A request we cannot believe came from WeChat for this account; the reason is for the log only."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(given: str, *parts: str) -> bool:
    return hmac.compare_digest(given.encode(), sha1_signature(*parts).encode())


def aes_key(encoding_aes_key: str) -> bytes:
    """The 43-character EncodingAESKey of the admin console is base64 without its '=': 32 bytes of key."""
    if len(encoding_aes_key) != 43:
        raise ValueError("WECHAT_ENCODING_AES_KEY must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise ValueError("WECHAT_ENCODING_AES_KEY is not base64") from error
    if len(key) != 32:
        raise ValueError("WECHAT_ENCODING_AES_KEY does not decode to 32 bytes")
    return key


class MessageCrypto:
    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.app_id = app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, *, random: bytes | None = None) -> str:
        body = message.encode()
        plain = (random or os.urandom(16)) + struct.pack("!I", len(body)) + body + self.app_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        """The message, once padding, length and AppID all check out; anything else is Forged."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as error:
            raise Forged("Encrypt is not base64") from error
        if not raw or len(raw) % 16:
            raise Forged("Encrypt is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise Forged("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise Forged("too short")
        (length,) = struct.unpack("!I", content[:4])
        if length > len(content) - 4:
            raise Forged("length beyond the message")
        message, app_id = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(app_id, self.app_id.encode()):
            raise Forged("AppID is not ours")
        try:
            return message.decode()
        except UnicodeDecodeError as error:
            raise Forged("message is not UTF-8") from error

    def msg_signature_ok(self, given: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        return signature_ok(given, self.token, timestamp, nonce, encrypted)

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypted)
