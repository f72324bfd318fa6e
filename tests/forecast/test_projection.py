"""The projection on hand-computed cases: shift boundaries, rest days, no reports yet, a stopped machine, a
finished work order, thin data, an order's slowest line, and which orders are warned."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from forecast.calendar import ShiftCalendar
from forecast.explain import reasons
from forecast.policy import ForecastPolicy
from forecast.projection import (
    History,
    LineFacts,
    Projector,
    Risk,
    WorkOrderFacts,
    forecast_line,
    forecast_orders,
    project_work_order,
    warning_level,
)
from forecast.text import eta_text, risk_text

TZ = ZoneInfo("Asia/Shanghai")
POLICY = ForecastPolicy(calendar=ShiftCalendar(tz=TZ))  # 08:00-20:00 every day; 3-day window; 4 h finishing
SUNDAYS_OFF = ForecastPolicy(calendar=ShiftCalendar(tz=TZ, rest_weekdays=frozenset({6})))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


NOW = at(25, 15)  # Wednesday 15:00; the rate window is 11-22, 11-23, 11-24


def wo(**kw: object) -> WorkOrderFacts:
    base = dict(id=1, code="WO1", line_id=1, status="in_progress", planned_qty=5000, daily_plan_qty=2400,
                planned_start=at(22, 8), planned_finish=at(24, 8), machine="P01", mould="M-001", product_id=1,
                workshop="注塑车间", moulded=4000, first_report_day=date(2026, 11, 22), window_good=3600)
    return WorkOrderFacts(**{**base, **kw})  # type: ignore[arg-type]


def line(due: date, entry_id: int = 1, line_id: int = 1) -> LineFacts:
    return LineFacts(line_id, 7, "SEORD000007", "美的集团", entry_id, "电饭煲上盖", 5000, due)


def test_running_at_its_recent_rate_across_the_end_of_the_shift():
    # 3,600 good over the last three full days = 100 an hour; 1,000 left = 10 h: 15:00-20:00 today, then
    # 08:00-13:00 tomorrow; trimming, inspection and packing take 4 h more.
    p = project_work_order(wo(), NOW, POLICY)
    assert (p.rate.basis, p.rate.per_hour, p.rate.days) == ("recent", 100, 3)
    assert p.moulding_end == at(26, 13) and p.finish == at(26, 17) and p.finish_day == date(2026, 11, 26)
    assert forecast_line(line(date(2026, 11, 27)), [p], POLICY).risk == Risk.AT_RISK  # one day to spare
    assert forecast_line(line(date(2026, 11, 28)), [p], POLICY).risk == Risk.ON_TIME  # two
    late = forecast_line(line(date(2026, 11, 25)), [p], POLICY)
    assert (late.risk, late.slack_days) == (Risk.LATE, -1)


def test_moulding_that_ends_with_the_shift_ends_that_day():
    p = project_work_order(wo(moulded=4500), NOW, POLICY)  # 500 left: 5 h, exactly to 20:00
    assert p.moulding_end == at(25, 20) and p.finish == at(26, 12)
    bare = project_work_order(wo(moulded=4500, has_downstream=False), NOW, POLICY)
    assert bare.finish == at(25, 20) and bare.finish_day == date(2026, 11, 25)


def test_rest_days_are_neither_worked_nor_counted_in_the_rate():
    # Monday 11-30 10:00 with Sundays off: the window is Thu 26, Fri 27, Sat 28 (not Sunday 29).
    f = wo(first_report_day=date(2026, 11, 26), window_good=3600, moulded=3000)
    monday = at(30, 10)
    p = project_work_order(f, monday, SUNDAYS_OFF)
    assert (p.rate.per_hour, p.rate.days) == (100, 3)
    # 2,000 left = 20 h: Mon 10:00-20:00 (10 h), Tue 08:00-18:00 (10 h); +4 h: Wednesday 10:00.
    assert p.moulding_end == at(1, 18, month=12) and p.finish == at(2, 10, month=12)
    # Saturday 18:00: 2 h on Saturday, Sunday off, Monday 08:00-16:00, finishing to 20:00.
    sat = project_work_order(wo(moulded=4000, first_report_day=date(2026, 11, 25), window_good=3600), at(28, 18),
                             SUNDAYS_OFF)
    assert sat.moulding_end == at(30, 16) and sat.finish == at(30, 20)


def test_no_reports_yet_runs_at_the_planned_rate_for_the_plan_s_length():
    planned = wo(status="planned", moulded=0, first_report_day=None, window_good=0, planned_qty=2400,
                 planned_start=at(27, 8), planned_finish=at(28, 8))
    p = project_work_order(planned, NOW, POLICY)
    assert p.rate.basis == "plan" and p.rate.per_hour == 200  # 2,400 a day over a 12-hour shift
    assert p.begin == at(27, 8) and p.finish == at(27, 20) and p.finish_day == date(2026, 11, 27)
    # Planned to start yesterday and still not started: the same length from now.
    late_start = project_work_order(replace(planned, planned_start=at(24, 8), planned_finish=at(25, 8)), NOW, POLICY)
    assert late_start.begin == NOW and late_start.finish == at(26, 15)
    why = reasons(late_start, forecast_line(line(date(2026, 11, 26)), [late_start], POLICY), NOW, POLICY)
    assert why == ["未开工（计划 11-24 08:00）"]


def test_a_stopped_machine_has_no_finish_only_its_earliest_restart():
    # Moulding since 11-20, nothing over the last three full days.
    stopped = wo(first_report_day=date(2026, 11, 20), window_good=0, moulded=3800)
    p = project_work_order(stopped, NOW, POLICY)
    assert p.stopped and p.finish is None
    # Restarted now at the planned 200 an hour: 1,200 left = 6 h → 11-26 09:00, +4 h → 13:00.
    assert p.earliest == at(26, 13) and p.earliest_day == date(2026, 11, 26)
    soon = forecast_line(line(date(2026, 11, 30)), [p], POLICY)
    assert (soon.risk, soon.slack_days, soon.finish_day) == (Risk.AT_RISK, 4, None)  # stopped: never on time
    gone = forecast_line(line(date(2026, 11, 25)), [p], POLICY)
    assert (gone.risk, gone.slack_days) == (Risk.LATE, -1)
    assert reasons(p, gone, NOW, POLICY) == ["停机：近 3 个工作日无产出"]


def test_a_finished_work_order_is_history():
    done = wo(status="done", moulded=5000, finished_at=at(24, 16))
    p = project_work_order(done, NOW, POLICY)
    assert p.done and p.finish == at(24, 16) and p.finish_day == date(2026, 11, 24)
    assert forecast_line(line(date(2026, 11, 24)), [p], POLICY).risk == Risk.ON_TIME
    assert forecast_line(line(date(2026, 11, 24)), [p], POLICY).done
    missed = forecast_line(line(date(2026, 11, 23)), [p], POLICY)
    assert (missed.risk, missed.slack_days) == (Risk.LATE, -1)


def test_started_this_shift_borrows_the_machine_mould_then_the_product_history():
    fresh = wo(first_report_day=date(2026, 11, 25), window_good=0, moulded=600)
    history = History({("P01", "M-001"): 150.0}, {1: 50.0})
    assert project_work_order(fresh, NOW, POLICY, history).rate.basis == "machine_mould"
    other_press = replace(fresh, machine="P02")
    assert project_work_order(other_press, NOW, POLICY, history).rate.per_hour == 50.0
    assert project_work_order(other_press, NOW, POLICY).rate.basis == "plan"


def test_the_words_for_each_risk():
    p = project_work_order(wo(), NOW, POLICY)  # done 11-26
    assert risk_text(forecast_line(line(date(2026, 11, 30)), [p], POLICY)) == "按期（余 4 天）"
    assert risk_text(forecast_line(line(date(2026, 11, 27)), [p], POLICY)) == "有风险（余 1 天）"
    assert risk_text(forecast_line(line(date(2026, 11, 26)), [p], POLICY)) == "有风险（交期当天完工）"
    late = forecast_line(line(date(2026, 11, 24)), [p], POLICY)
    assert risk_text(late) == "会逾期 2 天" and risk_text(late, date(2026, 11, 25)) == "已逾期 1 天"
    assert eta_text(late) == "预计 11-26 完工"
    stopped = project_work_order(wo(first_report_day=date(2026, 11, 20), window_good=0), NOW, POLICY)
    gone = forecast_line(line(date(2026, 11, 25)), [stopped], POLICY)
    assert (eta_text(gone), risk_text(gone)) == ("停机中，恢复后最早 11-26 完工", "至少会逾期 1 天")
    done = project_work_order(wo(status="done", finished_at=at(24, 16)), NOW, POLICY)
    assert eta_text(forecast_line(line(date(2026, 11, 30)), [done], POLICY)) == "已于 11-24 完工"


def test_slow_and_scrapping_work_orders_say_so():
    slow = wo(window_good=1800, window_defect=600)  # 50 an hour against 200 planned, 25% scrap
    p = project_work_order(slow, NOW, POLICY)
    assert reasons(p, forecast_line(line(date(2026, 11, 26)), [p], POLICY), NOW, POLICY) == [
        "速度慢：近 3 天日均 600 件，计划 2400 件/天", "不良率高：近 3 天 25%"]
    # Moulding done and the later steps still open: the press's speed is no longer the reason.
    moulded = project_work_order(replace(slow, moulded=5000), NOW, POLICY)
    assert reasons(moulded, forecast_line(line(date(2026, 11, 25)), [moulded], POLICY), NOW, POLICY) == [
        "注塑已完成，后工序未完成", "不良率高：近 3 天 25%"]


def test_an_order_ships_with_its_slowest_line_and_is_warned_by_its_worst():
    a = wo()  # finishes 11-26 17:00
    b = wo(id=2, code="WO2", line_id=2, moulded=1000)  # 4,000 left: 40 h → 11-28 19:00 + 4 h → 11-29 11:00
    lines = {1: line(date(2026, 11, 30)), 2: line(date(2026, 11, 30), entry_id=2, line_id=2)}
    [order] = forecast_orders(lines, [a, b], NOW, POLICY)
    assert order.ship_day == date(2026, 11, 29) and order.worst.line.entry_id == 2
    assert (order.risk, order.slack_days) == (Risk.AT_RISK, 1)
    assert warning_level(order, date(2026, 11, 25), POLICY) == Risk.AT_RISK  # due in 5 days: warn
    assert warning_level(order, date(2026, 11, 24), POLICY) is None  # 6 days out: 有风险 is not yet news
    lines[2] = line(date(2026, 11, 28), entry_id=2, line_id=2)
    [order] = forecast_orders(lines, [a, b], NOW, POLICY)
    assert warning_level(order, date(2026, 11, 10), POLICY) == Risk.LATE  # 会逾期 is always news


def test_the_quick_check_never_clears_what_the_projection_warns():
    rng = random.Random(3)
    projector = Projector(NOW, POLICY, History({("P01", "M-001"): 120.0}))
    for _ in range(2000):
        started = rng.random() < 0.7
        planned = rng.choice([1000, 2400, 6000, 12000])
        start = at(rng.randint(15, 30), 8)
        f = wo(status="in_progress" if started else "planned", planned_qty=planned,
               daily_plan_qty=rng.choice([1000, 2400, 6000]), planned_start=start,
               planned_finish=start.replace(day=min(start.day + rng.randint(1, 4), 30)),
               moulded=rng.randint(0, planned) if started else 0,
               first_report_day=date(2026, 11, rng.randint(18, 25)) if started else None,
               window_good=rng.choice([0, rng.randint(0, 8000)]), has_downstream=rng.random() < 0.8)
        due = date(2026, 11, rng.randint(24, 30))
        if projector.surely_on_time(f, due):
            ln = forecast_line(line(due), [projector.project(f)], POLICY)
            assert ln.risk == Risk.ON_TIME and ln.slack_days >= POLICY.at_risk_days, f


def test_a_plan_beyond_the_clock_s_years_walks_the_calendar_to_the_same_answer():
    # Planned (and never started) in 2023: outside the clock built around now, so the slow path answers.
    old = wo(status="planned", moulded=0, first_report_day=None, window_good=0, planned_qty=2400,
             planned_start=datetime(2023, 3, 1, 8, tzinfo=TZ), planned_finish=datetime(2023, 3, 2, 8, tzinfo=TZ))
    p = project_work_order(old, NOW, POLICY)
    assert p.begin == NOW and p.finish == at(26, 15) and p.finish_day == date(2026, 11, 26)
    assert p.moulding_end == at(26, 15)  # 2,400 at the planned 200 an hour: the plan's own 12 h


@pytest.mark.parametrize("days", [1, 3])
def test_the_rate_window_follows_the_setting(days):
    p = project_work_order(wo(first_report_day=date(2026, 11, 20), window_good=1200 * days),
                           NOW, replace(POLICY, rate_days=days))
    assert p.rate.days == days and p.rate.per_hour == 100
