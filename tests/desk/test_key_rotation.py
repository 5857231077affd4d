"""Rotating SHISHI_SECRET_KEY while the desk runs: `python -m bot keys rotate` re-seals every sealed value in
batches; killed half-way (kill -9) it resumes and ends with every row on the new key, each still holding what it
held, its keyed hashes recomputed; meanwhile the desk reads everything, old key or new."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from handlers.conversation.messages import Reply
from storage.crypto import FieldCipher
from storage.models import ChatIdentity, ConfirmedPhone, Conversation, OutboxMessage, Person, PushSubscription, Ticket
from storage.rotation import remaining
from storage.uow import Database

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "the old secret of the desk", "the new secret of the desk"
TICKETS = 240
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


SEALED_ANSWERS = range(0, TICKETS, 3)


def phone_of(n: int) -> str:
    return f"139{n:08d}"


def endpoint_of(n: int) -> str:
    return f"https://push.example/send/{n}"


async def seed(url: str) -> None:
    db = Database(url, FieldCipher.from_secret(OLD))
    async with db() as uow:
        for n in range(TICKETS):
            person = Person(locale="zh_CN", created_at=NOW, consent_declined=False)
            uow.session.add(person)
            await uow.flush()
            ticket = Ticket(number=f"HZ-20261127-{n:04d}", kind="dispute", category="land", county="hantai",
                            status="new", citizen_id=person.id, locale="zh_CN", created_at=NOW,
                            updated_at=NOW)  # fmt: skip
            ticket.phone_sealed = uow.cipher.encrypt(phone_of(n))
            ticket.phone_hash = uow.cipher.lookup_hash(phone_of(n))
            if n % 3 == 0:  # sensitive answers and free text's originals, sealed together (#16)
                uow.tickets.seal(ticket, {"fraud_amount": f"{n}.50"}, {"description": f"电话 {phone_of(n)}"})
            uow.session.add(ticket)
            uow.session.add(Conversation(person_id=person.id, state_sealed=uow.cipher.encrypt(f'{{"n": {n}}}'),
                                         version=1, updated_at=NOW))  # fmt: skip
            if n % 5 == 0:  # the web push subscription and the SMS phone of reaching them (#14)
                identity = ChatIdentity(person_id=person.id, channel="webchat", external_id=f"w{n}", created_at=NOW,
                                        last_seen_at=NOW)  # fmt: skip
                uow.session.add(identity)
                await uow.flush()
                info = json.dumps({"endpoint": endpoint_of(n), "keys": {"p256dh": "k", "auth": "a"}})
                uow.session.add(PushSubscription(identity_id=identity.id, info_sealed=uow.cipher.encrypt(info),
                                                 endpoint_hash=uow.cipher.lookup_hash(endpoint_of(n)),
                                                 created_at=NOW))  # fmt: skip
                uow.session.add(ConfirmedPhone(person_id=person.id, phone_sealed=uow.cipher.encrypt(phone_of(n)),
                                               phone_masked="139****0000", landline=False, code_tries=0,
                                               updated_at=NOW))  # fmt: skip
            if n % 4 == 0:
                payload = uow.outbox.seal(Reply(text=f"完整号码 {phone_of(n)}").to_payload())
                uow.session.add(OutboxMessage(channel="webchat", recipient=f"c{n}", payload=payload, priority=0,
                                              essential=True, kind="reply", status="sent", attempts=1, not_before=NOW,
                                              created_at=NOW))  # fmt: skip
        await uow.commit()
    await db.dispose()


def environment(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHISHI_", "DATABASE_URL", "TELEGRAM_"))}
    return {**env, "DATABASE_URL": url, "SHISHI_SECRET_KEY": NEW, "SHISHI_OLD_SECRET_KEYS": OLD,
            "SHISHI_DATA_DIR": str(tmp_path), "SHISHI_DEMO": "no"}  # fmt: skip


async def test_a_rotation_killed_half_way_resumes_and_ends_with_everything_on_the_new_key(
    db_url: str, tmp_path: Path
) -> None:
    await seed(db_url)
    env = environment(db_url, tmp_path)
    rotation = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "keys", "rotate", "--batch", "7", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert rotation.stdout is not None
    for _ in range(5):  # a few batches are committed, then the process dies without a word
        line = await asyncio.wait_for(rotation.stdout.readline(), 60)
        assert line, (await rotation.stderr.read()).decode() if rotation.stderr else ""
    rotation.send_signal(signal.SIGKILL)
    await rotation.wait()

    both = Database(db_url, FieldCipher.from_secret(NEW, [OLD]))
    try:
        half = await remaining(both)
        assert (
            0 < sum(half.values()) < TICKETS * 2 + TICKETS // 4 + len(SEALED_ANSWERS) + 2 * len(range(0, TICKETS, 5))
        )  # some moved, some not yet
        async with both.reading() as uow:  # the desk reads everything meanwhile, whichever key sealed it
            tickets = (await uow.session.execute(select(Ticket).order_by(Ticket.id))).scalars().all()
            assert [uow.cipher.decrypt(t.phone_sealed or "") for t in tickets] == [phone_of(n) for n in range(TICKETS)]

        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "keys", "rotate", "--batch", "50", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(done.communicate(), 120)
        assert done.returncode == 0 and b"on another key" in out, err.decode()

        only_new = Database(db_url, FieldCipher.from_secret(NEW))
        try:
            assert set((await remaining(only_new)).values()) == {0}
            async with only_new.reading() as uow:
                tickets = (await uow.session.execute(select(Ticket).order_by(Ticket.id))).scalars().all()
                phones = [uow.cipher.decrypt(t.phone_sealed or "") for t in tickets]
                assert phones == [phone_of(n) for n in range(TICKETS)]
                assert [t.phone_hash for t in tickets] == [uow.cipher.lookup_hash(p) for p in phones]
                opened = {n: (uow.tickets.answers(t), uow.tickets.originals(t)) for n, t in enumerate(tickets)}
                assert {n: held for n, held in opened.items() if held[0]} == {
                    n: ({"fraud_amount": f"{n}.50"}, {"description": f"电话 {phone_of(n)}"}) for n in SEALED_ANSWERS
                }
                states = (await uow.session.execute(select(Conversation))).scalars().all()
                assert sorted(uow.conversations.unseal(c) for c in states) == sorted(
                    f'{{"n": {n}}}' for n in range(TICKETS)
                )
                pushes = (await uow.session.execute(select(PushSubscription))).scalars().all()
                endpoints = sorted(json.loads(uow.cipher.decrypt(p.info_sealed))["endpoint"] for p in pushes)
                assert endpoints == sorted(endpoint_of(n) for n in range(0, TICKETS, 5))
                assert all(p.endpoint_hash == uow.cipher.lookup_hash(endpoint_of(int(p.info_sealed and
                           json.loads(uow.cipher.decrypt(p.info_sealed))["endpoint"].rsplit("/", 1)[1])))
                           for p in pushes)  # fmt: skip
                sms = (await uow.session.execute(select(ConfirmedPhone))).scalars().all()
                assert sorted(uow.cipher.decrypt(p.phone_sealed) for p in sms) == sorted(
                    phone_of(n) for n in range(0, TICKETS, 5)
                )
                rows = (await uow.session.execute(select(OutboxMessage))).scalars().all()
                texts = {uow.outbox.open(r.payload)["text"] for r in rows}
                assert texts == {f"完整号码 {phone_of(n)}" for n in range(0, TICKETS, 4)}
        finally:
            await only_new.dispose()
    finally:
        await both.dispose()
