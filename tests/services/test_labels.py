"""Choosing the work orders to label: by code, by order, by plant-day; and what is refused, in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import DomainError, NotFound
from domain.models import WorkOrder
from domain.services.labels import select_work_orders
from domain.vocab import OrderStatus, WorkOrderStatus
from tests.factories import NOW, TODAY, add_order, small_plant


def _select(make_uow, policy, **selectors):
    with make_uow() as uow:
        return select_work_orders(uow, tz=policy.tz, today=TODAY, **selectors)


@pytest.fixture
def plant(make_uow):
    """Three orders; the second has a second work order; the third starts at 01:00 plant time on the 26th."""
    with make_uow() as uow:
        small_plant(uow)  # SEORD000001 / WO20261125-01, 美的集团
        second = add_order(uow, bill_no="SEORD000002", customer="九阳股份", wo_code="WO20261125-02", qty=500)
        uow.session.add(WorkOrder(
            code="WO20261125-03", line=second.line, product=second.product, planned_qty=300, daily_plan_qty=300,
            planned_start=NOW, planned_finish=NOW + timedelta(days=1), mould="M-002", machine="P02",
            workshop="注塑车间",
        ))
        third = add_order(uow, bill_no="SEORD000003", wo_code="WO20261126-01", route=(("注塑", "注塑车间"),))
        # 17:00 UTC on the 25th is already the 26th in Shanghai: the plant-day, not the UTC date, counts.
        third.planned_start = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
        uow.commit()


def test_codes_keep_the_given_order_once_each_with_everything_the_label_prints(make_uow, policy, plant):
    labels = _select(make_uow, policy, codes=["WO20261125-03", " wo20261125-01 ", "WO20261125-03"])
    assert [lb.code for lb in labels] == ["WO20261125-03", "WO20261125-01"]
    first = labels[1]
    assert (first.bill_no, first.customer, first.product_name, first.item_number, first.model) == (
        "SEORD000001", "美的集团", "电饭煲上盖", "3.01.0001", "ABS 白色")
    assert first.route_text == "注塑→修边→质检→包装"
    assert (first.planned_qty, first.mould, first.machine, first.workshop) == (1000, "M-001", "P01", "注塑车间")
    assert (first.due_date, first.planned_start, first.printed_on) == (TODAY + timedelta(days=5), TODAY, TODAY)


def test_an_order_gives_all_its_work_orders_and_selectors_add_up_without_repeats(make_uow, policy, plant):
    by_order = _select(make_uow, policy, bill_no="seord000002")
    assert [lb.code for lb in by_order] == ["WO20261125-02", "WO20261125-03"]
    assert {lb.customer for lb in by_order} == {"九阳股份"}
    both = _select(make_uow, policy, codes=["WO20261125-03"], bill_no="SEORD000002")
    assert [lb.code for lb in both] == ["WO20261125-03", "WO20261125-02"]


def test_a_date_means_the_plant_day_of_the_planned_start(make_uow, policy, plant):
    on_25th = _select(make_uow, policy, planned_day=date(2026, 11, 25))
    assert [lb.code for lb in on_25th] == ["WO20261125-01", "WO20261125-02", "WO20261125-03"]
    on_26th = _select(make_uow, policy, planned_day=date(2026, 11, 26))
    assert [(lb.code, lb.planned_start, lb.route_text) for lb in on_26th] == [
        ("WO20261126-01", date(2026, 11, 26), "注塑")]


def test_unknown_codes_are_all_named(make_uow, policy, plant):
    with pytest.raises(NotFound) as caught:
        _select(make_uow, policy, codes=["WO20261125-01", "WO20261125-99", "wo-nope"])
    assert caught.value.message == "没有找到工单 WO20261125-99、WO-NOPE，请核对工单号。"


def test_unknown_order_empty_day_and_no_selector_are_refused_in_words(make_uow, policy, plant):
    with pytest.raises(NotFound, match="没有找到订单 SEORD999999，请核对单号。"):
        _select(make_uow, policy, bill_no="SEORD999999")
    with pytest.raises(DomainError, match="2026-12-24 没有计划开工的工单"):
        _select(make_uow, policy, planned_day=date(2026, 12, 24))
    with pytest.raises(DomainError, match="请指定要打印标签的工单号、订单号或计划开工日期"):
        _select(make_uow, policy, codes=["", " "])


def test_closed_and_voided_work_orders_get_no_label(make_uow, policy, plant):
    with make_uow() as uow:
        wos = {wo.code: wo for wo in uow.session.query(WorkOrder)}
        wos["WO20261125-02"].status = WorkOrderStatus.CLOSED
        wos["WO20261126-01"].line.order.status = OrderStatus.VOIDED
        uow.commit()
    with pytest.raises(DomainError) as caught:
        _select(make_uow, policy, codes=["WO20261125-01", "WO20261125-02", "WO20261126-01"])
    assert caught.value.message == (
        "以下工单不能打印标签：WO20261125-02（已关闭）、WO20261126-01（所属订单已作废）。请只选择仍在生产的工单。")
    # Selecting the dead one through its order is refused just the same.
    with pytest.raises(DomainError, match="WO20261125-02（已关闭）"):
        _select(make_uow, policy, bill_no="SEORD000002")
    assert [lb.code for lb in _select(make_uow, policy, codes=["WO20261125-01"])] == ["WO20261125-01"]
