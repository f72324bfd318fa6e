"""The advice on a warning card, by hand: the press that has run the mould and is free before the due date,
or the overtime that closes the gap on the current press."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from forecast.calendar import ShiftCalendar
from forecast.policy import ForecastPolicy
from forecast.projection import WorkOrderFacts, project_work_order
from forecast.suggest import free_after, move_to_press, overtime, press_busy, suggest

TZ = ZoneInfo("Asia/Shanghai")
POLICY = ForecastPolicy(calendar=ShiftCalendar(tz=TZ))  # 08:00-20:00, 2 h changeover, 4 h finishing
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=TZ)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


def running(**kw: object) -> WorkOrderFacts:
    base = dict(id=1, code="WO1", line_id=1, status="in_progress", planned_qty=5000, daily_plan_qty=2400,
                planned_start=at(22, 8), planned_finish=at(24, 8), machine="P01", mould="M-001", product_id=1,
                workshop="注塑车间", moulded=3000, first_report_day=date(2026, 11, 22), window_good=3600)
    return WorkOrderFacts(**{**base, **kw})  # type: ignore[arg-type]


def test_free_time_on_a_press_skips_what_it_is_busy_with():
    busy = [(at(25, 10), at(26, 12))]
    # 09:00-10:00 free, busy until tomorrow noon, then 12:00-16:00.
    assert free_after(POLICY.calendar, busy, at(25, 9), 5, at(27, 20)) == (at(25, 9), at(26, 16))
    assert free_after(POLICY.calendar, busy, at(25, 9), 5, at(26, 15)) is None
    assert free_after(POLICY.calendar, [(at(25, 8), at(25, 20))], at(25, 9), 2, at(27, 20)) == (at(26, 8), at(26, 10))


def test_the_mould_moves_to_the_press_that_finishes_it_first_before_the_due_date():
    wo = project_work_order(running(), NOW, POLICY)  # 2,000 left; at the planned 200 an hour: 10 h + 2 h set-up
    busy = {"P02": [(NOW, at(27, 20))], "P03": [(at(25, 16), at(26, 8))]}
    advice = move_to_press(wo, date(2026, 11, 27), NOW, POLICY, ["P01", "P02", "P03", "P04"], busy)
    # P03: 15:00-16:00 today, then from 11-26 08:00: 11 h more → 19:00, finishing → 11-27 11:00. P04 is idle:
    # 12 h from now → 11-26 15:00, finishing → 19:00: earlier, so P04.
    assert advice is not None and (advice.machine, advice.ready) == ("P04", at(26, 19))
    assert advice.text == "模具 M-001 转 P04：11-25 起有空，可于 11-26 完工"
    assert move_to_press(wo, date(2026, 11, 25), NOW, POLICY, ["P04"], busy) is None  # nothing finishes today


def test_overtime_closes_the_gap_or_says_it_cannot():
    wo = project_work_order(running(window_good=3600), NOW, POLICY)  # 100 an hour: 20 h + 4 h finishing
    # Due 11-26: 5 h today and 12 h tomorrow are left, 7 h short over two working days.
    assert overtime(wo, date(2026, 11, 26), NOW, POLICY).text == "加班约 7 小时可赶上（2 个工作日，每天约 3.5 小时）"
    # Due today: 19 h short in one day, 15 more than four hours of overtime can make.
    assert overtime(wo, date(2026, 11, 25), NOW, POLICY).text == "每天加班 4 小时仍差约 15 小时，需转机或分批出货"
    # Due 11-30: 65 h of shifts left, 24 needed; stopped, the planned 200 an hour would need 14.
    assert overtime(wo, date(2026, 11, 30), NOW, POLICY).text == "按当前速度交期前约余 41 小时，请保持进度"
    stopped = project_work_order(running(first_report_day=date(2026, 11, 20), window_good=0), NOW, POLICY)
    assert overtime(stopped, date(2026, 11, 30), NOW, POLICY).text == "恢复生产后按计划速度交期前约余 51 小时，请尽快恢复生产"
    # No press to move to: the overtime it is.
    assert suggest(wo, date(2026, 11, 26), NOW, POLICY, [], {}).overtime_hours == 7


def test_presses_are_busy_until_their_moulding_ends_and_stopped_work_holds_none():
    a = project_work_order(running(), NOW, POLICY)
    b = project_work_order(running(id=2, machine="P02", first_report_day=date(2026, 11, 20), window_good=0), NOW,
                           POLICY)
    # 2,000 at 100 an hour: 5 h today, 12 h tomorrow, 3 h the day after.
    assert press_busy([a, b]) == {"P01": [(NOW, at(27, 11))]}
