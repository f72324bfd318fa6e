"""A report undone or corrected after its day went to KIS: one compensating staging row, whatever the look-back,
a 红字 receipt for the KIS job, and a month-end reconciliation that stays exact."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from domain.models import Operation, ReportCorrection, WorkOrder, WorkReport
from domain.policy import PlantPolicy
from domain.services.corrections import correct_report
from domain.services.order_timeline import order_timeline
from kis.shaped_db import run_inbound_job
from reports.kis_month import kis_month_end, kis_total
from reports.month import Month
from reports.production import quality
from tests.kis.conftest import STAGING, local
from tests.kis.test_push import complete, produced, staged  # noqa: F401 - the fixture is used by name


def packing_report(plant, code: str, day: date) -> int:
    """The report of the work order's last step (包装, by 小李) on that production day."""
    with plant.uow() as uow:
        return uow.session.scalar(
            select(WorkReport.id).join(Operation, Operation.id == WorkReport.operation_id)
            .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
            .where(WorkOrder.code == code, Operation.name == "包装", WorkReport.work_day == day))


def lead_corrects(plant, report_id: int, good: int, defect: int, key: str) -> None:
    with plant.uow() as uow:
        correct_report(uow, PlantPolicy(), userid="lead", report_id=report_id, good_qty=good, defect_qty=defect,
                       reason="包装点数错误", source_key=key, now=plant.clock())
        uow.commit()


def import_all(plant) -> tuple[int, int]:
    cnxn = plant.kis.connect()
    try:
        return run_inbound_job(cnxn, STAGING)
    finally:
        cnxn.close()


def test_a_correction_after_the_write_back_sends_one_red_row_and_the_month_stays_exact(produced):  # noqa: F811
    produced.clock.set(local(2026, 11, 26, 0, 10))  # the 25th is over: all of November's four days go
    assert produced.push().ok
    assert import_all(produced) == (4, 0)
    lead_corrects(produced, packing_report(produced, "WORK000201", date(2026, 11, 24)), 1980, 20, "fix-1")

    out = produced.push()
    assert "新增待回写 1 行（良品 -20 件，生产日 2026-11-24）" in out.text
    assert "其中更正 1 行（良品 -20 件）" in out.text
    again = produced.push()  # a second run finds nothing more to correct
    assert "没有新的完工需要回写" in again.text and "写入 KIS 中间表 0 行" in again.text
    rows = [(key, qty, defect) for key, _b, _e, _i, _n, qty, defect, _d in staged(produced)]
    assert ("FB:WORK000201:20261124:2", -20, 20) in rows and len(rows) == 5

    assert import_all(produced) == (1, 0)  # the red row becomes a 红字 receipt
    assert produced.kis.rows(f"SELECT FStatus, FKisBillNo FROM {STAGING} WHERE FSourceKey = ?",
                             "FB:WORK000201:20261124:2") == [(1, "CIN000005")]
    produced.clock.advance(minutes=5)
    assert "新入库 1 行" in produced.push().text
    with produced.uow() as uow:
        november = Month(2026, 11)
        kis = kis_total(kis_month_end(uow, november, quality(uow, november)))
    assert (kis.finished, kis.imported, kis.written, kis.queued, kis.difference) == (4780, 4780, 0, 0, 0)
    with produced.uow() as uow:
        timeline = [e.text for e in order_timeline(uow, "SEORD000101")]
    assert "更正 -20 件（红字）（WORK000201 2026-11-24）待回写 KIS" in timeline


def test_a_correction_of_a_day_before_the_look_back_still_reaches_kis_once(produced):  # noqa: F811
    assert produced.push().ok
    produced.clock.set(local(2026, 12, 10, 9, 0))  # weeks on: 11-23 is far outside KIS_LOOKBACK_DAYS
    assert produced.push().ok
    lead_corrects(produced, packing_report(produced, "WORK000201", date(2026, 11, 23)), 1490, 5, "fix-old")
    out = produced.push()
    assert "新增待回写 1 行（良品 -10 件，生产日 2026-11-23）" in out.text
    assert "没有新的完工需要回写" in produced.push().text
    assert [(key, qty) for key, *_, qty, _d, _day in staged(produced) if key.startswith("FB:WORK000201:20261123")] \
        == [("FB:WORK000201:20261123:1", 1500), ("FB:WORK000201:20261123:2", -10)]
    with produced.uow() as uow:
        assert [c.kis_seen_at is not None for c in uow.session.scalars(select(ReportCorrection))] == [True]


def test_the_stand_in_importer_refuses_a_red_row_larger_than_what_was_received(produced):  # noqa: F811
    produced.push()
    with produced.kis.book() as book:
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=1)  # the panel's row is refused
    assert import_all(produced) == (2, 1)
    with produced.kis.book() as book:
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=0)
    lead_corrects(produced, packing_report(produced, "WO20261123-01", date(2026, 11, 24)), 780, 0, "fix-panel")
    produced.clock.advance(minutes=5)
    produced.push()
    assert import_all(produced) == (0, 1)  # nothing of the panel was received: there is nothing to take back
    assert produced.kis.rows(f"SELECT FStatus, FMessage FROM {STAGING} WHERE FSourceKey = ?",
                             "FB:WO20261123-01:20261124:2") == [(9, "红字入库数量 20 超过已入库数量 0")]
