"""Web Push for the web chat (issue #14): VAPID keys made once into the data directory, and the transport of the
ladder's "push" rung (pywebpush: aes128gcm payloads, VAPID-signed requests). A push says nothing personal: "your
ticket HZ-… has news", and opening it opens the chat at that ticket. A subscription the push service says is gone
(404, 410) is dropped; when none is left, the ladder goes on."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from bot.sender import Started
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Clock, system_clock
from handlers.delivery import PUSH, Delivery, Failed, NotNow, Outcome, RetryAfter, Sent, mark_started
from storage.uow import Database

log = logging.getLogger(__name__)

KEY_FILE = "vapid_private.pem"
GONE = (404, 410)
TTL = 24 * 3600  # a push service keeps an undelivered push this long
TIMEOUT = ClientTimeout(total=10)


def load_or_create_vapid(data_dir: Path, key_file: Path | None = None) -> Vapid02:
    """The VAPID key pair: read from `key_file` or the data directory, made there (mode 0600) on the first start."""
    path = key_file or data_dir / KEY_FILE
    if path.exists():
        return Vapid02.from_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    vapid = Vapid02()
    vapid.generate_keys()
    # Written whole under another name, then linked into place: several processes starting on one data directory
    # agree on the first key made, and none reads half a file.
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(vapid.private_pem())
    try:
        os.link(draft, path)
        log.info("web push: VAPID keys made in %s", path)
    except FileExistsError:
        vapid = Vapid02.from_file(str(path))
    finally:
        draft.unlink(missing_ok=True)
    return vapid


def application_server_key(vapid: Vapid02) -> str:
    """The public key as the browser's pushManager.subscribe wants it: the uncompressed point, base64url."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class PushTransport:
    rung = PUSH
    channel = "push"
    batch_size = 20

    def __init__(
        self, db: Database, vapid: Vapid02, subject: str, translator: Translator, *, clock: Clock = system_clock
    ) -> None:
        self.db, self.vapid, self.subject, self.t, self.clock = db, vapid, subject, translator, clock
        self._session: ClientSession | None = None
        self.sent = 0

    def busy_recipients(self) -> Sequence[str]:
        return ()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def deliver(self, batch: Sequence[Delivery], started: Started | None = None) -> list[tuple[int, Outcome]]:
        results: list[tuple[int, Outcome]] = []
        for delivery in batch:
            # At most once: recorded as started before its request goes (a crash from here on gives it up).
            await mark_started(self.db, [delivery.id], self.clock)
            results.append((delivery.id, await self._push(delivery)))
        return results

    async def _push(self, delivery: Delivery) -> Outcome:
        if delivery.person_id is None:
            return NotNow("no_person")
        async with self.db.reading() as uow:
            subscriptions = [(s.id, uow.cipher.decrypt(s.info_sealed)) for s in
                             await uow.reach.subscriptions(delivery.person_id)]  # fmt: skip
            locale = (await uow.people.get(delivery.person_id)).locale
        number = delivery.facts.get("number", "")
        message = json.dumps(
            {
                "title": self.t(locale, "push.title"),
                "body": self.t(locale, "push.body", number=number),
                "url": f"/?ticket={number}" if number else "/",
                "tag": number or "shishi",
            },
            ensure_ascii=False,
        )
        why = "no_push"
        for subscription_id, info in subscriptions:
            outcome = await self._send(subscription_id, json.loads(info), message)
            if not isinstance(outcome, str):
                return outcome
            why = outcome
        return NotNow(why)

    async def _send(self, subscription_id: int, info: dict[str, Any], message: str) -> Outcome | str:
        """The outcome, or why this subscription took nothing ("push_gone", "push_refused": the next one is tried)."""
        if self._session is None:
            self._session = ClientSession(timeout=TIMEOUT)
        try:
            await webpush_async(info, data=message, vapid_private_key=self.vapid,
                                vapid_claims={"sub": self.subject}, ttl=TTL,
                                aiohttp_session=self._session)  # fmt: skip
        except WebPushException as error:
            status = getattr(error.response, "status", None) or getattr(error.response, "status_code", None)
            if status in GONE:
                await self._drop(subscription_id)
                log.info("web push: subscription %d gone (%s), dropped", subscription_id, status)
                return "push_gone"
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                log.warning("web push: the push service refused subscription %d (%s)", subscription_id, status)
                return "push_refused"  # refused, so not delivered; the subscription may work another time
            if status == 429 or (isinstance(status, int) and status >= 500):
                return RetryAfter(60)  # refused, so not delivered: try again later
            return Failed(f"push uncertain: {status}", retry=False)
        except (ClientError, TimeoutError, OSError) as error:
            return Failed(f"push uncertain: {type(error).__name__}", retry=False)  # it may have arrived
        async with self.db() as uow:
            await uow.reach.pushed(subscription_id, self.clock())
            await uow.commit()
        self.sent += 1
        return Sent(f"push:{subscription_id}")

    async def _drop(self, subscription_id: int) -> None:
        async with self.db() as uow:
            await uow.reach.drop_subscription(subscription_id)
            await uow.commit()
