"""Field encryption for personal data: AES-GCM at rest, a keyed hash beside it for look-ups, masks for display."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"v1"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"shishi", info=purpose).derive(master)


@dataclass(frozen=True)
class FieldCipher:
    """Encrypts and hashes personal fields with keys derived from one master secret."""

    enc_key: bytes
    hash_key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> FieldCipher:
        master = secret.encode()
        return cls(enc_key=_derive(master, b"field-encryption"), hash_key=_derive(master, b"lookup-hash"))

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.enc_key).encrypt(nonce, plaintext.encode(), _VERSION)
        return _VERSION.decode() + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        version, _, body = token.partition(":")
        raw = base64.urlsafe_b64decode(body.encode())
        return AESGCM(self.enc_key).decrypt(raw[:12], raw[12:], version.encode()).decode()

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()


def load_or_create_secret(data_dir: Path) -> str:
    """The embedded default keeps its generated key in the data directory, readable by the owner only."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def mask_phone(phone: str) -> str:
    """138****1234: enough to recognise, not enough to call."""
    digits = phone[-11:]
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(number: str) -> str:
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
