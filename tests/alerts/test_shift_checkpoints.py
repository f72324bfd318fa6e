"""When a shift's plan is checked and how much of it is due: the configured checkpoints inside the shift,
else half-way and an hour before its end; working minutes only, so a break owes nothing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alerts import rules
from alerts.policy import AlertPolicy
from domain.calendar_book import CalendarBook
from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar, Shift, parse_shifts

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 25)
CLOCKS = (time(11, 0), time(15, 0), time(19, 0))  # ALERT_PLAN_CHECKPOINTS' default


def shifts(text: str) -> dict[str, Shift]:
    cal = PlantCalendar(CalendarSpec(patterns=(DayPattern("p", parse_shifts(text)),)), TZ)
    return {s.name: s for s in cal.shifts(DAY)}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def test_the_configured_checkpoints_inside_a_shift_else_half_way_and_an_hour_before_its_end():
    two = shifts("白班=08:00-20:00,夜班=20:00-08:00")
    assert rules.shift_checkpoints(two["白班"], CLOCKS) == (at(25, 11), at(25, 15), at(25, 19))
    assert rules.shift_checkpoints(two["夜班"], CLOCKS) == (at(26, 2), at(26, 7))
    three = shifts("早班=06:00-14:00,中班=14:00-22:00,晚班=22:00-06:00")
    assert rules.shift_checkpoints(three["早班"], CLOCKS) == (at(25, 11),)
    assert rules.shift_checkpoints(three["中班"], CLOCKS) == (at(25, 15), at(25, 19))
    assert rules.shift_checkpoints(three["晚班"], CLOCKS) == (at(26, 2), at(26, 5))
    # A checkpoint after midnight belongs to the night shift it falls in.
    assert rules.shift_checkpoints(two["夜班"], (time(3, 0),)) == (at(26, 3),)
    assert rules.shift_checkpoint(two["夜班"], at(26, 1, 59), CLOCKS) is None
    assert rules.shift_checkpoint(two["夜班"], at(26, 7, 30), CLOCKS) == at(26, 7)


def test_the_share_due_counts_working_minutes_so_a_break_owes_nothing():
    night = shifts("白班=08:00-20:00,夜班=20:00-08:00/00:00-01:00")["夜班"]  # 660 working minutes
    assert rules.shift_share_by(night, at(26, 0)) == 240 / 660
    assert rules.shift_share_by(night, at(26, 1)) == 240 / 660  # the break: nothing more due
    assert rules.shift_share_by(night, at(26, 2)) == 300 / 660
    policy = AlertPolicy()
    item = rules.WorkshopShift("注塑车间", night, planned=660, done=200)
    [found] = rules.shift_plan_behind([item], at(26, 2) + timedelta(minutes=1), policy)  # 300 due, 200 made
    assert found.subject_key == "plan:注塑车间:2026-11-25:夜班"
    assert found.title == "注塑车间 夜班计划完成率 67%（低于 70%）" and found.facts["应完成"] == "300 件"
    assert rules.shift_plan_behind([item], at(26, 1, 59), policy) == []  # before the first checkpoint


def test_a_one_shift_plant_s_plan_line_follows_the_calendar_not_the_settings_hours():
    # The administrator stored 06:00-18:00 (`factorybot calendar set`); SHIFT_HOURS still says 08:00-20:00.
    # At 12:00 half the shift has passed, so half the day's plan is due.
    stored = CalendarBook(PlantCalendar.single_shift(ZoneInfo("Asia/Shanghai"), time(6, 0), time(18, 0)))
    policy = AlertPolicy(book=stored, shift_start=time(8, 0), shift_end=time(20, 0))
    assert rules.expected_by(time(12, 0), 1200, policy, date(2026, 11, 25)) == 600
