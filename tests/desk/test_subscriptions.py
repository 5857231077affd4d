"""Subscriptions in chat on real SQLite and PostgreSQL: toggles that flip and re-render, the county, stop all."""

from __future__ import annotations

from tests.conftest import DeskDriver, buttons


async def test_toggles_flip_and_re_render(driver: DeskDriver) -> None:
    chat = driver.chat("s1")
    first = (await driver.say(chat, "/subscribe"))[-1]
    assert "sub:t:anti_fraud" in buttons(first)
    off = driver.t("zh_CN", "subscribe.off", topic=driver.t("zh_CN", "topic.anti_fraud"))
    on = driver.t("zh_CN", "subscribe.on", topic=driver.t("zh_CN", "topic.anti_fraud"))
    assert off in [b.label for b in first.all_buttons()]
    flipped = (await driver.press(chat, "sub:t:anti_fraud"))[-1]
    assert on in [b.label for b in flipped.all_buttons()] and "sub:stop" in buttons(flipped)
    back = (await driver.press(chat, "sub:t:anti_fraud"))[-1]
    assert off in [b.label for b in back.all_buttons()]
    await driver.press(chat, "sub:t:labour")
    county = (await driver.press(chat, "sub:county"))[-1]
    assert "sub:c:yangxian" in buttons(county)
    saved = (await driver.press(chat, "sub:c:yangxian"))[-1]
    assert driver.t("zh_CN", "county.yangxian") in saved.text
    async with driver.db.reading() as uow:
        person = await uow.subscriptions.person_of_chat("webchat", "s1")
        assert person is not None
        assert await uow.subscriptions.topics_of(person) == {"labour"}
        assert await uow.subscriptions.county_of(person) == "yangxian"
    stopped = (await driver.say(chat, "/unsubscribe"))[-1]
    assert stopped.text.startswith(driver.t("zh_CN", "subscribe.stopped"))
    async with driver.db.reading() as uow:
        assert await uow.subscriptions.topics_of(person) == set()
