"""WeChat's server API over HTTPS: the access token every process shares through the database, and the calls the
channel makes (customer-service messages, subscription notifications, media, the menu, OAuth)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from handlers.conversation.turn import Clock, system_clock
from storage.repositories.wechat import WeChatRepository
from storage.uow import Database

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
CONFIG_ERRORS = frozenset({40013, 40125, 40164, 41004})  # wrong AppID / secret, address not whitelisted, no secret
REFRESH_MARGIN = timedelta(minutes=5)  # WeChat hands out the next token in the last five minutes; so do we
LEASE = timedelta(seconds=20)  # one process fetches; the others wait this long at most for its result
REQUEST_TIMEOUT = ClientTimeout(total=10)


class WeChatError(Exception):
    """WeChat answered with an error code (or could not be reached: code -2)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"{code} {message}"[:200])
        self.code = code
        self.message = message


class TokenUnavailable(WeChatError):
    def __init__(self, message: str) -> None:
        super().__init__(-3, message)


@dataclass(frozen=True)
class Token:
    value: str
    version: int
    expires_at: datetime


class AccessTokens:
    """The access token, cached in the database (sealed) so N processes fetch it once: a fetch is leased by a
    compare-and-set on the row's version, the others wait for the new version instead of fetching too."""

    def __init__(
        self,
        db: Database,
        app_id: str,
        fetch: Callable[[bool], Any],
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.db, self.app_id, self.fetch, self.clock = db, app_id, fetch, clock
        self._cached: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _usable(self, token: Token | None, bad_version: int | None) -> bool:
        return token is not None and token.version != bad_version and token.expires_at - REFRESH_MARGIN > self.clock()

    async def get(self, *, replacing: Token | None = None) -> Token:
        """A token valid for at least five more minutes; `replacing` is one WeChat just refused."""
        bad = replacing.version if replacing is not None else None
        if self._usable(self._cached, bad):
            assert self._cached is not None
            return self._cached
        async with self._lock:  # one fetch per process; the database makes it one fetch for all of them
            if self._usable(self._cached, bad):
                assert self._cached is not None
                return self._cached
            self._cached = await self._load_or_fetch(bad, replacing.value if replacing else None)
            return self._cached

    async def _load_or_fetch(self, bad: int | None, bad_value: str | None) -> Token:
        give_up = self.clock() + LEASE * 2
        while True:
            now = self.clock()
            async with self.db.reading() as uow:
                stored = await WeChatRepository(uow.session, _dialect(self.db)).token(self.app_id)
            if stored is not None and stored.token_sealed and stored.expires_at is not None:
                token = Token(self.db.cipher.decrypt(stored.token_sealed), stored.version, stored.expires_at)
                if self._usable(token, bad):
                    return token
            seen = stored.version if stored is not None else 0
            async with self.db() as uow:
                repository = WeChatRepository(uow.session, _dialect(self.db))
                leased = await repository.lease_refresh(self.app_id, seen, now, LEASE)
                await uow.commit()
            if leased:
                return await self._fetch_and_store(seen, bad_value)
            if now > give_up:
                raise TokenUnavailable("another process holds the token refresh and never finished it")
            await asyncio.sleep(0.1)

    async def _fetch_and_store(self, seen: int, bad_value: str | None) -> Token:
        try:
            value, expires_in = await self.fetch(False)
            self.fetches += 1
            if bad_value is not None and value == bad_value:  # WeChat still hands out the token it just refused
                value, expires_in = await self.fetch(True)
                self.fetches += 1
        except BaseException:
            async with self.db() as uow:
                await WeChatRepository(uow.session, _dialect(self.db)).release_lease(self.app_id, seen)
                await uow.commit()
            raise
        now = self.clock()
        expires_at = now + timedelta(seconds=max(int(expires_in), 60))
        async with self.db() as uow:
            version = await WeChatRepository(uow.session, _dialect(self.db)).store_token(
                self.app_id, self.db.cipher.encrypt(value), expires_at, seen, now
            )
            await uow.commit()
        log.info("wechat: new access token (version %s), valid %ss", version, expires_in)
        return Token(value, version if version is not None else seen + 1, expires_at)


def _dialect(db: Database) -> str:
    return "sqlite" if db.sqlite else "postgresql"


class WeChatApi:
    def __init__(self, db: Database, base: str, app_id: str, secret: str, *, clock: Clock = system_clock) -> None:
        self.base = base.rstrip("/")
        self.app_id, self.secret = app_id, secret
        self.tokens = AccessTokens(db, app_id, self._fetch_token, clock=clock)
        self._session: ClientSession | None = None

    @property
    def session(self) -> ClientSession:
        if self._session is None or self._session.closed:
            self._session = ClientSession(timeout=REQUEST_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str, *, params: dict[str, str], body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()  # WeChat wants plain UTF-8
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self.session.request(
                method, self.base + path, params=params, data=data, headers=headers
            ) as response:
                if response.status >= 500:
                    raise WeChatError(-1, f"HTTP {response.status}")
                raw = await response.read()
        except (ClientError, TimeoutError) as error:
            raise WeChatError(-2, type(error).__name__) from error
        try:
            answer = json.loads(raw)
        except ValueError as error:
            raise WeChatError(-1, "answer is not JSON") from error
        if not isinstance(answer, dict):
            raise WeChatError(-1, "answer is not an object")
        code = int(answer.get("errcode") or 0)
        if code:
            raise WeChatError(code, str(answer.get("errmsg", "")))
        return answer

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        """The stable token (one per account, shared with nobody's old /cgi-bin/token callers); /cgi-bin/token when
        an account or proxy does not offer it."""
        body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        try:
            answer = await self._request(
                "POST", "/cgi-bin/stable_token", params={}, body={**body, "force_refresh": force}
            )
        except WeChatError as error:
            if error.code in CONFIG_ERRORS or error.code == -2:
                raise
            log.warning("wechat: stable_token refused (%s), trying /cgi-bin/token", error.code)
            answer = await self._request(
                "GET",
                "/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret},
            )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatError(-1, "no access_token in the answer")
        return token, int(answer.get("expires_in") or 7200)

    async def call(
        self, path: str, body: Any = None, *, method: str = "POST", params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An API call with the shared token; a refused token is replaced once and the call tried again."""
        token = await self.tokens.get()
        try:
            return await self._request(method, path, params={**(params or {}), "access_token": token.value}, body=body)
        except WeChatError as error:
            if error.code not in TOKEN_ERRORS:
                raise
            log.info("wechat: token refused (%s); refreshing once", error.code)
        token = await self.tokens.get(replacing=token)
        return await self._request(method, path, params={**(params or {}), "access_token": token.value}, body=body)

    # ---- the calls

    async def send_custom(self, openid: str, message: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/message/custom/send", {"touser": openid, **message})

    async def send_notice(self, openid: str, template_id: str, data: dict[str, Any], page: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        return await self.call("/cgi-bin/message/subscribe/bizsend", body)

    async def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/menu/create", menu)

    async def get_media(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file (kept by WeChat for 3 days): its bytes and content type."""
        for attempt in range(2):
            token = await self.tokens.get()
            try:
                async with self.session.get(
                    self.base + "/cgi-bin/media/get", params={"access_token": token.value, "media_id": media_id}
                ) as response:
                    data = await response.read()
                    kind = response.headers.get("Content-Type", "application/octet-stream")
            except (ClientError, TimeoutError) as error:
                raise WeChatError(-2, type(error).__name__) from error
            if not kind.startswith(("application/json", "text/plain")):
                return data, kind
            try:
                answer = json.loads(data)
            except ValueError as error:
                raise WeChatError(-1, "media answer unreadable") from error
            code = int(answer.get("errcode") or 0)
            if code in TOKEN_ERRORS and attempt == 0:
                await self.tokens.get(replacing=token)
                continue
            raise WeChatError(code or -1, str(answer.get("errmsg", "")))
        raise WeChatError(-1, "media not fetched")

    async def openid_for_code(self, code: str) -> str:
        """OAuth snsapi_base: the code WeChat appended to our page's URL → the follower's OpenID."""
        answer = await self._request(
            "GET",
            "/sns/oauth2/access_token",
            params={"appid": self.app_id, "secret": self.secret, "code": code, "grant_type": "authorization_code"},
        )
        openid = answer.get("openid")
        if not isinstance(openid, str) or not openid:
            raise WeChatError(-1, "no openid in the answer")
        return openid
