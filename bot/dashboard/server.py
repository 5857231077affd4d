"""The dashboard at /desk/ on the desk's own HTTP server: opened with a one-time link sent in chat (no passwords),
a short session in an HttpOnly cookie, a CSRF token on every form, read-only but for the export (audited). The
policy is asked on every request: a leader reads their unit's subtree, an admin every unit, anyone else nothing.
Also /media/<name>: the chart a web chat's /ledger made, for that chat only."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web

from bot.channels.webchat.live import chat_id_for
from bot.channels.webchat.server import COOKIE as WEBCHAT_COOKIE
from bot.channels.webchat.sessions import Sessions
from bot.dashboard import pages
from handlers.conversation.i18n import Translator
from handlers.conversation.places import COUNTIES
from handlers.conversation.turn import Clock, Effects, Rules
from handlers.ledger import passes
from handlers.ledger.chart import FONT
from handlers.ledger.clusters import describe
from handlers.ledger.export import EXPORT_AUDIT, workbook
from handlers.ledger.period import Period, PeriodError, between, parse
from handlers.ledger.report import OutOfScope, Report, build, subtree, visible_units
from handlers.tickets.policy import Action, Actor, actor_for, allows, ledger_scope
from handlers.tickets.rates import terms
from storage.models import Cluster, Unit
from storage.repositories.ledger import Facet, Where
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

SESSION_COOKIE: Final = "shishi_desk"
PRE_COOKIE: Final = "shishi_desk_pre"  # the CSRF secret of a form shown before there is a session
STATIC: Final = Path(__file__).parent / "static"
PAGE_SIZE: Final = 50
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_NAME: Final = re.compile(r"ledger-[A-Za-z0-9_-]{16,40}\.png")
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
FILTERS: Final = ("p", "from", "to", "county", "unit")


def _headers(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"  # a form posted from our page carries its real Origin
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _html(text: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    _headers(response)
    return response


class Dashboard:
    def __init__(self, db: Database, translator: Translator, rules: Rules, clock: Clock) -> None:
        self.db, self.tr, self.rules, self.clock = db, translator, rules, clock
        self._csrf_key = hmac.new(db.cipher.hash_key, b"shishi/desk/csrf", hashlib.sha256).digest()
        self.webchat_sessions = Sessions(db.cipher.hash_key)

    def install(self, app: web.Application) -> None:
        app.router.add_get("/desk", self.home_redirect)
        app.router.add_get("/desk/", self.index)
        app.router.add_get("/desk/tickets", self.tickets)
        app.router.add_get("/desk/login/{token}", self.login_page)
        app.router.add_post("/desk/login/{token}", self.login)
        app.router.add_post("/desk/logout", self.logout)
        app.router.add_post("/desk/export", self.export_now)
        app.router.add_get("/desk/export/{token}", self.export_page)
        app.router.add_post("/desk/export/{token}", self.export_token)
        app.router.add_get("/desk/static/desk.css", self.stylesheet)
        app.router.add_get("/desk/static/font.woff2", self.font)
        app.router.add_get("/media/{name}", self.media)

    # ---- who is asking

    def _locale(self, request: web.Request, person_locale: str | None = None) -> str:
        return person_locale or self.tr.locale_for(request.headers.get("Accept-Language"))

    def csrf_for(self, session_token: str) -> str:
        return hmac.new(self._csrf_key, session_token.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        return origin is None or origin.rstrip("/") in {f"{s}://{request.host}" for s in ("http", "https")}

    async def _reader(self, request: web.Request, uow: UnitOfWork) -> tuple[Actor, str, str] | None:
        """(the actor, their locale, the session token) of a live session whose person may use the dashboard."""
        token = request.cookies.get(SESSION_COOKIE, "")
        person_id = await passes.session_person(uow, token, self.clock()) if token else None
        if person_id is None:
            return None
        actor = await actor_for(uow, person_id)
        if not allows(actor, Action.DASHBOARD):
            return None
        person = await uow.people.get(person_id)
        return actor, person.locale if person else self.tr.default, token

    def _refused(self, request: web.Request, status: int, msgid: str, locale: str | None = None) -> web.Response:
        page = pages.Page(self.tr, self._locale(request, locale), {})
        return _html(page.message(page.t("ledger.desk.title"), page.t(msgid)), status)

    # ---- the ledger

    def _period(self, query: Mapping[str, str]) -> Period:
        zone, now = self.rules.zone, self.clock()
        named = query.get("p", "")
        if named in pages.PERIODS:
            return parse(named, now, zone)
        try:
            first, last = date.fromisoformat(query.get("from", "")), date.fromisoformat(query.get("to", ""))
        except ValueError:
            return parse("", now, zone)
        try:
            return between(first, last, zone)
        except PeriodError:
            return parse("", now, zone)

    @staticmethod
    def _filters(query: Mapping[str, str]) -> dict[str, str]:
        return {k: query[k] for k in FILTERS if query.get(k)}

    async def _report(self, uow: UnitOfWork, actor: Actor, query: Mapping[str, str]) -> Report | None:
        county = query.get("county") or None
        unit = query.get("unit", "")
        return await build(
            uow,
            actor,
            self._period(query),
            self.clock(),
            county=county if county in COUNTIES else None,
            unit_id=int(unit) if unit.isdigit() and len(unit) < 18 else None,
        )

    def _words(self, uow: UnitOfWork) -> Any:
        effects = Effects(uow, self.tr, self.rules, self.clock())

        def words(locale: str, cluster: object) -> str:
            return describe(effects, locale, cluster) if isinstance(cluster, Cluster) else ""

        return words

    async def home_redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/desk/")

    async def index(self, request: web.Request) -> web.StreamResponse:
        async with self.db() as uow:
            reader = await self._reader(request, uow)
            if reader is None:
                return self._refused(request, 401, "ledger.desk.signed_out")
            actor, locale, token = reader
            try:
                report = await self._report(uow, actor, request.query)
            except OutOfScope:
                return self._refused(request, 403, "ledger.desk.out_of_scope", locale)
            if report is None:
                return self._refused(request, 403, "ledger.desk.refused", locale)
            units = await self._units(uow, actor)
            filters = self._filters(request.query)
            page = pages.Page(self.tr, locale, filters, self.csrf_for(token))
            text = pages.ledger_page(page, report, units, self._words(uow), urlencode(filters))
            await uow.commit()  # the session's idle expiry moved on
        return _html(text)

    async def _units(self, uow: UnitOfWork, actor: Actor) -> list[Unit]:
        scope = ledger_scope(actor)
        if scope is None:
            return []
        units, readable = await visible_units(uow, scope)
        return [u for u in units if readable is None or u.id in readable]

    async def tickets(self, request: web.Request) -> web.StreamResponse:
        """The tickets behind one number: the same Where and Facet the number was counted with; masked."""
        query = request.query
        async with self.db() as uow:
            reader = await self._reader(request, uow)
            if reader is None:
                return self._refused(request, 401, "ledger.desk.signed_out")
            actor, locale, token = reader
            try:
                report_where = await self._where(uow, actor, query)
            except OutOfScope:
                return self._refused(request, 403, "ledger.desk.out_of_scope", locale)
            if report_where is None:
                return self._refused(request, 403, "ledger.desk.refused", locale)
            report, where = report_where
            facet = pages.facet_from(query)
            cluster = query.get("cluster", "")
            if cluster.isdigit() and len(cluster) < 18:
                members = await uow.ledger.clusters.members(int(cluster))
                facet = Facet(ids=tuple(m.ticket_id for m in members) or (0,))
                where = Where(units=where.units)  # a cluster's tickets wherever and whenever they came, as listed
            if facet.test not in (None, "counted", "responded", "resolved_in_time", "due", "rated", "satisfied",
                                  "overdue"):  # fmt: skip
                facet = Facet()
            offset_text = query.get("offset", "0")
            offset = int(offset_text) if offset_text.isdigit() and len(offset_text) < 9 else 0
            t = terms(self.clock())
            total = await uow.ledger.count(where, facet, t)
            found = await uow.ledger.tickets(where, facet, t, limit=PAGE_SIZE, offset=offset)
            page = pages.Page(self.tr, locale, {k: v for k, v in query.items() if k != "offset"}, self.csrf_for(token))
            text = pages.tickets_page(page, report, found, total, offset, PAGE_SIZE, urlencode(self._filters(query)))
            await uow.commit()
        return _html(text)

    async def _where(self, uow: UnitOfWork, actor: Actor, query: Mapping[str, str]) -> tuple[Report, Where] | None:
        """The report shell (period, scope, unit names) and the Where of these filters, without counting."""
        scope = ledger_scope(actor)
        if scope is None:
            return None
        units, readable = await visible_units(uow, scope)
        by_id = {u.id: u for u in units}
        reads = readable
        unit_text = query.get("unit", "")
        chosen = None
        if unit_text:
            unit_id = int(unit_text) if unit_text.isdigit() and len(unit_text) < 18 else -1
            if unit_id not in by_id or (readable is not None and unit_id not in readable):
                raise OutOfScope(unit_text)
            chosen, reads = by_id[unit_id], subtree(units, unit_id)
        county = query.get("county") or None
        county = county if county in COUNTIES else None
        period = self._period(query)
        where = Where(start=period.start, end=period.end, units=reads, county=county)
        return Report(period, scope, where, self.clock(), county=county, unit=chosen, unit_names=by_id), where

    # ---- signing in and out

    def _pre(self, request: web.Request) -> tuple[str, bool]:
        found = request.cookies.get(PRE_COOKIE, "")
        if 20 <= len(found) <= 64:
            return found, False
        return secrets.token_urlsafe(24), True

    def _cookie(self, request: web.Request, response: web.StreamResponse, name: str, value: str, age: int) -> None:
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        response.set_cookie(name, value, max_age=age, httponly=True, samesite="Strict", secure=secure, path="/desk")

    async def _form_ok(self, request: web.Request, expected: str) -> bool:
        if not self._same_origin(request):
            return False
        form = await request.post()
        given = form.get("csrf")
        return isinstance(given, str) and bool(expected) and hmac.compare_digest(given, expected)

    async def _link_page(self, request: web.Request, purpose: str) -> web.StreamResponse:
        """A page with one button: a link preview or a scanner fetching the link does not use it up."""
        token = request.match_info["token"]
        async with self.db.reading() as uow:
            state = await passes.peek(uow, token, purpose, self.clock())
        if state != "ok":
            return self._refused(request, 403, f"ledger.desk.link.{state}")
        pre, new = self._pre(request)
        page = pages.Page(self.tr, self._locale(request), {})
        response = _html(pages.one_time_form(page, purpose, token, pre))
        if new:
            self._cookie(request, response, PRE_COOKIE, pre, 3600)
        return response

    async def _take(
        self, request: web.Request, uow: UnitOfWork, purpose: str, action: Action
    ) -> tuple[Actor, str, dict[str, Any]] | web.Response:
        """Use a one-time link (spent even when what follows is refused): the actor, their locale, the link's
        parameters; or the refusal to answer with."""
        used, state = await passes.take(uow, request.match_info["token"], purpose, self.clock())
        if used is None:
            await uow.commit()
            return self._refused(request, 403, f"ledger.desk.link.{state}")
        actor = await actor_for(uow, used.person_id)
        person = await uow.people.get(used.person_id)
        locale = person.locale if person else self.tr.default
        if not allows(actor, action):
            await uow.commit()
            return self._refused(request, 403, "ledger.desk.refused", locale)
        return actor, locale, dict(used.params)

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return await self._link_page(request, passes.LOGIN)

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not await self._form_ok(request, request.cookies.get(PRE_COOKIE, "")):
            return self._refused(request, 403, "ledger.desk.csrf")
        now = self.clock()
        async with self.db() as uow:
            taken = await self._take(request, uow, passes.LOGIN, Action.DASHBOARD)
            if isinstance(taken, web.Response):
                return taken
            actor = taken[0]
            assert actor.person_id is not None
            session = await passes.open_session(uow, actor.person_id, now)
            await uow.audit.add(actor.person_id, "dashboard_login", None, now)
            await uow.commit()
        response = web.HTTPSeeOther("/desk/")
        self._cookie(request, response, SESSION_COOKIE, session, int(passes.SESSION_MAX.total_seconds()))
        response.del_cookie(PRE_COOKIE, path="/desk")
        _headers(response)
        return response

    async def _session_form(self, request: web.Request) -> str | None:
        """The session token of a form posted from one of our pages (its CSRF token matches), else None."""
        token = request.cookies.get(SESSION_COOKIE, "")
        return token if token and await self._form_ok(request, self.csrf_for(token)) else None

    async def logout(self, request: web.Request) -> web.StreamResponse:
        token = await self._session_form(request)
        if token is None:
            return self._refused(request, 403, "ledger.desk.csrf")
        async with self.db() as uow:
            await passes.end_session(uow, token, self.clock())
            await uow.commit()
        response = web.HTTPSeeOther("/desk/")
        response.del_cookie(SESSION_COOKIE, path="/desk")
        _headers(response)
        return response

    # ---- exports (each one audited)

    async def _xlsx(self, uow: UnitOfWork, actor: Actor, report: Report, locale: str) -> web.Response:
        data = await workbook(uow, report, self.tr, locale, self._words(uow))
        await uow.audit.add(actor.person_id, EXPORT_AUDIT, None, self.clock())
        await uow.commit()
        name = f"ledger-{report.period.first:%Y%m%d}-{report.period.last:%Y%m%d}.xlsx"
        response = web.Response(body=data, content_type=XLSX)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        _headers(response)
        return response

    async def export_now(self, request: web.Request) -> web.StreamResponse:
        """The dashboard's button: the ledger of the filters in the form's address."""
        if await self._session_form(request) is None:
            return self._refused(request, 403, "ledger.desk.csrf")
        async with self.db() as uow:
            reader = await self._reader(request, uow)
            if reader is None:
                return self._refused(request, 401, "ledger.desk.signed_out")
            actor, locale, _ = reader
            if not allows(actor, Action.EXPORT):
                return self._refused(request, 403, "ledger.desk.refused", locale)
            try:
                report = await self._report(uow, actor, request.query)
            except OutOfScope:
                return self._refused(request, 403, "ledger.desk.out_of_scope", locale)
            if report is None:
                return self._refused(request, 403, "ledger.desk.refused", locale)
            return await self._xlsx(uow, actor, report, locale)

    async def export_page(self, request: web.Request) -> web.StreamResponse:
        return await self._link_page(request, passes.EXPORT)

    async def export_token(self, request: web.Request) -> web.StreamResponse:
        """The link /export sent: once, within minutes, for someone the policy still lets export."""
        if not await self._form_ok(request, request.cookies.get(PRE_COOKIE, "")):
            return self._refused(request, 403, "ledger.desk.csrf")
        async with self.db() as uow:
            taken = await self._take(request, uow, passes.EXPORT, Action.EXPORT)
            if isinstance(taken, web.Response):
                return taken
            actor, locale, params = taken
            report = await self._report(uow, actor, {"from": str(params.get("first")), "to": str(params.get("last"))})
            if report is None:
                await uow.commit()
                return self._refused(request, 403, "ledger.desk.refused", locale)
            return await self._xlsx(uow, actor, report, locale)

    # ---- files

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "desk.css")
        _headers(response)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    async def font(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(FONT, headers={"Content-Type": "font/woff2"})
        _headers(response)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    async def media(self, request: web.Request) -> web.StreamResponse:
        """A chart /ledger made, for the web chat that asked for it (and nobody else); gone after a day."""
        name = request.match_info["name"]
        cookie = request.cookies.get(WEBCHAT_COOKIE, "")
        if not MEDIA_NAME.fullmatch(name) or not self.webchat_sessions.valid(cookie):
            raise web.HTTPNotFound()
        async with self.db.reading() as uow:
            image = await uow.ledger.charts.get(name)
            identity = await uow.people.identity("webchat", chat_id_for(cookie))
            if image is None or identity is None or identity.person_id != image.person_id:
                raise web.HTTPNotFound()
            png = image.png
        response = web.Response(body=png, content_type="image/png")
        _headers(response)
        response.headers["Cache-Control"] = "private, max-age=86400"
        return response
