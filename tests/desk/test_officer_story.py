"""A full story on the real desk: a citizen reports, the unit is alerted, one officer claims, they talk through the
bot both ways, the ticket is resolved — and the citizen, writing in English, sees every step in English."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Ticket
from tests.conftest import DeskDriver, buttons
from tests.support.officer_world import PHONE, join, load_demo, walk_interview

DESCRIPTION = "My neighbour moved the boundary stone two metres into my field"


async def test_report_alert_claim_talk_resolve(driver: DeskDriver) -> None:
    await load_demo(driver)
    zhang = await join(driver, "zhang", "hantai-justice", "officer", "张三")
    smith = await join(driver, "smith", "hantai-justice", "officer", "Smith", language="en")
    elsewhere = await join(driver, "wang", "nanzheng-justice", "officer", "王五")
    quiet_before = await driver.replies(elsewhere)
    citizen = driver.chat("citizen", language="en")
    await driver.agree(citizen)

    receipt = await walk_interview(
        driver, citizen, "dispute", {"category": "land", "county": "hantai", "description": DESCRIPTION, "phone": PHONE}
    )
    async with driver.db.reading() as uow:
        ticket = (await uow.session.execute(select(Ticket))).scalar_one()
        unit = await uow.units.get(ticket.unit_id or 0)
    assert unit is not None and unit.code == "hantai-justice"
    assert ticket.number in receipt.text

    # The unit is alerted, each officer in their own language; the phone is masked; the other county hears nothing.
    alert_zh = (await driver.replies(zhang))[-1]
    alert_en = (await driver.replies(smith))[-1]
    for alert, locale in ((alert_zh, "zh_CN"), (alert_en, "en")):
        assert ticket.number in alert.text and "138****8000" in alert.text and PHONE not in alert.text
        assert driver.t(locale, "kind.dispute") in alert.text
        assert driver.t(locale, "county.hantai") in alert.text
        assert buttons(alert) == [f"t:{verb}:{ticket.id}" for verb in ("claim", "view", "transfer", "reject")]
    assert alert_en.text.startswith(driver.t("en", "desk.alert.new"))
    assert await driver.replies(elsewhere) == quiet_before

    # Zhang claims; Smith, a moment later, is told who has it; the citizen is told which unit accepted it.
    won = await driver.press(zhang, f"t:claim:{ticket.id}")
    assert won[-1].text.startswith(driver.t("zh_CN", "desk.claim.won", number=ticket.number))
    lost = await driver.press(smith, f"t:claim:{ticket.id}")
    assert lost[-1].text == driver.t("en", "desk.claim.taken", number=ticket.number, by="张三")
    accepted = (await driver.replies(citizen))[-1]
    assert accepted.text == driver.t("en", "desk.tell.accepted", number=ticket.number, unit=unit.name_en)

    # Zhang writes through the bot; the citizen answers in plain text; both land on the ticket.
    ask = await driver.press(zhang, f"t:msg:{ticket.id}")
    assert f"t:abort:{ticket.id}" in buttons(ask[-1])
    sent = await driver.say(zhang, "请明天上午九点带上土地证到北关司法所")
    assert sent[-1].text == driver.t("zh_CN", "desk.message.sent", number=ticket.number)
    message = (await driver.replies(citizen))[-1]
    assert "请明天上午九点带上土地证到北关司法所" in message.text and unit.name_en in message.text
    assert buttons(message) == [f"t:reply:{ticket.id}"]
    ack = await driver.say(citizen, "Thank you, I will come at nine.")
    assert ack[-1].text.startswith(driver.t("en", "desk.tell.reply_sent", number=ticket.number))
    assert driver.t("en", "desk.tell.relay_on", number=ticket.number) in ack[-1].text  # clearly labelled
    assert buttons(ack[-1]) == [f"t:leave:{ticket.id}"]
    forwarded = (await driver.replies(zhang))[-1]
    assert forwarded.text == driver.t(
        "zh_CN", "desk.message.from_citizen", number=ticket.number, text="Thank you, I will come at nine."
    )

    # Resolved with a mediation agreement: the citizen hears the outcome and the law that makes it binding.
    outcomes = await driver.press(zhang, f"t:resolve:{ticket.id}")
    assert f"t:outcome:{ticket.id}:mediation_agreement" in buttons(outcomes[-1])
    asked = await driver.press(zhang, f"t:outcome:{ticket.id}:mediation_agreement")
    assert asked[-1].text.startswith(driver.t("zh_CN", "desk.ask.result", number=ticket.number))
    await driver.say(zhang, "双方达成调解协议，邻居本月内把界桩移回原处")
    resolved = (await driver.replies(citizen))[-1]
    assert driver.t("en", "desk.tell.result", result="双方达成调解协议，邻居本月内把界桩移回原处") in resolved.text
    assert driver.t("en", "desk.outcome.mediation_agreement") in resolved.text
    assert "People's Mediation Law, Art. 31" in resolved.text

    story = [r.text for r in await driver.replies(citizen)]
    steps = [ticket.number, "accepted by", "请明天上午九点", "Sent to the officer", "has resolved"]
    positions = [next(i for i, text in enumerate(story) if step in text) for step in steps]
    assert positions == sorted(positions)
    async with driver.db.reading() as uow:
        events = await uow.tickets.events(ticket.id)
        final = await uow.tickets.get(ticket.id)
    assert [e.action for e in events] == ["created", "claimed", "message_out", "message_in", "resolved"]
    assert [(e.from_status, e.to_status) for e in events if e.action in ("claimed", "resolved")] == [
        ("new", "claimed"),
        ("claimed", "resolved"),
    ]
    assert final is not None and final.status == "resolved" and final.outcome == "mediation_agreement"
    assert all(e.actor_person_id is not None for e in events)
