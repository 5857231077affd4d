"""Command line: `python -m bot [run]`, `db upgrade`, `units list`, `units load FILE`, `guide load FILE`,
`wechat menu [FILE]`, `keys rotate|status`, `report --from --to [--unit]` (the ledger as XLSX), `audit export --from
--to [--ticket] [--format csv|jsonl]` (who saw or changed what, to stdout), `retention run` (the daily job, now),
`privacy seal-existing` (seal what tickets written before sealing hold plain; `keys rotate` runs it first)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from storage.uow import Database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Shishi citizen intake desk")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="migrate, then serve the web chat (and Telegram when configured)")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    units = commands.add_parser("units", help="units and routing rules")
    units_actions = units.add_subparsers(dest="action", required=True)
    units_actions.add_parser("list", help="one unit a line: code, a tab, the name")
    load = units_actions.add_parser("load", help="load units and routing rules from a TOML file")
    load.add_argument("file", type=Path)
    invite = commands.add_parser("invite", help="make a one-time code that links a chat to a new officer")
    invite.add_argument("--unit", required=True, help="unit code, see `units list`")
    invite.add_argument("--role", required=True, choices=["officer", "leader", "admin"])
    invite.add_argument("--expires", default="72h", help="how long the code works: 90m, 72h, 7d (at most 30d)")
    guide = commands.add_parser("guide", help="the service guide (便民服务指南)")
    guide_actions = guide.add_subparsers(dest="action", required=True)
    guide_load = guide_actions.add_parser("load", help="replace the guide with the entries of a TOML file")
    guide_load.add_argument("file", type=Path)
    wechat = commands.add_parser("wechat", help="the WeChat Official Account")
    wechat_actions = wechat.add_subparsers(dest="action", required=True)
    wechat_menu = wechat_actions.add_parser("menu", help="create the custom menu (default demo/wechat_menu.toml)")
    wechat_menu.add_argument("file", type=Path, nargs="?")
    report = commands.add_parser("report", help="the ledger (台账) of a period as XLSX; the export is audited")
    report.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
    report.add_argument("--unit", help="a unit code: that unit and the units under it (default: the whole city)")
    report.add_argument("--county", help="a county code, e.g. hantai")
    report.add_argument("--locale", default=None, choices=["zh_CN", "en"], help="the language of the workbook")
    report.add_argument("--out", type=Path, help="the file to write (default ledger-FROM-TO.xlsx)")
    keys = commands.add_parser("keys", help="the secret that seals personal data")
    keys_actions = keys.add_subparsers(dest="action", required=True)
    rotate = keys_actions.add_parser("rotate", help="re-seal everything with SHISHI_SECRET_KEY, in batches, resumable")
    rotate.add_argument("--batch", type=int, default=500)
    keys_actions.add_parser("status", help="how many sealed values still use another key")
    audit = commands.add_parser("audit", help="who saw or changed what (reveals, exports, claims, transfers)")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    audit_export = audit_actions.add_parser("export", help="the audit log of a period to stdout; audited itself")
    audit_export.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD (local)")
    audit_export.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD (local), included")
    audit_export.add_argument("--ticket", help="one ticket's number, e.g. HZ-20261127-0001")
    audit_export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    retention = commands.add_parser("retention", help="personal data past its term (PIPL Art. 19)")
    retention_actions = retention.add_subparsers(dest="action", required=True)
    retention_actions.add_parser("run", help="run the daily retention job now and print what it did")
    privacy = commands.add_parser("privacy", help="sealing personal data (PIPL Art. 51)")
    privacy_actions = privacy.add_subparsers(dest="action", required=True)
    seal = privacy_actions.add_parser(
        "seal-existing", help="seal what tickets written before sealing hold plain, in batches, resumable"
    )
    seal.add_argument("--batch", type=int, default=200)
    return parser


def _upgrade(settings: Settings) -> None:
    from storage.migrate import upgrade

    if settings.embedded:
        settings.shishi_data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.url)


async def _units(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_database, read_units_file
    from handlers.tickets.units import UnitDataError, list_units, load_units

    db = open_database(settings)
    try:
        if args.action == "list":
            for code, name in await list_units(db):
                print(f"{code}\t{name}")
            return 0
        units, rules = read_units_file(args.file)
        try:
            count = await load_units(db, units, rules)
        except UnitDataError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"loaded {count} units and {len(rules)} routing rules")
        return 0
    finally:
        await db.dispose()


async def _guide(settings: Settings, args: argparse.Namespace) -> int:
    import tomllib
    from datetime import UTC, datetime

    from bot.app import open_database
    from handlers.outreach.guide import GuideDataError, load_guide

    try:
        data = tomllib.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 1
    db = open_database(settings)
    try:
        count = await load_guide(db, data, datetime.now(UTC))
    except GuideDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(f"loaded {count} guide entries")
    return 0


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.app import open_database
    from handlers.staff.invites import InviteError, make_invite, parse_ttl

    db = open_database(settings)
    try:
        code = await make_invite(db, args.unit, args.role, parse_ttl(args.expires), datetime.now(UTC))
    except InviteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(f"one-time invite for {args.unit} as {args.role}, valid {args.expires}; in the chat send: /join CODE NAME")
    print(code)  # the last line is the code alone, for scripts
    return 0


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_database
    from storage.rotation import remaining, rotate

    db = open_database(settings)
    try:
        if args.action == "rotate":
            await _seal_existing(db, args.batch)  # what is still plain gets sealed first, then all with the new key
            report = await rotate(db, batch=args.batch, on_batch=lambda table, n: print(f"{table}: {n}", flush=True))
            print(f"re-sealed {report.total} values with key {db.cipher.current}")
        left = await remaining(db)
    finally:
        await db.dispose()
    for table, count in left.items():
        print(f"{table}\t{count} on another key")
    return 0 if not any(left.values()) else (1 if args.action == "rotate" else 0)


async def _seal_existing(db: Database, batch: int) -> None:
    from handlers.citizen.privacy.legacy import seal_existing

    report = await seal_existing(db, batch=batch, on_batch=lambda what, n: print(f"sealed {what}: {n}", flush=True))
    print(f"sealed {report.tickets} tickets ({report.answers} sensitive answers, {report.texts} texts masked, "
          f"{report.files} file names) and {report.notes} notes written before sealing")  # fmt: skip


async def _privacy(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_database

    db = open_database(settings)
    try:
        await _seal_existing(db, args.batch)
    finally:
        await db.dispose()
    return 0


async def _wechat_menu(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_database
    from bot.channels.wechat.api import WeChatApi, WeChatError
    from bot.channels.wechat.menu import MenuDataError, load_menu, oauth_link

    if not settings.wechat_app_id or settings.wechat_app_secret is None:
        print("error: set WECHAT_APP_ID and WECHAT_APP_SECRET", file=sys.stderr)
        return 1
    try:
        public = settings.shishi_public_url or f"http://{settings.http_host}:{settings.http_port}"
        menu = load_menu(args.file or settings.wechat_menu_file, oauth_link(settings.wechat_app_id, public))
    except MenuDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    db = open_database(settings)
    api = WeChatApi(db, settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret.get_secret_value())
    try:
        await api.create_menu(menu)
    except WeChatError as error:
        print(f"error: WeChat refused the menu: {error}", file=sys.stderr)
        return 1
    finally:
        await api.close()
        await db.dispose()
    print(f"menu created: {len(menu['button'])} buttons")
    return 0


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, date, datetime

    from bot.app import open_database, rules_for
    from bot.i18n import load_translator
    from handlers.ledger.export import ExportError, export_for_operator
    from handlers.ledger.period import PeriodError, between

    rules = rules_for(settings)
    try:
        period = between(date.fromisoformat(args.first), date.fromisoformat(args.last), rules.zone)
    except (ValueError, PeriodError) as error:
        print(f"error: --from/--to: {error}", file=sys.stderr)
        return 1
    db = open_database(settings)
    locale = args.locale or settings.default_locale
    try:
        data, report = await export_for_operator(
            db, load_translator(settings.default_locale), rules, period, datetime.now(UTC),
            unit_code=args.unit, county=args.county, locale=locale,
        )  # fmt: skip
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    out = args.out or Path(f"ledger-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx")
    out.write_bytes(data)
    print(f"{out}: {report.totals.tickets} tickets, {len(data):,} bytes")
    return 0


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    import csv
    import json
    from datetime import UTC, date, datetime, time, timedelta

    from bot.app import open_database, rules_for
    from handlers.staff.audit import FIELDS, export_trail

    zone = rules_for(settings).zone
    try:
        first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
    except ValueError as error:
        print(f"error: --from/--to: {error}", file=sys.stderr)
        return 1
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    db = open_database(settings)
    try:
        rows = await export_trail(db, start, end, args.ticket, datetime.now(UTC))
    except LookupError:
        print(f"error: no ticket {args.ticket}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    if args.format == "jsonl":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows", file=sys.stderr)
    return 0


async def _retention(settings: Settings, _: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.app import open_database, rules_for
    from bot.i18n import load_translator
    from handlers.citizen.privacy.retention import apply_retention

    db = open_database(settings)
    try:
        report = await apply_retention(db, load_translator(settings.default_locale), rules_for(settings),
                                       datetime.now(UTC))  # fmt: skip
    finally:
        await db.dispose()
    print(f"tickets pseudonymised: {report.tickets} (records kept sealed: {report.kept}); inbox keys: "
          f"{report.inbox}; outbox rows: {report.outbox}; uploads: {report.uploads}; copies: {report.copies}; "
          f"admins told: {report.told}")  # fmt: skip
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "guide": _guide,
    "invite": _invite,
    "wechat": _wechat_menu,
    "units": _units,
    "report": _report,
    "keys": _keys,
    "audit": _audit,
    "retention": _retention,
    "privacy": _privacy,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    command = args.command or "run"
    if command == "db":
        _upgrade(settings)
        print("database is up to date")
        return 0
    if command in COMMANDS:
        _upgrade(settings)
        return asyncio.run(COMMANDS[command](settings, args))
    from bot.app import serve

    _upgrade(settings)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
