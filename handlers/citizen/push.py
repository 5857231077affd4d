"""A browser's Web Push subscription for the web chat (issue #14): kept per chat identity, sealed, and only once the
person agreed to the privacy notice (a push is a way to reach them)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.uow import Database


def valid_subscription(info: Any) -> dict[str, Any] | None:
    """The parts of a PushSubscription.toJSON() the push needs: an http(s) endpoint and the two keys."""
    if not isinstance(info, dict):
        return None
    endpoint, keys = info.get("endpoint"), info.get("keys")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")) or len(endpoint) > 2048:
        return None
    if not isinstance(keys, dict) or not all(isinstance(keys.get(k), str) and 0 < len(keys[k]) <= 256
                                             for k in ("p256dh", "auth")):  # fmt: skip
        return None
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


async def remember_push(db: Database, channel: str, chat_id: str, info: dict[str, Any], now: datetime) -> bool:
    """False when the chat has no person yet or the person has not agreed to the privacy notice."""
    async with db() as uow:
        identity = await uow.people.identity(channel, chat_id)
        if identity is None or (await uow.people.get(identity.person_id)).consent_at is None:
            return False
        sealed = uow.cipher.encrypt(json.dumps(info, separators=(",", ":")))
        await uow.reach.subscribe(identity.id, uow.cipher.lookup_hash(info["endpoint"]), sealed, now)
        await uow.commit()
    return True
