"""An order's timeline on the demo plant: shipping, and the alerts about the order itself."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from domain.demo import load_demo_plant
from domain.models import Alert, SalesOrder
from domain.services.order_timeline import order_timeline
from domain.vocab import AlertStatus, OrderStatus

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


@pytest.fixture
def demo(make_uow, policy):
    with make_uow() as uow:
        load_demo_plant(uow, today=date(2026, 11, 25), policy=policy)
        uow.commit()
    return make_uow


def test_a_shipped_order_ends_with_its_shipping(demo):
    with demo() as uow:
        order = uow.session.scalars(select(SalesOrder).where(SalesOrder.status == OrderStatus.CLOSED,
                                                             SalesOrder.shipped_at.is_not(None))).first()
        events = order_timeline(uow, order.bill_no)
        shipped = [e for e in events if e.kind == "ship"]
        lines = "，".join(f"第 {ln.entry_id} 行 {ln.qty}/{ln.qty} 件" for ln in order.lines)
        assert [(e.at, e.text) for e in shipped] == [(order.shipped_at, f"出货：{lines}")]
        assert events[-1].kind == "ship"


def test_the_forecast_and_kis_alerts_about_the_order_are_on_its_timeline(demo):
    with demo() as uow:
        bill_no = uow.session.scalar(select(SalesOrder.bill_no).where(SalesOrder.status == OrderStatus.OPEN)
                                     .order_by(SalesOrder.bill_no))
        for subject, title in ((f"forecast:{bill_no}:late", f"{bill_no} 预计逾期"),
                               (f"order:{bill_no}", f"{bill_no} KIS 同步异常"),
                               (f"forecast:{bill_no}9:late", "另一张订单")):
            uow.session.add(Alert(rule="late_forecast", subject_key=subject, title=title, facts={},
                                  status=AlertStatus.OPEN, level=0, fired_at=NOW))
        uow.flush()
        texts = [e.text for e in order_timeline(uow, bill_no) if e.kind == "alert"]
        assert any(t.endswith(f"{bill_no} 预计逾期") for t in texts)
        assert any(t.endswith(f"{bill_no} KIS 同步异常") for t in texts)
        assert not any("另一张订单" in t for t in texts)
