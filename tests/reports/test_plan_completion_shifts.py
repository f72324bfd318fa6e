"""The month's plan completion on a 2x12 plant: a work order is due on the production day its planned finish
closes (KIS plans due date D to finish at D+1 08:00), filed in that day's month and on time when it finished
within that production day, night shift included. A one-shift plant files by the calendar date, as before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.models import Operation, Person, WorkReport
from domain.vocab import WorkOrderStatus
from reports.month import Month
from reports.monthly import build_monthly
from reports.monthly_xlsx import monthly_xlsx
from tests.alerts.shift_plant import policies
from tests.factories import add_order, small_plant

TZ = ZoneInfo("Asia/Shanghai")


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ).astimezone(UTC)


def _plant(make_uow) -> None:
    with make_uow() as uow:
        due_11_30 = small_plant(uow)  # 1000 pieces
        due_10_31 = add_order(uow, bill_no="SEORD000002", wo_code="WO-1031", qty=500)
        due_11_15 = add_order(uow, bill_no="SEORD000003", wo_code="WO-1115", qty=300)
        for wo, finish, finished in (
                (due_11_30, _at(12, 1, 8), _at(12, 1, 7)),  # done in the night of 11-30: on time
                (due_10_31, _at(11, 1, 8), _at(11, 1, 7)),  # October's, finished in October's last night
                (due_11_15, _at(11, 16, 8), _at(11, 16, 9))):  # finished an hour into 11-16: a day late
            wo.planned_start, wo.planned_finish = finish - timedelta(days=3), finish
            wo.status, wo.finished_at = WorkOrderStatus.DONE, finished
        uow.flush()
        packing = uow.session.scalar(select(Operation).where(Operation.work_order_id == due_11_30.id,
                                                             Operation.seq == 4))
        worker = uow.session.scalar(select(Person).where(Person.userid == "w1"))
        assert packing is not None and worker is not None
        # Packed 22:00 on 11-30: the night shift of production day 11-30.
        uow.session.add(WorkReport(source_key="t:1", work_order_id=due_11_30.id, operation_id=packing.id,
                                   operator_id=worker.id, good_qty=1000, defect_qty=0, points=1,
                                   reported_at=_at(11, 30, 22), work_day=date(2026, 11, 30), shift="夜班"))
        uow.commit()


def _overview(make_uow, policy: AlertPolicy) -> dict[str, Any]:
    with make_uow() as uow:
        report = build_monthly(uow, Month(2026, 11), as_of=date(2026, 12, 5), policy=policy)
    wb = load_workbook(BytesIO(monthly_xlsx(report)))
    return {label: value for label, value in wb["概览"].iter_rows(min_row=2, values_only=True)}


def test_a_two_shift_plant_files_a_work_order_by_its_due_production_day(make_uow) -> None:
    _plant(make_uow)
    alert_policy, _ = policies()
    overview = _overview(make_uow, alert_policy)
    # November: the one due 11-30 (planned to 12-01 08:00) and the one due 11-15; not October's last.
    assert overview["计划完工工单"] == 2 and overview["计划数量（件）"] == 1300
    assert overview["月末已完工（件）"] == 1000
    # 11-30's finished at 07:00 on 12-01, still its night shift; 11-15's at 09:00 on 11-16, a day late.
    assert overview["按期完工工单"] == 1


def test_a_one_shift_plant_files_by_the_calendar_date_as_before(make_uow) -> None:
    _plant(make_uow)
    overview = _overview(make_uow, AlertPolicy())
    # Midnight is the day's boundary: planned finishes on 11-01 and 11-16 are November's, 12-01 December's.
    assert overview["计划完工工单"] == 2 and overview["计划数量（件）"] == 800
    assert overview["按期完工工单"] == 2
    assert overview["月末已完工（件）"] == 0
