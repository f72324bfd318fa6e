"""Usage figures on a hand-built month: who was active, what they did, how it ended, how fast."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from domain.models import ActionEvent
from domain.services.exceptions import close_exception, open_exception
from domain.services.reporting import report_work
from domain.services.usage import usage_report
from factorybot.cli import main
from tests.factories import TODAY, small_plant

WO = "WO20261125-01"


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)  # hours are UTC; all fall on the same plant day


def event(uow, when, userid, route, outcome="ok", subject=None):
    uow.session.add(ActionEvent(at=when, day=when.date(), userid=userid, route=route, outcome=outcome,
                                latency_ms=20, subject=subject))


@pytest.fixture
def month(make_uow, policy):
    with make_uow() as uow:
        small_plant(uow)  # 8 people: w1, w2 (注塑), t1, lead (后加工), q1 (质检), sup, boss, admin
        event(uow, at(20, 2, 0), "w1", "scan_report.scan_traveller", subject=WO)
        event(uow, at(20, 2, 0, 4), "w1", "scan_report.tap_done", subject=WO)  # 4 s after the scan
        event(uow, at(20, 2, 5), "w2", "scan_report.scan_traveller", subject=WO)
        event(uow, at(20, 2, 5, 10), "w2", "text_report.report_by_text", subject=WO)  # 10 s
        event(uow, at(20, 3, 0), "t1", "orders.order_by_bill")
        event(uow, at(20, 4, 0), "lead", "orders.by_customer", outcome="failed")
        event(uow, at(21, 1, 0), "w1", "scan_report.scan_traveller", subject=WO)
        event(uow, at(21, 1, 0, 6), "w1", "scan_report.tap_done", subject=WO)  # 6 s
        event(uow, at(21, 2, 0), "q1", "exceptions.pick_type")
        event(uow, at(21, 3, 0), "boss", "orders.order_by_bill", outcome="refused")  # refused: not "active"
        event(uow, at(21, 4, 0), "w2", "scan_report.scan_traveller", subject=WO)  # never reported
        report_work(uow, policy, work_order_code=WO, userid="w1", good_qty=10, defect_qty=0, source_key="r1",
                    now=at(22, 2, 0))
        first = open_exception(uow, policy, userid="w1", type="设备故障", source_key="e1", now=at(21, 2, 0))
        open_exception(uow, policy, userid="w2", type="其他", source_key="e2", now=at(21, 3, 0))
        close_exception(uow, exception_id=first.id, userid="sup", now=at(21, 5, 0))
        uow.commit()


def test_each_figure_of_a_hand_built_month(month, make_uow, policy):
    with make_uow() as uow:
        r = usage_report(uow, "2026-11", today=TODAY, tz=policy.tz)
    assert (r.days, r.enrolled) == (25, 8)
    # Active: 20th w1 w2 t1 lead, 21st w1 q1 w2, 22nd w1 (a report) = 8 person-days over 25 days.
    assert r.mean_daily_active == pytest.approx(8 / 25)
    workers = next(g for g in r.by_role if g.label == "操作工")
    assert (workers.enrolled, workers.mean_daily_active) == (4, pytest.approx(7 / 25))
    moulding = next(g for g in r.by_workshop if g.label == "注塑车间")
    assert moulding.enrolled == 3 and moulding.mean_daily_active == pytest.approx(5 / 25)  # w1, w2, sup
    assert r.callbacks == 11 and r.outcomes == {"ok": 9, "failed": 1, "refused": 1}
    assert r.success_pct == pytest.approx(100 * 10 / 11)
    assert r.median_scan_to_report_s == 6
    # Every attempt counts as an action, however it ended: 3 order questions, 1 exception action.
    assert r.queries_per_day == pytest.approx(3 / 25) and r.exception_actions_per_day == pytest.approx(1 / 25)
    assert r.reports_per_day == pytest.approx(1 / 25)
    assert (r.exceptions_opened, r.exceptions_closed, r.closure_pct) == (2, 1, 50)
    # Adoption from each workshop's first day, up to today (11-25): 注塑车间 (w1, w2, sup) from 11-20, 6 days.
    assert r.adoption["注塑车间"] == [pytest.approx(100 * 5 / (6 * 3))]


def test_the_adoption_curve_ends_today(month, make_uow, policy):
    """A workshop live for less than 90 days has the weeks it has had, not weeks of 0% still to come."""
    with make_uow() as uow:
        r = usage_report(uow, "2026-11", today=date(2026, 11, 29), tz=policy.tz)
    # 质检部 (q1) from 11-21: 11-21..27 (q1 on the 21st), then 11-28..29 so far.
    assert r.adoption["质检部"] == [pytest.approx(100 / 7), 0.0]
    # 后加工车间 (t1, lead) from 11-20: both on the 20th; then 11-27..29, nobody.
    assert r.adoption["后加工车间"] == [pytest.approx(100 * 2 / (7 * 2)), 0.0]


def test_the_adoption_curve_covers_the_first_90_days(month, make_uow, policy):
    """注塑车间 (w1, w2, sup) starts on 11-20: day 89 is 2027-02-17, the last day of a 13th week of 6 days."""
    with make_uow() as uow:
        event(uow, datetime(2027, 2, 13, 2, tzinfo=UTC), "w1", "orders.order_by_bill")  # day 85
        event(uow, datetime(2027, 2, 18, 2, tzinfo=UTC), "w2", "orders.order_by_bill")  # day 90: after the curve
        uow.commit()
        curve = usage_report(uow, "2026-11", today=date(2027, 3, 1), tz=policy.tz).adoption["注塑车间"]
    assert len(curve) == 13
    assert curve[0] == pytest.approx(100 * 5 / (7 * 3))  # w1 on 20, 21, 22; w2 on 20, 21
    assert curve[1:12] == [0.0] * 11
    assert curve[12] == pytest.approx(100 * 1 / (6 * 3))  # one person-day in a week of 6 days


def test_the_cli_prints_them(month, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    # The CLI reads the real clock. November 2026 is over, so it counts all 30 days: 8 person-days / 30
    # days / 8 people. (While the month was running this line depended on the day the suite ran.)
    out = CliRunner().invoke(main, ["usage", "--month", "2026-11"], catch_exceptions=False).output
    assert "2026-11 使用情况（30 天）" in out
    assert "日均活跃 0.3 人 / 已开通 8 人（3.3%）" in out
    assert "企业微信操作 11 次，成功率 90.9%（成功 9，输入有误 0，无权限/未开通 1，系统出错 1）" in out
    assert "扫码到报工完成（中位数）：6 秒" in out
    assert "异常 2 条，已关闭 1 条（关闭率 50.0%）" in out
    bad = CliRunner().invoke(main, ["usage", "--month", "11-2026"])
    assert bad.exit_code != 0 and "月份格式不正确" in bad.output


def test_an_empty_month_says_so_without_dividing_by_zero(make_uow, policy):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()
        r = usage_report(uow, "2026-10", today=TODAY, tz=policy.tz)
    assert r.callbacks == 0 and r.success_pct is None and r.median_scan_to_report_s is None
    assert r.days == 31 and r.mean_daily_active == 0
