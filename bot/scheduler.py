"""The follow-up clock: APScheduler only ticks (every 30 s, and a cron job for the morning digest); the rows in the
database are the follow-ups, and handlers/followups.py fires the due ones exactly once."""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from handlers.citizen.privacy.retention import RetentionReport, apply_retention
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Clock, Rules, system_clock
from handlers.desk import fire_follow_ups
from handlers.followups.effects import TickReport
from handlers.followups.firing import BATCH
from handlers.followups.ladder import DEFAULT_DIGEST_AT, ensure_digest
from handlers.tickets.deadlines import Deadlines, build_deadlines
from handlers.tickets.workcal import WorkCalendar, parse_office_hours
from storage.uow import Database

log = logging.getLogger(__name__)

DEMO = Path(__file__).resolve().parent.parent / "demo"
DEADLINES_FILE = DEMO / "deadlines.toml"
HOLIDAYS_FILE = DEMO / "holidays.toml"


def load_deadlines(
    *,
    timezone: str,
    office_hours: str,
    deadlines_file: Path | None = None,
    holidays_file: Path | None = None,
) -> Deadlines:
    policy = tomllib.loads((deadlines_file or DEADLINES_FILE).read_text(encoding="utf-8"))
    holidays = tomllib.loads((holidays_file or HOLIDAYS_FILE).read_text(encoding="utf-8"))
    return build_deadlines(policy, holidays, timezone=timezone, office_hours=parse_office_hours(office_hours))


def warn_about_calendar(calendar: WorkCalendar, year: int) -> list[str]:
    """A WARNING for this year and the next when no source knows their holidays, or only a provisional one."""
    warnings = []
    for wanted in (year, year + 1):
        coverage = calendar.coverage(wanted)
        if coverage == "unknown":
            warnings.append(
                f"holidays of {wanted} are unknown to the chinesecalendar package and to the override file: "
                "deadlines that year count Monday to Friday only; add the State Council's schedule to the "
                "override file (HOLIDAYS_FILE) or upgrade chinesecalendar"
            )
        elif coverage == "provisional":
            note = calendar.overrides[wanted].note
            warnings.append(f"holidays of {wanted} are provisional in the override file ({note}); replace them")
    for warning in warnings:
        log.warning(warning)
    return warnings


class PerTickToDebug(logging.Filter):
    """APScheduler's executor logs "Running job …" and "… executed successfully" at INFO on every tick: most of the
    log, saying nothing. They become DEBUG lines, shown only when the log level asks for DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


PER_TICK_LOGGERS = ("apscheduler.executors.default",)


def quiet_per_tick_lines() -> None:
    for name in PER_TICK_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, PerTickToDebug) for f in target.filters):
            target.addFilter(PerTickToDebug())


class FollowUpScheduler:
    """Ticks only. Job functions take no arguments, so no personal data ever sits in the scheduler."""

    def __init__(
        self,
        db: Database,
        translator: Translator,
        rules: Rules,
        *,
        clock: Clock = system_clock,
        interval: float = 30.0,
        digest_at: str = DEFAULT_DIGEST_AT,
        retention_at: str = "03:30",
        on_queued: Callable[[], None] | None = None,
        batch: int = BATCH,
    ) -> None:
        self.db, self.translator, self.rules, self.clock = db, translator, rules, clock
        self.deadlines = rules.deadlines
        self.interval, self.digest_at, self.on_queued, self.batch = interval, digest_at, on_queued, batch
        self.retention_at = retention_at
        self.scheduler = AsyncIOScheduler(timezone=self.deadlines.calendar.zone)
        quiet_per_tick_lines()
        self.ticks = 0
        self.report = TickReport()  # totals since start, counted per committed batch
        self._ticking = asyncio.Lock()

    async def start(self) -> None:
        await self.plan_digest()
        hour, minute = (int(part) for part in self.digest_at.split(":"))
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.interval),
            id="follow-ups",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # a late tick is better than a skipped one
            next_run_time=datetime.now(UTC),  # APScheduler keeps real time; the desk's clock may be a test's
        )
        self.scheduler.add_job(
            self.morning,
            CronTrigger(hour=hour, minute=minute, timezone=self.deadlines.calendar.zone),
            id="morning-digest",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        hour, minute = (int(part) for part in self.retention_at.split(":"))
        self.scheduler.add_job(
            self.retention,
            CronTrigger(hour=hour, minute=minute, timezone=self.deadlines.calendar.zone),
            id="retention",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=6 * 3600,  # the database holds what is due: a late run does the same work
        )
        self.scheduler.start()

    @property
    def fired(self) -> int:
        return self.report.fired

    async def stop(self) -> None:
        """No new ticks; the one in progress finishes its batch (a batch is one transaction either way)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        async with self._ticking:
            pass

    async def plan_digest(self) -> None:
        async with self.db() as uow:
            await ensure_digest(uow, self.deadlines, self.clock(), self.digest_at)
            await uow.commit()

    async def tick(self) -> TickReport:
        report = TickReport()
        async with self._ticking:
            try:
                await fire_follow_ups(
                    self.db, self.translator, self.rules, self.clock(), batch=self.batch, report=report
                )
            except Exception:
                log.exception("follow-up tick failed; the rows stay due for the next tick")
            finally:
                self.ticks += 1
                for name in ("fired", "busy", "failed", "messages"):
                    setattr(self.report, name, getattr(self.report, name) + getattr(report, name))
        if report.fired or report.failed:
            log.info("follow-ups: %d fired, %d busy, %d failed", report.fired, report.busy, report.failed)
        if report.messages and self.on_queued is not None:
            self.on_queued()
        return report

    async def retention(self) -> RetentionReport | None:
        """The daily retention job (#16): what expired is pseudonymised or removed, and admins are told."""
        try:
            report = await apply_retention(self.db, self.translator, self.rules, self.clock())
        except Exception:
            log.exception("retention job failed; what is due stays due for the next run")
            return None
        log.info(
            "retention: %d tickets pseudonymised (%d records kept), %d inbox keys, %d outbox rows, %d uploads, "
            "%d copies", report.tickets, report.kept, report.inbox, report.outbox, report.uploads, report.copies,
        )  # fmt: skip
        if report.told and self.on_queued is not None:
            self.on_queued()
        return report

    async def morning(self) -> None:
        """The digest row is already in the database (rows chain day to day); this just fires it on the minute."""
        try:
            await self.plan_digest()
        except Exception:
            log.exception("could not plan the morning digest")
        await self.tick()
