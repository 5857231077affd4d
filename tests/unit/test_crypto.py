"""Field encryption across a key rotation: every sealed value names its key; a cipher keeps opening what older
accepted secrets sealed, seals only with the current one, and finds rows by the hash under any accepted key."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto import LEGACY, FieldCipher, key_id


def test_values_name_their_key_and_older_secrets_still_open_them() -> None:
    old = FieldCipher.from_secret("old secret")
    sealed = old.encrypt("13800138000")
    assert sealed.startswith(key_id("old secret") + ":") and "13800138000" not in sealed
    new = FieldCipher.from_secret("new secret", ["old secret"])
    assert new.decrypt(sealed) == "13800138000" and not new.is_current(sealed)
    resealed = new.encrypt(new.decrypt(sealed))
    assert new.is_current(resealed) and new.decrypt(resealed) == "13800138000"
    with pytest.raises(InvalidTag):
        FieldCipher.from_secret("new secret").decrypt(sealed)  # once the old secret is dropped, it is gone
    assert new.lookup_hashes("x") == [new.lookup_hash("x"), old.lookup_hash("x")]


def test_values_sealed_before_keys_had_names_still_open() -> None:
    cipher = FieldCipher.from_secret("the first secret")
    nonce = os.urandom(12)
    body = AESGCM(cipher.enc_key).encrypt(nonce, b"answers", LEGACY.encode())
    legacy = LEGACY + ":" + base64.urlsafe_b64encode(nonce + body).decode()
    assert cipher.decrypt(legacy) == "answers" and not cipher.is_current(legacy)
    rotated = FieldCipher.from_secret("a second secret", ["the first secret"])
    assert rotated.decrypt(legacy) == "answers"


def test_every_sealed_column_is_rotated() -> None:
    """A sealed column `keys rotate` does not know stays on the old key, and is lost when the old key is dropped."""
    from storage.models import Base
    from storage.rotation import SEALED

    rotated = {(s.model.__tablename__, column) for s in SEALED for column in s.columns}
    sealed = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns if c.name.endswith("_sealed")}
    assert sealed - rotated == set()
    assert rotated <= sealed
