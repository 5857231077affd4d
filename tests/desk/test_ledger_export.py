"""The XLSX ledger opened with openpyxl and read cell by cell against the hand-built plan: sheets, headers, frozen
header rows, widths, dates as dates, percentages, masked phones, no description anywhere; every export audited;
and `python -m bot report` writes the same workbook."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import select

from handlers.conversation.turn import Rules
from handlers.ledger.export import export_for_operator
from handlers.ledger.period import between
from storage.models import AuditEntry
from tests.conftest import TEST_SECRET, DeskDriver
from tests.support import ledger_world
from tests.support.ledger_world import FIRST, LAST, NOW, ZONE, World

SHEETS_ZH = [
    "汇总",
    "群众关切案件",
    "矛盾纠纷",
    "困难群众救助",
    "普法宣传",
    "便民服务申请",
    "便民措施",
    "三率",
    "未诉先办",
]
TICKET_HEADERS_ZH = [
    "序号", "工单号", "受理日期", "类型", "类别", "县区", "承办单位", "状态", "认领时间", "办理时限", "办结时间",
    "按期", "办理结果", "救助金额（元）", "评价", "电话（遮蔽）",
]  # fmt: skip


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(ZONE).replace(tzinfo=None, second=0, microsecond=0) if moment else None


def day(moment: datetime) -> datetime:
    return moment.astimezone(ZONE).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)


async def test_the_workbook_cell_by_cell(driver: DeskDriver) -> None:
    world: World = await ledger_world.build(driver)
    data, report = await export_for_operator(driver.db, driver.translator, Rules(), between(FIRST, LAST, ZONE), NOW)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == SHEETS_ZH
    plans = [p for p in world.chosen() if world.counted(p)]
    tr = driver.translator
    for sheet_name, kinds in (("群众关切案件", ("concern",)), ("矛盾纠纷", ("dispute",)),
                              ("困难群众救助", ("legal_aid", "relief")), ("便民服务申请", ("service",))):  # fmt: skip
        sheet = book[sheet_name]
        assert [c.value for c in sheet[1]] == TICKET_HEADERS_ZH
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["B"].width > 15 and sheet.column_dimensions["G"].width > 25
        mine = sorted((p for p in plans if p.kind in kinds), key=lambda p: p.id)
        assert sheet.max_row == len(mine) + 1
        for row, plan in enumerate(mine, start=2):
            cells = [c.value for c in sheet[row]]
            assert cells[0] == row - 1
            assert cells[1] == plan.number
            assert cells[2] == day(plan.created) and sheet.cell(row, 3).number_format == "yyyy-mm-dd"
            assert cells[3] == tr("zh_CN", f"kind.{plan.kind}")
            assert cells[4] == tr("zh_CN", f"{plan.kind}.cat.{plan.category}")
            assert cells[5] == (tr("zh_CN", f"county.{plan.county}") if plan.county else tr("zh_CN", "desk.place.city"))
            assert cells[7] == tr("zh_CN", f"status.{plan.status}")
            assert (cells[8].replace(second=0) if cells[8] else None) == local(plan.claimed)
            assert cells[9] == (day(plan.due) if plan.due else None)
            assert (cells[10].replace(second=0) if cells[10] else None) == local(plan.resolved)
            resolved = plan.status in ("resolved", "closed")
            assert cells[11] == (("是" if world.in_time(plan) else "否") if resolved else None)
            assert cells[12] == (tr("zh_CN", f"desk.outcome.{plan.outcome}") if plan.outcome else None)
            assert (Decimal(str(cells[13])) if cells[13] is not None else None) == plan.amount
            assert cells[14] == plan.treatment
            assert cells[15] == "139****5678"
    rates = book["三率"]
    assert rates.freeze_panes == "A2"
    total_row = [c.value for c in rates[rates.max_row - len(report_definitions()) - 1]]
    tickets, responded, due, in_time, rated, satisfied = world.rates(world.chosen())
    assert total_row[0] == "合计"
    assert total_row[1:3] == [tickets, responded] and total_row[4:6] == [due, in_time]
    assert total_row[7:9] == [rated, satisfied]
    assert abs(total_row[3] - responded / tickets) < 1e-9 and abs(total_row[6] - in_time / due) < 1e-9
    assert rates.cell(rates.max_row - len(report_definitions()) - 1, 4).number_format == "0.0%"
    notes = [rates.cell(r, 1).value for r in range(rates.max_row - 3, rates.max_row + 1)]
    assert notes[0].startswith("响应率：") or notes[0].startswith("响应率:")
    summary = {(r[0].value, r[1].value): r[2].value for r in book["汇总"].iter_rows(min_row=2) if r[1].value}
    assert summary[("矛盾纠纷", "受理")] == sum(1 for p in plans if p.kind == "dispute")
    granted = [p for p in plans if p.kind == "relief" and p.status in ("resolved", "closed")]
    relief_paid = sum((p.amount or Decimal(0)) for p in granted if p.outcome == "relief_granted")
    assert Decimal(str(summary[("困难群众救助", "救助金额（元）")])).quantize(Decimal("0.01")) == relief_paid
    everything = " ".join(str(c.value) for s in book for row in s.iter_rows() for c in row if c.value is not None)
    assert "界桩" not in everything and "13912345678" not in everything  # descriptions and full phones never
    async with driver.db.reading() as uow:
        audits = (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "ledger_export"))).scalars()
        assert [(a.actor_person_id, a.origin) for a in audits] == [(None, "cli")]
    assert report.totals.tickets == tickets


ROOT = Path(__file__).resolve().parents[2]


async def run_bot(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`python -m bot ...` as a real process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return int(process.returncode or 0), out.decode(), err.decode()


def report_definitions() -> tuple[str, ...]:
    from handlers.tickets.rates import DEFINITIONS

    return tuple(DEFINITIONS)


async def test_python_m_bot_report_writes_the_workbook(driver: DeskDriver, tmp_path: Path) -> None:
    if not driver.db.sqlite:
        return  # the command line reads the same database either way; once is enough
    world = await ledger_world.build(driver)
    out = tmp_path / "tai.xlsx"
    env = {
        **os.environ,
        "DATABASE_URL": driver.db.url,
        "SHISHI_SECRET_KEY": TEST_SECRET,
        "SHISHI_DATA_DIR": str(tmp_path),
        "SHISHI_DEMO": "no",
    }
    code, stdout, stderr = await run_bot(
        env, "report", "--from", "2026-11-01", "--to", "2026-11-30", "--unit", "hantai-justice", "--locale", "en",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:3] == ["Summary", "Cases of concern", "Disputes"]
    tree = [p for p in world.chosen(ledger_world.HANTAI_TREE) if world.counted(p)]
    assert book["Disputes"].max_row == sum(1 for p in tree if p.kind == "dispute") + 1
    assert str(world.rates(world.chosen(ledger_world.HANTAI_TREE))[0]) in stdout
    code, _, stderr = await run_bot(env, "report", "--from", "2026-11-01", "--to", "2026-11-30", "--unit", "nowhere")
    assert code == 1 and "unknown unit" in stderr
