"""The WeChat API client in-process against the fake server: token fallback, media, OAuth; and the custom menu
created by the real `python -m bot wechat menu` command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.channels.wechat.api import WeChatApi, WeChatError
from bot.channels.wechat.menu import MenuDataError, load_menu, menu_json, oauth_link
from handlers.router import BUTTONS
from storage.uow import Database
from tests.channels.wechat.fake_api import APP_ID, APP_SECRET, FakeWeChat
from tests.conftest import open_db
from tests.support.processes import BotProcess


@pytest.fixture
async def database(sqlite_url: str) -> Database:
    return await open_db(sqlite_url)


async def test_media_is_fetched_with_a_refreshed_token(database: Database, wechat: FakeWeChat) -> None:
    api = WeChatApi(database, wechat.base, APP_ID, APP_SECRET)
    wechat.media["MEDIA_voice_01"] = b"\xff\xd8jpeg-bytes"
    try:
        assert await api.get_media("MEDIA_voice_01") == (b"\xff\xd8jpeg-bytes", "image/jpeg")
        wechat.expire_tokens()
        assert (await api.get_media("MEDIA_voice_01"))[0] == b"\xff\xd8jpeg-bytes"
        assert wechat.token_fetches == ["stable", "stable"]
        with pytest.raises(WeChatError) as gone:
            await api.get_media("MEDIA_expired_after_three_days")
        assert gone.value.code == 40007
    finally:
        await api.close()
        await database.dispose()


async def test_without_stable_token_the_classic_token_is_used(database: Database, wechat: FakeWeChat) -> None:
    wechat.stable_token_missing = True
    api = WeChatApi(database, wechat.base, APP_ID, APP_SECRET)
    try:
        await api.create_menu(load_menu(None, oauth_link(APP_ID, "https://desk.example.gov.cn")))
        assert wechat.token_fetches == ["token"] and len(wechat.menus) == 1
    finally:
        await api.close()
        await database.dispose()


async def test_a_wrong_secret_is_said_plainly(database: Database, wechat: FakeWeChat) -> None:
    api = WeChatApi(database, wechat.base, APP_ID, "not-the-secret")
    try:
        with pytest.raises(WeChatError) as refused:
            await api.send_custom("oX", {"msgtype": "text", "text": {"content": "hi"}})
        assert refused.value.code == 40125 and wechat.customs == []
    finally:
        await api.close()
        await database.dispose()


async def test_oauth_code_gives_the_followers_openid(database: Database, wechat: FakeWeChat) -> None:
    api = WeChatApi(database, wechat.base, APP_ID, APP_SECRET)
    wechat.oauth_codes["CODE_from_redirect"] = "oFollowerFromOAuth000000000001"
    try:
        assert await api.openid_for_code("CODE_from_redirect") == "oFollowerFromOAuth000000000001"
        with pytest.raises(WeChatError) as used:
            await api.openid_for_code("CODE_from_redirect")  # a code works once
        assert used.value.code == 40029
    finally:
        await api.close()
        await database.dispose()


def test_menu_data_is_checked_before_wechat_sees_it() -> None:
    with pytest.raises(MenuDataError, match="1 to 3"):
        menu_json({"button": [{"name": "a", "key": "menu:help"}] * 4})
    with pytest.raises(MenuDataError, match="bytes"):
        menu_json({"button": [{"name": "一二三四五六", "key": "menu:help"}]})
    with pytest.raises(MenuDataError, match="needs a url"):
        menu_json({"button": [{"name": "网页", "type": "view"}]})


async def test_menu_command_creates_the_demo_menu(tmp_path: Path, wechat: FakeWeChat) -> None:
    env = {"WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET, "WECHAT_API_BASE": wechat.base}
    process = BotProcess(tmp_path, env)
    process.port = 1  # not served: the command only talks to WeChat
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "wechat", "menu", cwd=tmp_path, env=process.environment(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()
    assert out.decode().strip().endswith("menu created: 3 buttons")
    assert wechat.menus == [load_menu(None, oauth_link(APP_ID, "http://127.0.0.1:1"))]
    opened = [b["url"] for top in wechat.menus[0]["button"] for b in top.get("sub_button", []) if b.get("url")]
    assert opened == [
        f"https://open.weixin.qq.com/connect/oauth2/authorize?appid={APP_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2F"
        "&response_type=code&scope=snsapi_base&state=wechat#wechat_redirect"
    ]
    keys = [b.get("key") for top in wechat.menus[0]["button"] for b in [top, *top.get("sub_button", [])]]
    clicks = [k for k in keys if k]
    assert clicks and all(k.startswith("/") or k.split(":", 1)[0] in BUTTONS for k in clicks)
