"""Field encryption for personal data: AES-GCM at rest, a keyed hash beside it for look-ups, masks for display."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LEGACY = "v1"  # tokens from before key versions: sealed with the first key, "v1" as associated data


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"shishi", info=purpose).derive(master)


def key_id(secret: str) -> str:
    """A short public name for a secret, written in front of everything sealed with it ("k3f9a1c:…")."""
    return "k" + hashlib.sha256(b"shishi/key-id/" + secret.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class FieldCipher:
    """Encrypts and hashes personal fields with keys derived from the desk's secret. Every sealed value names the
    key it was sealed with; the keys of older secrets still open what they sealed, so `SHISHI_SECRET_KEY` can be
    rotated while the desk runs (`python -m bot keys rotate` re-seals everything with the current key)."""

    enc_key: bytes
    hash_key: bytes
    current: str = LEGACY
    older: tuple[tuple[str, bytes, bytes], ...] = ()  # (key id, encryption key, hash key) of secrets still accepted

    @classmethod
    def from_secret(cls, secret: str, older: Sequence[str] = ()) -> FieldCipher:
        master = secret.encode()
        previous = tuple(
            (key_id(old), _derive(old.encode(), b"field-encryption"), _derive(old.encode(), b"lookup-hash"))
            for old in older
            if old and old != secret
        )
        return cls(
            enc_key=_derive(master, b"field-encryption"),
            hash_key=_derive(master, b"lookup-hash"),
            current=key_id(secret),
            older=previous,
        )

    @property
    def hash_keys(self) -> tuple[bytes, ...]:
        """The current hash key first, then those of the older secrets (to verify what they signed)."""
        return (self.hash_key, *(hashed for _, _, hashed in self.older))

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.enc_key).encrypt(nonce, plaintext.encode(), self.current.encode())
        return self.current + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        kid, _, body = token.partition(":")
        raw = base64.urlsafe_b64decode(body.encode())
        candidates = [(self.current, self.enc_key), *((k, key) for k, key, _ in self.older)]
        if kid != LEGACY:
            candidates = [(k, key) for k, key in candidates if k == kid]
        for _, key in candidates:
            try:
                return AESGCM(key).decrypt(raw[:12], raw[12:], kid.encode()).decode()
            except InvalidTag:
                continue
        raise InvalidTag(f"no accepted key opens a value sealed with {kid}")

    def is_current(self, token: str) -> bool:
        return token.startswith(self.current + ":")

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()

    def lookup_hashes(self, value: str) -> list[str]:
        """The value's hash under every accepted key: a look-up made during a rotation finds rows of either."""
        return [hmac.new(key, value.encode(), hashlib.sha256).hexdigest() for key in self.hash_keys]


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
