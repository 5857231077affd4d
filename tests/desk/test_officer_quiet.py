"""Officers' peace: a new ticket at night alerts the unit in the morning, unless it is urgent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import OutboxMessage
from tests.conftest import DeskDriver, FakeClock
from tests.support.officer_world import UNIT_A, join, load_demo, walk_interview

NIGHT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 23:00 in Hanzhong
MORNING = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 07:30 the next day, when the default quiet hours end


async def alerts_to(driver: DeskDriver, chat_id: str) -> list[OutboxMessage]:
    async with driver.db.reading() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage).where(OutboxMessage.recipient == chat_id, OutboxMessage.kind == "alert")
        )
        return list(rows.scalars().all())


async def test_a_night_ticket_waits_for_the_morning_and_an_urgent_one_goes_at_once(
    driver: DeskDriver, clock: FakeClock
) -> None:
    await load_demo(driver)
    await join(driver, "quiet-officer", UNIT_A, "officer", "张三")
    clock.now = NIGHT
    citizen = driver.chat("night-citizen")
    await driver.agree(citizen)
    calm = {
        "category": "neighbours",
        "county": "hantai",
        "description": "邻居家的空调外机正对我家窗户，噪音很大",
        "phone": "13800138000",
    }
    await walk_interview(driver, citizen, "dispute", calm)
    (quiet,) = await alerts_to(driver, "quiet-officer")
    assert quiet.not_before == MORNING

    danger = {**calm, "description": "邻居拿着刀在门口说要杀人，我们很害怕"}
    await walk_interview(driver, citizen, "dispute", danger)
    urgent = [row for row in await alerts_to(driver, "quiet-officer") if row.id != quiet.id]
    assert len(urgent) == 1 and urgent[0].not_before == NIGHT
