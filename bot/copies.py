"""/mydata's one-time links (#16): `GET /mydata/<token>` shows one button (a link preview or a scanner fetching the
link does not use it up), `POST` downloads the copy once, within minutes (handlers/citizen/privacy/copy.py); a copy
asked for in the web chat only with that chat's session cookie."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Final

from aiohttp import web

from handlers.citizen.privacy.copy import PATH, open_copy
from handlers.conversation.i18n import Translator
from handlers.conversation.turn import Clock
from storage.uow import Database

CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


class Copies:
    def __init__(
        self, db: Database, translator: Translator, clock: Clock, chat_of: Callable[[web.Request], str | None]
    ) -> None:
        self.db, self.tr, self.clock, self.chat_of = db, translator, clock, chat_of

    def install(self, app: web.Application) -> None:
        app.router.add_get(PATH + "{token}", self.page)
        app.router.add_post(PATH + "{token}", self.download)

    def _page(self, request: web.Request, body: str, status: int = 200) -> web.StreamResponse:
        locale = self.tr.locale_for(request.headers.get("Accept-Language"))
        title = html.escape(self.tr(locale, "privacy.copy.page_title"))
        text = (
            f'<!doctype html><html lang="{locale.replace("_", "-")}"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{title}</title>'
            f'<body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em"><h1>{title}</h1>'
            f"{body}</body></html>"
        )
        return _secure(web.Response(text=text, status=status, content_type="text/html", charset="utf-8"))

    async def page(self, request: web.Request) -> web.StreamResponse:
        locale = self.tr.locale_for(request.headers.get("Accept-Language"))
        button = html.escape(self.tr(locale, "privacy.copy.page_button"))
        note = html.escape(self.tr(locale, "privacy.copy.page_note"))
        return self._page(request, f'<p>{note}</p><form method="post"><button type="submit">{button}</button></form>')

    async def download(self, request: web.Request) -> web.StreamResponse:
        chat = self.chat_of(request)
        body = await open_copy(self.db, request.match_info["token"], self.clock(), once=True, chat=chat)
        if body is None:
            locale = self.tr.locale_for(request.headers.get("Accept-Language"))
            return self._page(request, f"<p>{html.escape(self.tr(locale, 'privacy.copy.page_gone'))}</p>", 403)
        response = web.Response(body=body, content_type="application/json", charset="utf-8")
        response.headers["Content-Disposition"] = 'attachment; filename="mydata.json"'
        return _secure(response)
