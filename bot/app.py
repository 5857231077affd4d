"""The composition root: settings → database → desk → channels → sender → HTTP server. Wired once, here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.broadcaster import BroadcastLoop, outreach_rules
from bot.channels.base import Channel
from bot.channels.registry import build_channels
from bot.config import Settings
from bot.copies import Copies
from bot.dashboard import Dashboard
from bot.i18n import load_translator
from bot.reach.sms import SmsTransport, Templates
from bot.scheduler import FollowUpScheduler, load_deadlines, warn_about_calendar
from bot.sender import STOP_GRACE, OutboxSender, Transport
from handlers.conversation.danger import Lexicon
from handlers.conversation.emergency import parse_words
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Clock, Rules, system_clock
from handlers.delivery import CHAT, Ladder
from handlers.desk import Desk
from handlers.tickets.retention import RetentionPolicy
from handlers.tickets.units import has_units, load_units
from storage.crypto import FieldCipher, load_or_create_secret
from storage.uow import Database

log = logging.getLogger("shishi")

DEMO_UNITS = Path(__file__).resolve().parent.parent / "demo" / "hanzhong.toml"
DEMO_GUIDE = DEMO_UNITS.parent / "guide.toml"
DEMO_EMERGENCY_WORDS = DEMO_UNITS.parent / "emergency.toml"
DEMO_CLUSTERS = DEMO_UNITS.parent / "clusters.toml"
DEMO_RETENTION = DEMO_UNITS.parent / "retention.toml"


def cipher_for(settings: Settings) -> FieldCipher:
    older = settings.shishi_old_secret_keys.get_secret_value().split(",") if settings.shishi_old_secret_keys else []
    older = [secret.strip() for secret in older if secret.strip()]
    if settings.shishi_secret_key is not None:
        return FieldCipher.from_secret(settings.shishi_secret_key.get_secret_value(), older)
    return FieldCipher.from_secret(load_or_create_secret(settings.shishi_data_dir), older)


def rules_for(settings: Settings) -> Rules:
    deadlines = load_deadlines(
        timezone=settings.timezone,
        office_hours=settings.office_hours,
        deadlines_file=settings.deadlines_file,
        holidays_file=settings.holidays_file,
    )
    return Rules(
        deadlines=deadlines,
        citizen_quiet=settings.citizen_quiet_hours,
        ticket_prefix=settings.ticket_prefix,
        timezone=settings.timezone,
        default_locale=settings.default_locale,
        max_tickets_per_day=settings.max_tickets_per_day,
        emergency_words=read_emergency_words(settings.shishi_emergency_words or DEMO_EMERGENCY_WORDS),
        public_url=settings.shishi_public_url or f"http://{settings.http_host}:{settings.http_port}",
        clusters=read_clusters(settings.clusters_file or DEMO_CLUSTERS),
        privacy_contact=settings.shishi_privacy_contact or "",
        retention=read_retention(settings.retention_file or DEMO_RETENTION),
        uploads_dir=str(settings.shishi_data_dir / "uploads"),
    )


def read_emergency_words(path: Path) -> dict[str, Lexicon]:
    """The danger vocabularies per language (demo/emergency.toml by default); a broken file stops the start."""
    return parse_words(tomllib.loads(path.read_text(encoding="utf-8")))


def read_retention(path: Path) -> RetentionPolicy:
    """The retention terms (demo/retention.toml by default); a broken file stops the start."""
    return RetentionPolicy.parse(tomllib.loads(path.read_text(encoding="utf-8")))


def read_clusters(path: Path) -> dict[str, Any]:
    """The cluster thresholds (demo/clusters.toml by default); a broken file stops the start."""
    from handlers.ledger.clusters import ClusterRules

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    ClusterRules.parse(data)
    return data


def open_database(settings: Settings) -> Database:
    if settings.embedded:
        settings.shishi_data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.url, cipher_for(settings))


def read_units_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return list(data.get("unit", [])), list(data.get("rule", []))


async def load_demo_if_wanted(settings: Settings, db: Database) -> None:
    wanted = settings.shishi_demo.lower()
    if wanted == "no" or (wanted == "auto" and not settings.embedded):
        return
    if await has_units(db):
        return
    units, rules = read_units_file(DEMO_UNITS)
    count = await load_units(db, units, rules)
    log.info("loaded %d demo units", count)


async def load_demo_guide_if_wanted(settings: Settings, db: Database) -> None:
    """The demo service guide on an empty guide, under the same rule as the demo units."""
    from datetime import UTC, datetime

    from handlers.outreach.guide import has_guide, load_guide

    wanted = settings.shishi_demo.lower()
    if wanted == "no" or (wanted == "auto" and not settings.embedded) or await has_guide(db):
        return
    count = await load_guide(db, tomllib.loads(DEMO_GUIDE.read_text(encoding="utf-8")), datetime.now(UTC))
    log.info("loaded %d demo service guide entries", count)


@dataclass
class Services:
    settings: Settings
    db: Database
    translator: Translator
    desk: Desk
    channels: list[Channel]
    sender: OutboxSender
    app: web.Application
    followups: FollowUpScheduler


def polite_errors(translator: Translator) -> Any:
    """No stack trace or internal detail ever reaches a user: unexpected errors become a short apology."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except web.HTTPException as error:
            if error.status < 500:
                if error.status == 413:
                    text = translator(translator.locale_for(request.headers.get("Accept-Language")), "error.too_large")
                    return web.json_response({"error": text}, status=413)
                raise
            log.error("HTTP %s on %s", error.status, request.path)
        except Exception as error:
            log.exception("unexpected %s on %s", type(error).__name__, request.path)
        locale = translator.locale_for(request.headers.get("Accept-Language"))
        return web.json_response({"error": translator(locale, "error.internal")}, status=500)

    return middleware


def ladder_for(settings: Settings, transports: list[Transport]) -> Ladder:
    """The delivery ladder's later rungs are those some transport serves here (issue #14)."""
    return Ladder(
        rungs=frozenset(str(getattr(t, "rung", CHAT)) for t in transports) - {CHAT},
        quiet=settings.citizen_quiet_hours,
        timezone=settings.timezone,
        sms_per_ticket_day=settings.sms_per_ticket_day,
        sms_per_person_day=settings.sms_per_person_day,
    )


def reach_transports(
    settings: Settings, db: Database, translator: Translator, channels: list[Channel], clock: Clock
) -> list[Transport]:
    """The ladder's ways outside the chats (issue #14): web push always (its keys are made on the first start), SMS
    when a provider is configured; the web chat learns the push key and, with WeChat, the OAuth look-up."""
    from bot.reach.webpush import PushTransport, application_server_key, load_or_create_vapid

    vapid = load_or_create_vapid(settings.shishi_data_dir, settings.webpush_key_file)
    found: list[Transport] = [PushTransport(db, vapid, settings.webpush_subject, translator, clock=clock)]
    sms = sms_transport(settings, db, clock)
    if sms is not None:
        found.append(sms)
    named = {c.name: c for c in channels}
    webchat, wechat = named.get("webchat"), named.get("wechat")
    if webchat is not None:
        webchat.push_key = application_server_key(vapid)  # type: ignore[attr-defined]
        if wechat is not None:
            webchat.openid_for_code = wechat.api.openid_for_code  # type: ignore[attr-defined]
    return found


def sms_transport(settings: Settings, db: Database, clock: Clock) -> SmsTransport | None:
    if settings.sms_provider.lower() != "tencent":
        return None
    from bot.reach.tencent import TencentSms

    needed = (
        settings.tencent_sms_secret_id,
        settings.tencent_sms_secret_key,
        settings.tencent_sms_sdk_app_id,
        settings.tencent_sms_sign_name,
        settings.tencent_sms_template_notice,
        settings.tencent_sms_template_code,
    )
    if not all(needed):
        log.warning("sms: SMS_PROVIDER=tencent needs every TENCENT_SMS_* setting; SMS is off")
        return None
    assert settings.tencent_sms_secret_id and settings.tencent_sms_secret_key
    gateway = TencentSms(
        secret_id=settings.tencent_sms_secret_id.get_secret_value(),
        secret_key=settings.tencent_sms_secret_key.get_secret_value(),
        sdk_app_id=str(settings.tencent_sms_sdk_app_id),
        sign_name=str(settings.tencent_sms_sign_name),
        region=settings.tencent_sms_region,
        endpoint=settings.tencent_sms_endpoint,
    )
    templates = Templates(
        notice=str(settings.tencent_sms_template_notice), code=str(settings.tencent_sms_template_code)
    )
    return SmsTransport(db, gateway, templates, Ladder(), clock=clock)


def build(settings: Settings, *, clock: Clock = system_clock) -> Services:
    db = open_database(settings)
    translator = load_translator(settings.default_locale)
    desk = Desk(db, translator, rules_for(settings), clock)
    app = web.Application(client_max_size=settings.webchat_max_body, middlewares=[polite_errors(translator)])
    channels = build_channels(desk, db, translator, settings, clock)
    for channel in channels:
        channel.install(app)

    async def healthz(request: web.Request) -> web.Response:
        try:
            ok = await asyncio.wait_for(db.ping(), timeout=5)  # a hung database must not hang the health check
        except TimeoutError:
            ok = False
        return web.json_response(
            {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
            status=200 if ok else 503,
        )

    app.router.add_get("/healthz", healthz)
    Dashboard(db, translator, desk.rules, clock).install(app)  # the ledger at /desk/ (#17)
    webchat = next((c for c in channels if c.name == "webchat"), None)
    session_chat = getattr(webchat, "session_chat", lambda request: None)
    Copies(db, translator, clock, session_chat).install(app)  # /mydata's one-time links (#16)
    reach = reach_transports(settings, db, translator, channels, clock)
    transports = [t for c in channels for t in c.transports()] + reach
    ladder = ladder_for(settings, transports)
    for transport in reach:
        if isinstance(transport, SmsTransport):
            transport.ladder = ladder
    sender = OutboxSender(db, transports, clock=clock, interval=settings.sender_interval, ladder=ladder)
    for channel in channels:
        channel.connect(sender)
    ticker = FollowUpScheduler(
        db,
        translator,
        desk.rules,
        clock=clock,
        interval=settings.followup_interval,
        digest_at=settings.digest_at,
        retention_at=settings.retention_at,
        on_queued=sender.wake,
    )
    return Services(settings, db, translator, desk, channels, sender, app, ticker)


async def serve(settings: Settings) -> None:
    services = build(settings)
    await load_demo_if_wanted(settings, services.db)
    await load_demo_guide_if_wanted(settings, services.db)
    # Everything built so far lives as long as the process: keep it out of the collector's full passes, which
    # otherwise walk every aiogram and SQLAlchemy class again (tens of milliseconds, on whatever reply is running).
    gc.collect()
    gc.freeze()
    # A stop gives the requests in flight this long to finish (a webhook's turn, a web chat message); sockets and
    # long polls are told to go (WebChat.shutdown), so nothing holds the stop for a minute.
    runner = web.AppRunner(services.app, access_log=None, shutdown_timeout=STOP_GRACE)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    services.sender.start()
    broadcasts = BroadcastLoop(
        services.db,
        services.translator,
        services.desk.rules,
        outreach_rules(settings),
        interval=settings.broadcast_interval,
        on_queued=services.sender.wake,
    )
    broadcasts.start()
    warn_about_calendar(services.followups.deadlines.calendar, services.followups.clock().year)
    await services.followups.start()
    for channel in services.channels:
        await channel.start()
    log.info("web chat on http://%s:%d/", settings.http_host, settings.http_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        # In this order: take no new work (polling ends with the batch in hand, the HTTP server lets the requests
        # in flight finish), stop the clocks, then let the sender finish or settle what is on its way.
        stopping = time.monotonic()
        for channel in services.channels:
            await channel.stop(STOP_GRACE)
        await runner.cleanup()
        await services.followups.stop()
        await broadcasts.stop()
        await services.sender.stop(STOP_GRACE)
        for channel in services.channels:
            await channel.close()
        for transport in services.sender.transports:
            close = getattr(transport, "close", None)
            if callable(close) and getattr(transport, "rung", CHAT) != CHAT:
                await close()  # the ladder's own connections (push service, SMS gateway)
        await services.db.dispose()
        log.info("stopped in %.1fs", time.monotonic() - stopping)
