"""The VAPID keys of web push (issue #14): made once into the data directory (0600), kept across starts, and the same
for several processes starting on one data directory at the same moment."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from bot.reach.webpush import application_server_key, load_or_create_vapid


def _key_of(data_dir: str) -> str:
    return application_server_key(load_or_create_vapid(Path(data_dir)))


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        keys = pool.map(_key_of, [str(tmp_path)] * 6)
    assert len(set(keys)) == 1 and len(keys[0]) == 87  # base64url of the 65-byte uncompressed P-256 point
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vapid_private.pem"]
    assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o777 == 0o600
    assert _key_of(str(tmp_path)) == keys[0]  # the next start reads it
