"""/ledger on Telegram through a real bot process and the fake Bot API: the chart the desk drew is uploaded as a
photo (multipart, a PNG file, not a file id), then the summary; a citizen gets no ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.conversation.i18n import Translator
from handlers.staff.invites import make_invite
from tests.channels.telegram.conftest import Rig, step
from tests.channels.telegram.fake_api import FakeBotAPI

pytestmark = [pytest.mark.slow]


async def test_the_chart_is_uploaded_then_the_summary_follows(rig: Rig, fake: FakeBotAPI, t: Translator) -> None:
    admin = fake.user(9301, "zh-hans")
    await step(admin, lambda: admin.text("/start"))
    code = await make_invite(rig.db, "city-intake", "admin", timedelta(hours=1), datetime.now(UTC))
    await step(admin, lambda: admin.text(f"/join {code} 钱七"))
    sent = await step(admin, lambda: admin.text("/ledger 2026-11"), within=20)
    photos = [m for m in sent if m.kind == "photo"]
    assert len(photos) == 1, [(m.kind, m.text[:40]) for m in sent]
    media = photos[0].media or ""
    assert media.startswith("attach://")  # uploaded in the request itself, not named by a file id or a URL
    call = next(c for c in fake.calls_of("sendPhoto"))
    uploaded = call.params[media.removeprefix("attach://")]
    assert uploaded.startswith("ledger-") and uploaded.endswith(".png")
    summary = sent[sent.index(photos[0]) + 1]
    assert summary.text.startswith(
        t("zh_CN", "ledger.text.title", period="2026-11", scope=t("zh_CN", "ledger.scope.city"))
    )

    citizen = fake.user(9302, "zh-hans")
    await step(citizen, lambda: citizen.text("/start"))
    refused = await step(citizen, lambda: citizen.text("/ledger"))
    assert refused[-1].text == t("zh_CN", "desk.command_refused")
    assert len(fake.calls_of("sendPhoto")) == 1
