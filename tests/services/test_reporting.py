from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import Operation, PointsEntry, SalesOrder, WorkOrder, WorkReport
from domain.services.reporting import report_work
from domain.vocab import OperationStatus, Stage, WorkOrderStatus
from tests.factories import NOW, small_plant


@pytest.fixture
def plant(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()


def report(make_uow, policy, *, who="w1", good=100, defect=0, key="k1", wo="WO20261125-01", op=None, now=NOW):
    with make_uow() as uow:
        res = report_work(
            uow, policy, work_order_code=wo, userid=who, good_qty=good, defect_qty=defect,
            source_key=key, now=now, operation_name=op,
        )
        uow.commit()
        return res


def op_totals(make_uow, name):
    with make_uow() as uow:
        op = uow.session.scalar(select(Operation).where(Operation.name == name))
        return op.good_qty, op.defect_qty, op.status


def count_reports(make_uow):
    with make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(WorkReport))


def test_report_counts_and_returns_todays_total_and_points(plant, make_uow, policy):
    first = report(make_uow, policy, good=300, defect=5, key="a")
    assert (first.operation, first.good_qty, first.today_good_total) == ("注塑", 300, 300)
    # minute:30 at the work order's rate (1000 a day over the 720 working minutes): 300 good are 216 standard
    # minutes, 7.2 points, floored for the day so far; the next 250 bring the day to 396 minutes, 13 points.
    assert first.points_earned == 7
    second = report(make_uow, policy, good=250, key="b")
    assert second.today_good_total == 550
    assert second.points_earned == 13 - 7
    assert second.points_today == first.points_earned + second.points_earned
    assert second.operation_remaining == 450
    assert op_totals(make_uow, "注塑") == (550, 5, OperationStatus.IN_PROGRESS)
    with make_uow() as uow:
        order = uow.session.scalar(select(SalesOrder))
        assert order.stage == Stage.PRODUCTION
        assert uow.session.scalar(select(WorkOrder)).status == WorkOrderStatus.IN_PROGRESS
        assert uow.session.scalar(select(func.sum(PointsEntry.points))) == second.points_today


def test_repeated_delivery_counts_once(plant, make_uow, policy):
    a = report(make_uow, policy, good=300, key="same")
    b = report(make_uow, policy, good=300, key="same")
    assert not a.duplicate and b.duplicate
    assert b.report_id == a.report_id and b.today_good_total == 300
    assert op_totals(make_uow, "注塑")[0] == 300
    assert count_reports(make_uow) == 1


@pytest.mark.parametrize(
    ("good", "defect", "needle"),
    [(0, 0, "数量必须大于0"), (-5, 0, "数量必须大于0"), (10, -1, "数量必须大于0"), (1051, 0, "最多还能报 1050 件")],
)
def test_bad_quantities_are_refused_and_change_nothing(plant, make_uow, policy, good, defect, needle):
    with pytest.raises(DomainError, match=needle):
        report(make_uow, policy, good=good, defect=defect)
    assert op_totals(make_uow, "注塑") == (0, 0, OperationStatus.PENDING)
    assert count_reports(make_uow) == 0


def test_tolerance_allows_small_overrun_only(plant, make_uow, policy):
    report(make_uow, policy, good=600, key="a")
    with pytest.raises(DomainError, match="最多还能报 450 件（含允许超产 50 件）"):
        report(make_uow, policy, good=451, key="b")
    over = report(make_uow, policy, good=430, key="c")  # 1030 of 1000: within 5 %
    assert over.operation_good_total == 1030 and over.operation_done
    with pytest.raises(DomainError, match="工序「注塑」已完成"):
        report(make_uow, policy, who="admin", good=1, key="d", op="注塑")


def test_unknown_work_order_and_person_and_wrong_workshop(plant, make_uow, policy):
    with pytest.raises(NotFound, match="WO99999999-99 不存在"):
        report(make_uow, policy, wo="WO99999999-99")
    with pytest.raises(NotAllowed, match="尚未开通"):
        report(make_uow, policy, who="stranger")
    # A trimming worker cannot report moulding, and there is nothing to trim yet.
    with pytest.raises(DomainError, match="最多还能报 0 件"):
        report(make_uow, policy, who="t1", good=10)
    with pytest.raises(NotAllowed, match="属于注塑车间"):
        report(make_uow, policy, who="t1", good=10, op="注塑")
    assert count_reports(make_uow) == 0


def test_later_operation_is_bounded_by_what_the_previous_one_made(plant, make_uow, policy):
    report(make_uow, policy, good=400, key="m1")
    trim = report(make_uow, policy, who="t1", good=390, defect=10, key="t1")
    assert trim.operation == "修边" and trim.operation_remaining == 0
    with pytest.raises(DomainError, match="最多还能报 0 件"):
        report(make_uow, policy, who="t1", good=1, key="t2")


def test_finishing_every_operation_completes_the_work_order_and_advances_the_order(plant, make_uow, policy):
    moulded = report(make_uow, policy, good=1000, defect=20, key="m")
    assert moulded.operation_done and moulded.next_operation == "修边" and moulded.next_workshop == "后加工车间"
    report(make_uow, policy, who="t1", good=995, defect=5, key="t")
    qc = report(make_uow, policy, who="q1", good=990, defect=5, key="q")
    with make_uow() as uow:
        assert uow.session.scalar(select(SalesOrder)).stage == Stage.QC
    assert qc.next_operation == "包装"
    last = report(make_uow, policy, who="t1", good=990, key="p", now=NOW + timedelta(hours=1))
    assert last.work_order_done and last.next_operation is None
    with make_uow() as uow:
        assert uow.session.scalar(select(SalesOrder)).stage == Stage.STOCKED
    with pytest.raises(DomainError, match="已完工"):
        report(make_uow, policy, good=1, key="late")


def test_today_total_uses_the_plant_day(plant, make_uow, policy):
    # 23:30 in Shanghai on the 24th is 15:30 UTC: it belongs to the 24th, not to the 25th.
    yesterday_late = NOW.replace(hour=15, minute=30) - timedelta(days=1)
    report(make_uow, policy, good=100, key="y", now=yesterday_late)
    res = report(make_uow, policy, good=200, key="t")
    assert res.today_good_total == 200
