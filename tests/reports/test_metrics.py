"""Every figure of the monthly report against October at the tiny plant of hand_month.py, on SQLite and PostgreSQL.

The expected numbers are worked out by hand in the comments, from the rows in hand_month.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from alerts.policy import AlertPolicy
from domain.errors import DomainError
from reports import delivery
from reports.delivery import LineFact
from reports.month import Month
from reports.monthly import MonthlyReport, build_monthly, check_month
from tests.reports.hand_month import AS_OF, build_october

OCTOBER = Month(2026, 10)


@pytest.fixture
def october(make_uow) -> MonthlyReport:
    with make_uow() as uow:
        build_october(uow)
        uow.commit()
    with make_uow() as uow:
        return build_monthly(uow, OCTOBER, as_of=AS_OF, policy=AlertPolicy())


def test_orders_received_and_shipped(october: MonthlyReport) -> None:
    # Ordered in October and not voided: 102 (2 lines: 2000 + 500), 103 (3000), 104 (800), 106 (100).
    assert (october.received.orders, october.received.lines, october.received.qty) == (4, 5, 6400)
    # 格力电器 103 + 104 = 3800 pieces, 美的集团 102 + 106 = 2600: equal order counts, more pieces first.
    assert [(c.customer, c.orders, c.qty) for c in october.received_by_customer] == [
        ("格力电器", 2, 3800), ("美的集团", 2, 2600)]
    # Shipped in October, plant time: 101 (1000) and 103 (3000); 107 left at 07:00 on 11-01 (10-31 in UTC).
    assert (october.shipped.orders, october.shipped.qty) == (2, 4000)


def test_on_time_delivery_rate(october: MonthlyReport) -> None:
    # Due in October: 101-1, 102-1, 102-2, 103-1, 106-1 (105 is voided, 104 is due in November).
    # On time: 101-1 (done 10-09 ≤ 10-10), 103-1 (shipped 10-24 ≤ 10-25).
    # Late: 102-1 (done 10-18 > 10-15), 102-2 (still open on 11-05), 106-1 (closed 10-30 > 10-28).
    ot = october.on_time
    assert (ot.due, ot.on_time, ot.late, ot.pending, ot.orders, ot.due_qty) == (5, 2, 3, 0, 4, 6600)
    assert ot.rate_pct == pytest.approx(40.0)


def test_on_time_by_customer_and_product(october: MonthlyReport) -> None:
    by_customer = {name: (o.due, o.on_time, o.late, o.rate_pct) for name, o in october.on_time_by_customer}
    # 美的集团: 101-1 on time; 102-1, 102-2, 106-1 late → 1/4. 格力电器: 103-1 on time → 1/1.
    assert by_customer == {"美的集团": (4, 1, 3, 25.0), "格力电器": (1, 1, 0, 100.0)}
    assert [name for name, _ in october.on_time_by_customer] == ["美的集团", "格力电器"]  # most lines first
    by_product = {name: (o.due, o.on_time, o.rate_pct) for name, o in october.on_time_by_product}
    # 电饭煲上盖: 101-1 on time, 102-1 late → 1/2. 空调面板: 103-1 on time, 102-2 and 106-1 late → 1/3.
    assert by_product == {"电饭煲上盖（3.01.0112）": (2, 1, 50.0),
                          "空调面板（3.02.0107）": (3, 1, pytest.approx(100 / 3))}


def test_late_lines_with_delay_and_recorded_reasons(october: MonthlyReport) -> None:
    late = [(x.bill_no, x.entry_id, x.done_on, x.delay_days, x.reasons) for x in october.late]
    assert late == [
        # Due 10-20, still running on 11-05: 16 days. The late-start alert and WO-C's late start (10-10 → 10-12).
        ("SEORD000102", 2, None, 16, ("预警：超计划时间未开工", "开工比计划晚 2 天")),
        # Due 10-15, WO-B done 10-18: 3 days; the exception on WO-B with its resolution.
        ("SEORD000102", 1, date(2026, 10, 18), 3, ("模具问题：顶针断裂（处理：更换顶针）",)),
        # Due 10-28, closed in KIS on 10-30 without a shipment: 2 days, nothing recorded.
        ("SEORD000106", 1, date(2026, 10, 30), 2, ()),
    ]


def test_plan_completion(october: MonthlyReport) -> None:
    # Planned to finish in October: WO-A (1000), WO-B (2000), WO-C (500); WO-E is voided, WO-D finishes 11-08.
    # Packed (last operation) by 10-31: A 1020 → counts 1000, B 2050 → 2000, C 0 (packed 11-02). 3000 / 3500.
    # Finished by the planned day: A (10-09 on 10-09) only; B finished 10-18 for 10-14; C is running.
    plan = october.plan
    assert (plan.work_orders, plan.planned_qty, plan.done_qty, plan.finished_on_time) == (3, 3500, 3000, 1)
    assert plan.qty_pct == pytest.approx(6000 / 70)
    assert plan.on_time_pct == pytest.approx(100 / 3)


def test_good_and_defects_by_product_and_mould(october: MonthlyReport) -> None:
    rows = {(q.product, q.mould): (q.moulded_good, q.moulded_defect, q.later_defect, q.finished_good)
            for q in october.quality}
    # 电饭煲上盖 M-012 moulding: A 600+450, B 1600 (its 09-30 report is September's), D 100 = 2750 good;
    # defects 20+10+40+0 = 70; packing scrapped 5+3+10 = 18 and packed 700+320+2050 = 3070.
    # 空调面板 M-007: moulded 300 good, 30 defect; its packing report is November's.
    assert rows == {("电饭煲上盖", "M-012"): (2750, 70, 18, 3070), ("空调面板", "M-007"): (300, 30, 0, 0)}
    lid = next(q for q in october.quality if q.mould == "M-012")
    assert lid.moulding_defect_pct == pytest.approx(100 * 70 / 2820)
    assert lid.defect_pct == pytest.approx(100 * 88 / 2820)
    total = october.quality_total
    assert (total.moulded_good, total.moulded_defect, total.later_defect, total.finished_good) == (3050, 100, 18, 3070)
    assert total.moulding_defect_pct == pytest.approx(100 * 100 / 3150)
    # Pareto: 88 of 118 defects on the lid's mould, then the panel's 30.
    assert [(b.label, b.defects) for b in october.pareto] == [("电饭煲上盖 M-012", 88), ("空调面板 M-007", 30)]
    assert [b.cumulative_pct for b in october.pareto] == [pytest.approx(100 * 88 / 118), pytest.approx(100.0)]


def test_exceptions_by_type(october: MonthlyReport) -> None:
    # October (plant time): 模具问题 30 min to acknowledge, 120 to close; 设备故障 ×2: 10 and 50 min to
    # acknowledge, one closed after 100 min, one still open. The 品质异常 of 11-01 07:30 is November's.
    types = {e.type: (e.count, e.mean_response_minutes, e.mean_close_minutes, e.still_open)
             for e in october.exception_types}
    assert types == {"设备故障": (2, 30.0, 100.0, 1), "模具问题": (1, 30.0, 120.0, 0)}
    assert [e.type for e in october.exception_types] == ["设备故障", "模具问题"]
    total = october.exceptions_total
    assert (total.count, total.mean_response_minutes, total.mean_close_minutes, total.still_open) == (3, 30.0, 110.0, 1)


def test_alert_handling_comes_from_the_alerts_statistics(october: MonthlyReport) -> None:
    # One late-start alert: acknowledged after 20 minutes, closed two days later.
    [stats] = october.alerts
    assert (stats.rule, stats.count, stats.mean_ack_minutes, stats.mean_close_minutes) == ("late_start", 1, 20.0, 2880.0)
    assert stats.closed_same_day_pct == 0


def test_kis_month_end(october: MonthlyReport) -> None:
    # 电饭煲上盖: 3070 packed in October; KIS imported 700, 320 written and waiting, 2050 rejected → 2050 missing.
    # 空调面板 packed nothing in October and its only outbox row (200) is November's: no row.
    [lid] = october.kis
    assert (lid.item_number, lid.finished, lid.imported, lid.written, lid.queued, lid.rejected, lid.difference) == (
        "3.01.0112", 3070, 700, 320, 0, 2050, 2050)
    assert october.kis_total.difference == 2050


def test_trend_compares_with_the_months_before(october: MonthlyReport) -> None:
    assert [p.month for p in october.trend] == OCTOBER.back(6)
    september, this = october.trend[-2], october.trend[-1]
    # September: 101 and 107 ordered, nothing due or shipped, WO-B moulded 500 good and 5 bad on 09-30.
    assert (september.received_orders, september.due_lines, september.on_time_pct, september.shipped_orders,
            september.finished_good, september.exceptions) == (2, 0, None, 0, 0, 0)
    assert september.moulding_defect_pct == pytest.approx(100 * 5 / 505)
    assert (this.received_orders, this.due_lines, this.on_time_pct, this.shipped_orders, this.finished_good,
            this.exceptions) == (4, 5, 40.0, 2, 3070, 3)
    assert october.previous == september


def test_months_that_cannot_be_reported_are_refused(make_uow) -> None:
    with make_uow() as uow:
        build_october(uow)
        uow.commit()
    with make_uow() as uow:
        check_month(uow, OCTOBER, AS_OF)
        check_month(uow, Month(2026, 11), AS_OF)  # the running month is allowed
        with pytest.raises(DomainError, match="2026年12月还没有到"):
            check_month(uow, Month(2026, 12), AS_OF)
        with pytest.raises(DomainError, match="2026年1月没有订单和报工数据.*从 2026年9月开始"):
            check_month(uow, Month(2026, 1), AS_OF)


def _line(due: date, done: date | None) -> LineFact:
    return LineFact(1, "SEORD1", 1, "美的集团", "3.01.0112", "电饭煲上盖", 100, due, done, 0, ())


@pytest.mark.parametrize(("due", "done", "as_of", "verdict", "delay"), [
    (date(2026, 10, 10), date(2026, 10, 10), date(2026, 10, 12), "on_time", 0),  # done on the due day
    (date(2026, 10, 10), date(2026, 10, 11), date(2026, 10, 12), "late", 1),
    (date(2026, 10, 10), None, date(2026, 10, 10), "pending", 0),  # due today, not done yet: not judged
    (date(2026, 10, 10), None, date(2026, 10, 11), "late", 1),
])
def test_a_line_is_judged_on_its_due_date(due, done, as_of, verdict, delay) -> None:
    line = _line(due, done)
    assert delivery.verdict(line, as_of) == verdict
    assert delivery.delay_days(line, as_of) == delay


def test_month_parsing_and_bounds() -> None:
    assert Month.parse("2026-10") == Month.parse("2026年10月") == Month.parse(" 2026/10 ") == OCTOBER
    with pytest.raises(DomainError, match="无法识别月份「2026-13」"):
        Month.parse("2026-13")
    assert OCTOBER.previous() == Month(2026, 9) and Month(2026, 1).previous() == Month(2025, 12)
    start, end = OCTOBER.utc_bounds(AlertPolicy().tz)
    assert (start.isoformat(), end.isoformat()) == ("2026-09-30T16:00:00+00:00", "2026-10-31T16:00:00+00:00")
