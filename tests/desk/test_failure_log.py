"""A turn that fails logs where and what type, never the exception's message: it may quote a citizen (#16)."""

from __future__ import annotations

import logging
import re

import pytest

import handlers.desk
from handlers.conversation.turn import Turn
from tests.conftest import DeskDriver

PHONE = "13912345678"


class ParseFailure(ValueError):
    pass


async def test_a_failing_turn_logs_no_digit_of_what_its_exception_quoted(
    driver: DeskDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def quoting(turn: Turn) -> None:
        try:
            int(turn.incoming.text or "")
        except ValueError as inner:  # a chained exception quotes it too
            raise ParseFailure(f"cannot read {turn.incoming.text!r} as a number") from inner

    citizen = driver.chat("failing-turn")
    await driver.agree(citizen)
    monkeypatch.setattr(handlers.desk, "dispatch", quoting)
    with caplog.at_level(logging.DEBUG):
        replies = await driver.say(citizen, f"我的电话是 {PHONE}")

    assert [r.text for r in replies] == [driver.t("zh_CN", "error.internal")]
    [failure] = [r for r in caplog.records if r.name == "handlers.desk"]
    logged = caplog.text + failure.getMessage()
    assert "ParseFailure" in logged and "ValueError" in logged and "quoting" in logged  # type, chain and where
    assert failure.exc_info is None  # the handler would print the message with it
    assert PHONE not in logged
    assert not [part for part in (PHONE[:3], PHONE[3:7], PHONE[-4:]) if part in re.sub(r"line \d+", "", logged)]
