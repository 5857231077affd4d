"""The daily retention job (PIPL Art. 19): tickets whose term ran out (the policy's data file, per kind, from their
closing) are pseudonymised exactly as /delete does, in batches; then the rows that are not tickets — update keys
seen, settled outbox rows, uploads no ticket holds, copies handed out — go after their terms. The database holds
what is due, so a missed day is caught up by the next. Admins are told what was done (an outbox message)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Final

from handlers.citizen.privacy.erase import RETENTION, remove_files
from handlers.citizen.privacy.erase import erase_ticket as erase
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_ALERT
from handlers.conversation.turn import Effects, Rules
from handlers.tickets.retention import Keep, RetentionPolicy
from storage.repositories.webchat import attachment_refs, forget_uploads, stale_uploads
from storage.uow import Database

BATCH: Final = 200


@dataclass
class RetentionReport:
    tickets: int = 0  # pseudonymised
    kept: int = 0  # of which a record a law requires was kept, sealed
    inbox: int = 0
    outbox: int = 0
    uploads: int = 0
    copies: int = 0
    told: int = 0  # admins the report went to

    @property
    def anything(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "told")


async def _tickets(db: Database, tr: Translator, rules: Rules, policy: RetentionPolicy, now: datetime,
                   report: RetentionReport, batch: int) -> None:  # fmt: skip
    for years, kinds, other_than in policy.groups():
        before = policy.closed_before(years, now)
        while True:
            async with db() as uow:
                fx = Effects(uow, tr, rules, now)
                due = await uow.rights.expired(before, kinds=kinds, other_than=other_than, limit=batch)
                for ticket in due:
                    result = await erase(fx, ticket, RETENTION, policy)
                    report.tickets += result is not False
                    report.kept += isinstance(result, Keep)
                await uow.commit()
            if len(due) < batch:
                break


async def _housekeeping(db: Database, rules: Rules, policy: RetentionPolicy, now: datetime,
                        report: RetentionReport) -> None:  # fmt: skip
    terms = policy.housekeeping
    async with db() as uow:
        report.inbox = await uow.rights.forget_inbox(now - terms.inbox)
        report.outbox = await uow.rights.forget_outbox(now - terms.outbox)
        report.copies = await uow.rights.forget_copies(now - terms.copies)
        stale = await stale_uploads(uow.session, now - terms.uploads)
        if stale:
            held = await attachment_refs(uow.session, min(u.created_at for u in stale) - timedelta(hours=1))
            gone = [u for u in stale if f"webchat:{u.chat_id}/{u.name}" not in held]
            for upload in stale:
                if upload not in gone:
                    upload.attached_at = now
            remove_files(rules.uploads_dir, [f"webchat:{u.chat_id}/{u.name}" for u in gone])
            await forget_uploads(uow.session, [u.name for u in gone])
            report.uploads = len(gone)
        await uow.commit()


async def _tell_admins(db: Database, tr: Translator, rules: Rules, now: datetime, report: RetentionReport) -> None:
    async with db() as uow:
        fx = Effects(uow, tr, rules, now)
        for person_id in await uow.broadcasts.admins():

            def render(locale: str) -> Reply:
                return Reply(
                    text=tr(locale, "privacy.retention.report", tickets=report.tickets, kept=report.kept,
                            inbox=report.inbox, outbox=report.outbox, uploads=report.uploads, copies=report.copies)
                )  # fmt: skip

            report.told += await fx.outbox.to_person(person_id, render, kind="alert", priority=PRIORITY_ALERT,
                                                     essential=False)  # fmt: skip
        await fx.outbox.flush()
        await uow.commit()


async def apply_retention(
    db: Database, translator: Translator, rules: Rules, now: datetime, *, batch: int = BATCH
) -> RetentionReport:
    """What expired by `now` is pseudonymised or removed; admins hear of it when anything was."""
    policy = rules.retention
    report = RetentionReport()
    await _tickets(db, translator, rules, policy, now, report, batch)
    await _housekeeping(db, rules, policy, now, report)
    if report.anything:
        await _tell_admins(db, translator, rules, now, report)
    return report
