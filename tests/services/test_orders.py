from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.errors import DomainError, NotFound
from domain.models import SalesOrder
from domain.services.exceptions import open_exception
from domain.services.orders import looks_like_bill_no, my_orders, order_progress, search_orders
from domain.services.reporting import report_work
from domain.vocab import Stage, WorkOrderStatus
from tests.factories import NOW, TODAY, TZ, add_order, small_plant


@pytest.fixture
def plant(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        add_order(uow, bill_no="SEORD000002", customer="格力电器", wo_code="WO20261125-02",
                  due=TODAY - timedelta(days=1))
        uow.commit()


def test_progress_shows_stage_operations_and_a_new_report(plant, make_uow, policy):
    with make_uow() as uow:
        before = order_progress(uow, "seord000001", today=TODAY, tz=TZ)
    assert before.stage_label == "排产" and before.customer == "美的集团"
    assert [op.name for op in before.lines[0].work_orders[0].operations] == ["注塑", "修边", "质检", "包装"]
    with make_uow() as uow:
        report_work(uow, policy, work_order_code="WO20261125-01", userid="w1", good_qty=800, defect_qty=12,
                    source_key="r1", now=NOW)
        open_exception(uow, policy, userid="w1", type="设备故障", source_key="e1", now=NOW,
                       work_order_code="WO20261125-01", description="液压泵漏油")
        uow.commit()
    with make_uow() as uow:
        after = order_progress(uow, "SEORD000001", today=TODAY, tz=TZ)
    moulding = after.lines[0].work_orders[0].operations[0]
    assert (moulding.good_qty, moulding.defect_qty, moulding.percent) == (800, 12, 80)
    assert after.stage_label == "生产"
    assert [e.type for e in after.open_exceptions] == ["设备故障"]
    assert after.to_dict()["lines"][0]["work_orders"][0]["operations"][0]["good_qty"] == 800


def test_unknown_bill_is_a_clear_error(plant, make_uow):
    with make_uow() as uow, pytest.raises(NotFound, match="没有找到订单 SEORD999999"):
        order_progress(uow, "SEORD999999", today=TODAY, tz=TZ)


def test_customer_search_lists_open_orders_late_first(plant, make_uow):
    with make_uow() as uow:
        found, total = search_orders(uow, "格力", today=TODAY, tz=TZ)
    assert total == 1 and found[0].bill_no == "SEORD000002" and found[0].late
    with make_uow() as uow, pytest.raises(DomainError, match="至少两个字"):
        search_orders(uow, "格", today=TODAY, tz=TZ)
    with make_uow() as uow:
        assert search_orders(uow, "不存在的客户", today=TODAY, tz=TZ) == ([], 0)


@pytest.mark.parametrize(("finished", "late"), [(None, True), (date(2026, 11, 21), True), (date(2026, 11, 20), False)])
def test_a_past_due_order_is_late_unless_it_was_made_by_its_due_date(plant, make_uow, finished, late):
    # The one on-time rule (domain/services/on_time.py): finished into stock on time is not late while it
    # waits to ship; finished after the due date, or not finished, is.
    with make_uow() as uow:
        order = uow.session.scalar(select(SalesOrder).where(SalesOrder.bill_no == "SEORD000002"))
        line = order.lines[0]
        line.due_date = date(2026, 11, 20)
        if finished is not None:
            order.stage = Stage.STOCKED
            for wo in line.work_orders:
                wo.status = WorkOrderStatus.DONE
                wo.finished_at = datetime(finished.year, finished.month, finished.day, 18, 0, tzinfo=TZ)
        uow.commit()
    with make_uow() as uow:
        assert order_progress(uow, "SEORD000002", today=TODAY, tz=TZ).late is late


def test_my_orders_are_those_i_reported_on(plant, make_uow, policy):
    with make_uow() as uow:
        assert my_orders(uow, "w1", today=TODAY, tz=TZ) == []
        report_work(uow, policy, work_order_code="WO20261125-02", userid="w1", good_qty=10, defect_qty=0,
                    source_key="x", now=NOW)
        uow.commit()
    with make_uow() as uow:
        assert [o.bill_no for o in my_orders(uow, "w1", today=TODAY, tz=TZ)] == ["SEORD000002"]
        # The supervisor of the moulding shop sees both open orders of the shop.
        assert {o.bill_no for o in my_orders(uow, "sup", today=TODAY, tz=TZ)} == {"SEORD000001", "SEORD000002"}


def test_bill_number_shape():
    assert looks_like_bill_no("SEORD000123") and looks_like_bill_no("seord12345")
    assert not looks_like_bill_no("美的") and not looks_like_bill_no("帮助")
