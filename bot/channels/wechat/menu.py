"""The Official Account's custom menu as data (demo/wechat_menu.toml) → the JSON /cgi-bin/menu/create takes."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

DEMO_MENU = Path(__file__).resolve().parents[3] / "demo" / "wechat_menu.toml"
TOP_BYTES, SUB_BYTES = 16, 60
MAX_TOP, MAX_SUB = 3, 5
KINDS = {"click": "key", "view": "url", "scancode_push": "key", "location_select": "key"}
OAUTH = "https://open.weixin.qq.com/connect/oauth2/authorize"
OAUTH_STATE = "wechat"  # what the web chat looks for beside the code (bot/channels/webchat/server.py)
Link = Callable[[str], str]  # a page of the web chat → the OAuth link that opens it as the follower


def oauth_link(app_id: str, public_url: str) -> Link:
    """A menu button of type "oauth" opens the web chat through WeChat's OAuth (snsapi_base, no prompt): WeChat
    sends the follower back to the page with a code, and the page is then the same person as the follower."""

    def link(page: str) -> str:
        back = quote(public_url.rstrip("/") + page, safe="")
        query = f"appid={app_id}&redirect_uri={back}&response_type=code&scope=snsapi_base&state={OAUTH_STATE}"
        return f"{OAUTH}?{query}#wechat_redirect"

    return link


class MenuDataError(ValueError):
    pass


def _button(raw: Any, where: str, limit: int, oauth: Link | None) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise MenuDataError(f"{where}: every button needs a name")
    name = raw["name"].strip()
    if len(name.encode()) > limit:
        raise MenuDataError(f"{where}: {name!r} is longer than {limit} bytes")
    subs = raw.get("sub")
    if subs:
        if not isinstance(subs, list) or len(subs) > MAX_SUB:
            raise MenuDataError(f"{where}: {name!r} has more than {MAX_SUB} sub-buttons")
        return {"name": name, "sub_button": [_button(s, f"{where} > {name}", SUB_BYTES, oauth) for s in subs]}
    kind = raw.get("type", "click")
    if kind == "oauth":
        page = raw.get("page", "/")
        if oauth is None or not isinstance(page, str) or not page.startswith("/"):
            raise MenuDataError(f"{where}: {name!r} opens the web chat by OAuth: it needs WECHAT_APP_ID and a page")
        return {"type": "view", "name": name, "url": oauth(page)}
    field = KINDS.get(kind)
    if field is None:
        raise MenuDataError(f"{where}: {name!r} has an unknown type {kind!r}")
    value = raw.get(field)
    if not isinstance(value, str) or not value or len(value.encode()) > (1000 if field == "url" else 128):
        raise MenuDataError(f"{where}: {name!r} needs a {field}")
    return {"type": kind, "name": name, field: value}


def menu_json(data: dict[str, Any], oauth: Link | None = None) -> dict[str, Any]:
    buttons = data.get("button", [])
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_TOP:
        raise MenuDataError(f"the menu has 1 to {MAX_TOP} buttons")
    return {"button": [_button(b, f"button {n}", TOP_BYTES, oauth) for n, b in enumerate(buttons, 1)]}


def load_menu(path: Path | None, oauth: Link | None = None) -> dict[str, Any]:
    source = path or DEMO_MENU
    try:
        return menu_json(tomllib.loads(source.read_text(encoding="utf-8")), oauth)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MenuDataError(f"{source}: {error}") from error
