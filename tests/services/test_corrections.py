"""The correction rule itself: points that follow the corrected figure, once per delivery, statuses and
the order's stage that go back, and what a correction keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.errors import DomainError
from domain.models import (
    Operation,
    PointsEntry,
    ReportCorrection,
    SalesOrder,
    SalesOrderLine,
    WorkOrder,
    WorkReport,
)
from domain.services.corrections import correct_report, undo_report
from domain.services.reporting import report_work
from domain.vocab import Stage, WorkOrderStatus
from tests.factories import NOW, ROUTE, small_plant

WO = "WO20261125-01"


@pytest.fixture
def plant(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()


def report(make_uow, policy, *, who="w1", good=100, defect=0, key="k1", now=NOW, op=None) -> int:
    with make_uow() as uow:
        res = report_work(uow, policy, work_order_code=WO, userid=who, good_qty=good, defect_qty=defect,
                          source_key=key, now=now, operation_name=op)
        uow.commit()
        return res.report_id


def correct(make_uow, policy, rid, good, defect=0, *, who="sup", key="c1", reason="点数错误", now=NOW):
    with make_uow() as uow:
        res = correct_report(uow, policy, userid=who, report_id=rid, good_qty=good, defect_qty=defect, reason=reason,
                             source_key=key, now=now)
        uow.commit()
        return res


def undo(make_uow, policy, rid=None, *, who="w1", key="u1", now=NOW):
    with make_uow() as uow:
        res = undo_report(uow, policy, userid=who, report_id=rid, source_key=key, now=now)
        uow.commit()
        return res


def day_points(make_uow) -> tuple[int, int, list[int]]:
    """(sum of the reports' points, sum of the ledger, each report's points)."""
    with make_uow() as uow:
        reports = list(uow.session.scalars(select(WorkReport.points).order_by(WorkReport.id)))
        ledger = uow.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)))
        return sum(reports), int(ledger), reports


def test_points_follow_the_corrected_figure_and_the_day_stays_exact(plant, make_uow, policy):
    # 1000 a 720-minute day, a point per 30 standard minutes: 300 good are 7.2 points, 250 more bring 13.2.
    a = report(make_uow, policy, good=300, key="a")
    b = report(make_uow, policy, good=250, key="b", now=NOW + timedelta(minutes=1))
    assert day_points(make_uow) == (13, 13, [7, 6])
    # The first report was 200 (4.8): the day is 10.8, 10 points; the second keeps its 6, the first holds 4.
    res = correct(make_uow, policy, a, 200)
    assert (res.old_points, res.new_points, res.reporter_points_day) == (7, 4, 10)
    assert day_points(make_uow) == (10, 10, [4, 6])
    # Undoing the second leaves the day at 4.8 (4 points): what the undone report held goes, it may go below 0.
    assert undo(make_uow, policy, b, now=NOW + timedelta(minutes=5)).new_points == 0
    assert day_points(make_uow) == (4, 4, [4, 0])
    res = correct(make_uow, policy, a, 0, key="c2", reason="报错工单")  # a lead's correction to nothing
    assert (res.new_good, res.new_points, res.reporter_points_day) == (0, 0, 0)
    assert day_points(make_uow) == (0, 0, [0, 0])


def test_a_report_undone_after_another_keeps_the_day_s_sum(plant, make_uow, policy):
    a = report(make_uow, policy, good=100, key="a")  # 2.4 → 2
    report(make_uow, policy, good=100, key="b", now=NOW + timedelta(minutes=1))  # 4.8 → 4, earns 2
    report(make_uow, policy, good=25, key="c", now=NOW + timedelta(minutes=2))  # 5.4 → 5, earns 1
    undo(make_uow, policy, a, now=NOW + timedelta(minutes=3))  # the day is 3.0 → 3 points
    assert day_points(make_uow) == (3, 3, [0, 2, 1])


def test_a_repeated_delivery_corrects_once(plant, make_uow, policy):
    rid = report(make_uow, policy, good=300)
    first = correct(make_uow, policy, rid, 280, key="same")
    again = correct(make_uow, policy, rid, 250, key="same")  # a retry of the same message: the first outcome
    assert (first.duplicate, again.duplicate, again.new_good) == (False, True, 280)
    with make_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReportCorrection)) == 1
        assert uow.session.get(WorkReport, rid).good_qty == 280


def test_a_correction_keeps_who_when_why_and_the_old_and_new_values(plant, make_uow, policy):
    rid = report(make_uow, policy, good=300, defect=5)
    correct(make_uow, policy, rid, 280, 25, reason="  点数  错误 ", now=NOW + timedelta(hours=2))
    with make_uow() as uow:
        c = uow.session.scalar(select(ReportCorrection))
        assert (c.kind, c.by.userid, c.at, c.reason) == ("correct", "sup", NOW + timedelta(hours=2), "点数 错误")
        assert (c.old_good, c.old_defect, c.new_good, c.new_defect, c.old_points, c.new_points) == (300, 5, 280, 25, 7, 6)
        assert c.kis_seen_at is None


def test_undoing_the_finishing_report_takes_the_order_back_from_stocked(plant, make_uow, policy):
    for seq, (who, name) in enumerate((("w1", "注塑"), ("t1", "修边"), ("q1", "质检"), ("t1", "包装"))):
        last = report(make_uow, policy, who=who, good=1000, key=f"r{seq}", op=name)
    with make_uow() as uow:
        assert uow.session.scalar(select(SalesOrder.stage)) == Stage.STOCKED
    undo(make_uow, policy, last, who="t1")
    with make_uow() as uow:
        assert uow.session.scalar(select(SalesOrder.stage)) == Stage.QC
        wo = uow.session.scalar(select(WorkOrder))
        assert (wo.status, wo.finished_at) == (WorkOrderStatus.IN_PROGRESS, None)
    # Reported again, the work order and the order are done once more.
    report(make_uow, policy, who="t1", good=1000, key="again", op="包装", now=NOW + timedelta(minutes=1))
    with make_uow() as uow:
        assert uow.session.scalar(select(SalesOrder.stage)) == Stage.STOCKED
        assert uow.session.scalar(select(WorkOrder.status)) == WorkOrderStatus.DONE


def test_an_admin_corrects_anywhere_and_an_undone_report_is_not_corrected(plant, make_uow, policy):
    rid = report(make_uow, policy, good=300)
    assert correct(make_uow, policy, rid, 290, who="admin").new_good == 290
    with pytest.raises(DomainError, match="已由 管理员 更正，不能自行撤销"):  # the correction stands
        undo(make_uow, policy, rid)
    rid = report(make_uow, policy, good=200, key="k2")
    undo(make_uow, policy, rid)
    with pytest.raises(DomainError, match="已于 10:00 撤销"):
        correct(make_uow, policy, rid, 280, key="c2")
    with pytest.raises(DomainError, match="没有报工号 #99"):
        correct(make_uow, policy, 99, 280, key="c3")


def test_a_correction_keeps_the_stage_of_the_least_advanced_line(plant, make_uow, policy):
    # A second line of the same order is still moulding: 质检 begun on the first line is not the order's stage,
    # and a correction of that 质检 report must not move the order there (it did, by any 质检 begun).
    with make_uow() as uow:
        order = uow.session.scalar(select(SalesOrder))
        first = order.lines[0]
        line = SalesOrderLine(order=order, entry_id=2, product=first.product, qty=500, due_date=first.due_date)
        wo = WorkOrder(code="WO20261125-02", line=line, product=first.product, planned_qty=500, daily_plan_qty=500,
                       planned_start=NOW, planned_finish=NOW + timedelta(days=1), workshop="注塑车间")
        for seq, (name, shop) in enumerate(ROUTE, 1):
            wo.operations.append(Operation(seq=seq, name=name, workshop=shop))
        uow.session.add_all([line, wo])
        uow.commit()
    for seq, (who, name) in enumerate((("w1", "注塑"), ("t1", "修边"))):
        report(make_uow, policy, who=who, good=1000, key=f"r{seq}", op=name)
    qc = report(make_uow, policy, who="q1", good=300, key="qc", op="质检")
    with make_uow() as uow:
        report_work(uow, policy, work_order_code="WO20261125-02", userid="w1", good_qty=100, defect_qty=0,
                    source_key="second", now=NOW)
        uow.commit()
        assert uow.session.scalar(select(SalesOrder.stage)) == Stage.PRODUCTION
    correct(make_uow, policy, qc, 290, 10, who="admin")
    with make_uow() as uow:
        assert uow.session.scalar(select(SalesOrder.stage)) == Stage.PRODUCTION
