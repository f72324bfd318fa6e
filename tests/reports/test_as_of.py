"""The monthly report judged as of a past day, and 出货 without voided orders, on the plant of hand_month.py.

As seen on the demo: `--as-of 2026-11-15` judged lines by finishes after that day (92.5 % where 94.7 % was
true on 2026-11-15), and a voided order's shipment was counted in 出货.
"""

from __future__ import annotations

from datetime import date

from alerts.policy import AlertPolicy
from domain.models import Customer, SalesOrder, SalesOrderLine
from domain.vocab import OrderStatus, Stage
from reports import delivery
from reports.month import Month
from reports.monthly import build_monthly
from tests.reports.hand_month import build_october, local

OCTOBER = Month(2026, 10)


def test_a_past_as_of_day_counts_only_what_was_done_by_then(make_uow) -> None:
    with make_uow() as uow:
        build_october(uow)
        uow.commit()
    with make_uow() as uow:
        r = build_monthly(uow, OCTOBER, as_of=date(2026, 10, 16), policy=AlertPolicy())
    # On 10-16: 101-1 (due 10-10) done 10-09, on time. 102-1 (due 10-15) not finished until 10-18: late.
    # 102-2 (due 10-20), 103-1 (due 10-25, shipped 10-24 later on) and 106-1 (due 10-28, closed 10-30 later
    # on) were not yet due and not done by then: pending, not judged.
    assert (r.on_time.on_time, r.on_time.late, r.on_time.pending) == (1, 1, 3)
    assert r.on_time.rate_pct == 50.0
    late = {(x.bill_no, x.entry_id): x for x in r.late}
    assert list(late) == [("SEORD000102", 1)]
    # Its finish on 10-18 had not happened yet: still open on the report day, a day late so far.
    assert (late[("SEORD000102", 1)].done_on, late[("SEORD000102", 1)].delay_days) == (None, 1)
    # Orders taken by 10-16 (102, 103, 104; 106 came on 10-20) and shipped by then (101 on 10-12).
    assert (r.received.orders, r.shipped.orders, r.shipped.qty) == (3, 1, 1000)


def test_a_voided_order_is_not_counted_as_shipped(make_uow) -> None:
    with make_uow() as uow:
        build_october(uow)
        gree = uow.session.query(Customer).filter_by(name="格力电器").one()
        voided = SalesOrder(bill_no="SEORD000108", customer=gree, order_date=date(2026, 10, 3),
                            status=OrderStatus.VOIDED, stage=Stage.SHIPPED, shipped_at=local(10, 14, 16),
                            created_at=local(10, 3), updated_at=local(10, 20))
        lid = uow.session.query(SalesOrderLine).first().product  # type: ignore[union-attr]
        uow.session.add(SalesOrderLine(order=voided, entry_id=1, product=lid, qty=700, due_date=date(2026, 10, 14),
                                       shipped_qty=700))
        uow.commit()
    with make_uow() as uow:
        shipped = delivery.shipped(uow, OCTOBER, AlertPolicy().tz)
        report = build_monthly(uow, OCTOBER, as_of=date(2026, 11, 5), policy=AlertPolicy())
    # 101 (1000) and 103 (3000), as without the voided 108.
    assert (shipped.orders, shipped.qty) == (2, 4000)
    assert (report.shipped.orders, report.current.shipped_orders) == (2, 2)
