"""The rules alone: plain facts in, findings out, at the edges of every threshold."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from alerts import rules
from alerts.policy import AlertPolicy

POLICY = AlertPolicy()
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 in the plant


def unstarted(minutes_late: float, reported: bool = False) -> rules.UnstartedWorkOrder:
    return rules.UnstartedWorkOrder("WO1", "SEORD1", "上盖", "注塑车间", "P01",
                                    NOW - timedelta(minutes=minutes_late), reported)


def test_late_start_waits_for_the_grace_period_and_ignores_started_orders():
    assert rules.late_starts([unstarted(30)], NOW, POLICY) == []
    [found] = rules.late_starts([unstarted(31)], NOW, POLICY)
    assert found.subject_key == "wo:WO1" and found.title == "WO1 超过计划开工时间 31 分钟 未开工"
    assert found.facts["计划开工"] == "11-25 10:29"
    assert rules.late_starts([unstarted(300, reported=True)], NOW, POLICY) == []


def day(planned: int, done: int) -> rules.WorkshopDay:
    return rules.WorkshopDay("注塑车间", date(2026, 11, 25), planned, done)


def test_plan_completion_is_judged_only_from_the_first_checkpoint_on():
    before = NOW - timedelta(minutes=1)  # 10:59
    assert rules.plan_behind([day(1200, 0)], before, POLICY) == ([], False)
    # By 11:00 a 08:00–20:00 shift should have made 3/12 of 1200 = 300; 70% of that is 210.
    found, verdict = rules.plan_behind([day(1200, 209)], NOW, POLICY)
    assert verdict and found[0].subject_key == "plan:注塑车间:2026-11-25"
    assert found[0].facts["应完成"] == "300 件" and found[0].facts["完成率"] == "70%"
    assert rules.plan_behind([day(1200, 210)], NOW, POLICY) == ([], True)
    assert rules.plan_behind([day(0, 0)], NOW, POLICY) == ([], True)


def quality(code: str, defect: int, good: int = 1000) -> rules.OrderQuality:
    return rules.OrderQuality("M-001", code, "注塑车间", good, defect)


def test_defect_streak_needs_the_last_two_orders_over_the_limit():
    over, under = 40, 10  # 3.8% and 1.0% of about 1000
    streak = rules.defect_streaks({"M-001": [quality("A", over), quality("B", over)]}, POLICY)
    assert [f.subject_key for f in streak] == ["defect:mould:M-001"]
    assert streak[0].facts["本单"] == "B 3.8%"
    assert rules.defect_streaks({"M-001": [quality("A", over)]}, POLICY) == []
    assert rules.defect_streaks({"M-001": [quality("A", over), quality("B", under), quality("C", over)]}, POLICY) == []
    at_limit = quality("B", 30, 970)  # exactly 3.0%: at the limit is not over it
    assert rules.defect_streaks({"M-001": [quality("A", over), at_limit]}, POLICY) == []
    # A work order with nothing reported yet does not break or make a streak.
    assert rules.defect_streaks({"M-001": [quality("A", over), quality("B", over), quality("C", 0, 0)]}, POLICY)


def test_a_repair_ticket_is_late_once_the_answer_time_has_passed_since_it_opened():
    ticket = rules.WaitingTicket(7, "P03", "注塑车间", "刘师傅", NOW - timedelta(minutes=2), NOW - timedelta(minutes=10))
    assert rules.repairs_unanswered([ticket], NOW, POLICY) == []
    [found] = rules.repairs_unanswered([ticket], NOW + timedelta(minutes=1), POLICY)
    assert found.subject_key == "repair:7" and found.facts["等待"] == "11 分钟"


def test_waiting_times_read_like_a_person_says_them():
    assert [rules.span(m) for m in (45, 60, 200, 1440, 4906)] == [
        "45 分钟", "1 小时", "3 小时 20 分钟", "1 天", "3 天 9 小时"]


def sync_run(ok: bool | None, failures: int = 1, job: str = "kis_pull", reason: str = "无法连接 KIS 数据库") -> rules.SyncRun:
    return rules.SyncRun(job, ok, NOW, reason, failures)


def test_a_kis_job_whose_last_run_failed_is_one_finding_until_a_run_succeeds():
    [found] = rules.kis_sync_failures([sync_run(False)], POLICY)
    assert (found.rule, found.subject_key, found.workshop) == ("kis_pull_failed", "kis:pull", None)
    assert found.title == "KIS 订单同步失败：无法连接 KIS 数据库"
    assert found.facts == {"任务": "订单同步", "原因": "无法连接 KIS 数据库", "连续失败": "1 次", "时间": "11-25 11:00"}
    # Failing again is the same subject (one open alert), with the count in its facts.
    [again] = rules.kis_sync_failures([sync_run(False, failures=3)], POLICY)
    assert again.subject_key == found.subject_key and again.facts["连续失败"] == "3 次"
    # A later successful run, or no run yet, is no finding: the engine clears the alert.
    assert rules.kis_sync_failures([sync_run(True, failures=0), sync_run(None, job="kis_push")], POLICY) == []
    [push] = rules.kis_sync_failures([sync_run(True), sync_run(False, job="kis_push", reason="")], POLICY)
    assert (push.rule, push.subject_key, push.title) == ("kis_push_failed", "kis:push", "KIS 完工回写失败：未说明原因")
    assert rules.kis_sync_failures([sync_run(False, job="someone_else")], POLICY) == []


def closed_on(*days: date, rest: frozenset[int] = frozenset()) -> AlertPolicy:
    cal = replace(POLICY.forecast.calendar, holidays=frozenset(days), rest_weekdays=rest)
    return replace(POLICY, forecast=replace(POLICY.forecast, calendar=cal))


def test_on_a_closed_day_no_checkpoint_passes_and_a_start_planned_then_is_late_only_once_a_shift_has_begun():
    sunday = closed_on(rest=frozenset({6}))
    # 2026-11-29 is a Sunday: its 15:00 checkpoint does not exist, so there is no verdict at all.
    assert rules.plant_closed(datetime(2026, 11, 29, 7, 0, tzinfo=UTC), sunday)
    assert rules.plan_behind([day(1200, 0)], datetime(2026, 11, 29, 7, 0, tzinfo=UTC), sunday) == ([], False)
    assert not rules.plant_closed(NOW, sunday)

    planned_sunday = rules.UnstartedWorkOrder("WO1", "SEORD1", "上盖", "注塑车间", "P01",
                                              datetime(2026, 11, 29, 2, 0, tzinfo=UTC), False)  # Sun 10:00
    monday_start = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Mon 08:00
    assert rules.late_clock_start(planned_sunday.planned_start, sunday) == monday_start
    assert rules.late_starts([planned_sunday], monday_start + timedelta(minutes=30), sunday) == []
    [late] = rules.late_starts([planned_sunday], monday_start + timedelta(minutes=31), sunday)
    assert late.title == "WO1 超过计划开工时间 22 小时 31 分钟 未开工"  # counted from the planned start
    # A holiday run (11-29..12-01 closed) pushes it to the first working shift after all of it.
    long = closed_on(date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1))
    assert rules.late_clock_start(planned_sunday.planned_start, long) == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    # A start planned on a working day is measured from itself, as before.
    assert rules.late_clock_start(NOW, sunday) == NOW
