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
from factorybot.runtime import Runtime
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
    # The CLI's clock, pinned to 2027-03-01 (10:00 in the plant): November is over, so it counts all 30
    # days, and every workshop has had its first 90 days, so the adoption lines are whole.
    monkeypatch.setattr(Runtime, "now", lambda self: datetime(2027, 3, 1, 2, tzinfo=UTC))
    out = CliRunner().invoke(main, ["usage", "--month", "2026-11"], catch_exceptions=False).output
    lines = out.splitlines()
    assert lines[0] == "2026-11 使用情况（30 天）："
    # 8 person-days / 30 days = 0.27 a day, of 8 people.
    assert "日均活跃 0.3 人 / 已开通 8 人（3.3%）" in lines
    # Workers w1 w2 t1 q1: 3 on the 20th, 3 on the 21st, w1 on the 22nd = 7/30 = 0.23 a day, 5.8% of 4;
    # the team lead on the 20th = 1/30, 3.3%; the supervisor, the executive (refused) and the admin: none.
    assert "按角色：操作工 0.2/4（6%）；班组长 0.0/1（3%）；车间主管 0.0/1（0%）；管理层 0.0/1（0%）；系统管理员 0.0/1（0%）" \
        in lines
    # 后加工车间 t1, lead on the 20th = 2/30, 3.3% of 2; 注塑车间 w1 w2 twice, w1 once more = 5/30, 5.6% of 3
    # (sup did nothing); 质检部 q1 on the 21st = 1/30, 3.3% of 1.
    assert "按车间：后加工车间 0.1/2（3%）；注塑车间 0.2/3（6%）；质检部 0.0/1（3%）" in lines
    # 1 report (w1 on the 22nd), 3 order questions (t1, lead, boss), 1 exception action (q1), over 30 days.
    assert "每日报工 0.0 次，查询 0.1 次，异常处理 0.0 次" in lines
    assert "企业微信操作 11 次，成功率 90.9%（成功 9，输入有误 0，无权限/未开通 1，系统出错 1）" in lines
    assert "扫码到报工完成（中位数）：6 秒" in lines
    assert "异常 2 条，已关闭 1 条（关闭率 50.0%）" in lines
    # Adoption, 13 weeks from each workshop's first day: 注塑车间 from 11-20, 5 person-days of 3 people in its
    # first week = 24%; 后加工车间 from 11-20, 2 of 2 people on one day = 14%; 质检部 from 11-21, q1 once = 14%.
    zeros = " ".join(["0%"] * 12)
    assert f"上线曲线 · 注塑车间（每周活跃占比）：24% {zeros}" in lines
    assert f"上线曲线 · 后加工车间（每周活跃占比）：14% {zeros}" in lines
    assert f"上线曲线 · 质检部（每周活跃占比）：14% {zeros}" in lines
    assert len(lines) == 11  # the 8 lines above and one adoption line per workshop, nothing else
    bad = CliRunner().invoke(main, ["usage", "--month", "11-2026"])
    assert bad.exit_code != 0 and "月份格式不正确" in bad.output


def test_an_empty_month_says_so_without_dividing_by_zero(make_uow, policy):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()
        r = usage_report(uow, "2026-10", today=TODAY, tz=policy.tz)
    assert r.callbacks == 0 and r.success_pct is None and r.median_scan_to_report_s is None
    assert r.days == 31 and r.mean_daily_active == 0
