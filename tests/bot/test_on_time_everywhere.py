"""One on-time rule (domain/services/on_time.py): the same order line is judged the same in chat, on the
board, in the monthly PDF and in the workbook. As seen with SEORD000512: finished into stock before its due
date and waiting to ship, the report called it on time while chat and the board showed it ⚠逾期."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.models import SalesOrder
from domain.services.board import build_board
from domain.vocab import OperationStatus, Stage, WorkOrderStatus
from reports.month import Month
from reports.monthly import build_monthly
from reports.monthly_pdf import render_monthly_pdf
from reports.monthly_xlsx import monthly_xlsx
from tests.bot.conftest import set_clock, uow_for
from tests.factories import NOW, TODAY, TZ, add_order

DUE = date(2026, 11, 20)


def _finished(harness, bill_no: str, wo_code: str, finished_on: date) -> None:
    """An order of one line due 11-20 whose only work order was finished into stock on `finished_on`."""
    with uow_for(harness) as uow:
        wo = add_order(uow, bill_no=bill_no, customer="海尔智家", wo_code=wo_code, due=DUE, stage=Stage.STOCKED)
        finished_at = datetime(finished_on.year, finished_on.month, finished_on.day, 17, 30, tzinfo=TZ)
        wo.status, wo.started_at, wo.finished_at = WorkOrderStatus.DONE, finished_at - timedelta(days=3), finished_at
        for op in wo.operations:
            op.good_qty, op.status = 1000, OperationStatus.DONE
        uow.session.scalar(select(SalesOrder).where(SalesOrder.bill_no == bill_no)).order_date = date(2026, 11, 2)
        uow.commit()


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "month.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", text)


def test_a_line_finished_into_stock_on_time_is_on_time_in_chat_board_pdf_and_xlsx(harness, tmp_path):
    _finished(harness, "SEORD000512", "WO20261117-01", date(2026, 11, 19))  # a day before its due date
    _finished(harness, "SEORD000513", "WO20261117-02", date(2026, 11, 21))  # a day after it
    set_clock(harness, NOW)  # 2026-11-25: both are past due and neither has shipped

    # Chat: the order's reply and the customer's list.
    assert "交期：2026-11-20\n" in harness.say("boss", "SEORD000512") + "\n"
    # Made a day late and waiting to ship: the delay is final, as the monthly report counts it (to the day the
    # line was done, not to today).
    assert "交期：2026-11-20（逾期 1 天完工）" in harness.say("boss", "SEORD000513")
    listed = harness.say("boss", "海尔")
    assert "· SEORD000512 海尔智家 【入库】100% 交期 2026-11-20\n" in listed
    assert "· SEORD000513 海尔智家 【入库】100% 交期 2026-11-20 ⚠逾期\n" in listed

    with uow_for(harness) as uow:
        rows = {r.bill_no: r for r in build_board(uow, today=TODAY, tz=TZ).rows}
        report = build_monthly(uow, Month(2026, 11), as_of=TODAY, policy=AlertPolicy())
    # The board: made on time and waiting to ship is not late; made late stays late.
    assert (rows["SEORD000512"].late, rows["SEORD000512"].status) == (False, "ok")
    assert (rows["SEORD000513"].late, rows["SEORD000513"].status) == (True, "late")

    # The report: one of the two lines due on 11-20 on time, the other late by a day.
    assert (report.on_time.on_time, report.on_time.late) == (1, 1)
    assert [late.bill_no for late in report.late] == ["SEORD000513"]
    text = _pdf_text(render_monthly_pdf(report), tmp_path)
    assert "应交 16 行，按期 1 行，逾期 1 行，未到期 14 行" in text
    assert "SEORD000513 海尔智家 电饭煲上盖 1,000 2026-11-20 2026-11-21 1天 未记录" in text
    assert "SEORD000512" not in text
    wb = load_workbook(BytesIO(monthly_xlsx(report)))
    late_rows = [row for row in wb["逾期明细"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert [(row[0], row[7], row[8]) for row in late_rows] == [("SEORD000513", datetime(2026, 11, 21), 1)]
    by_customer = {row[0]: row for row in wb["按客户"].iter_rows(min_row=2, values_only=True)}
    assert by_customer["海尔智家"][1:4] == (2, 1, 1)  # 应交 2 行: 按期 1, 逾期 1


def test_a_past_due_line_not_yet_made_is_late_everywhere(harness):
    with uow_for(harness) as uow:
        add_order(uow, bill_no="SEORD000514", customer="海尔智家", wo_code="WO20261117-03", due=DUE)
        uow.commit()
    set_clock(harness, datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    assert "交期：2026-11-20（已逾期 5 天" in harness.say("boss", "SEORD000514")
    with uow_for(harness) as uow:
        row = next(r for r in build_board(uow, today=TODAY, tz=TZ).rows if r.bill_no == "SEORD000514")
    assert row.late and row.status == "late"
