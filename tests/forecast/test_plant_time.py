"""The forecast counts the plant calendar's working time: a 24-hour plant finishes sooner than a one-shift
plant, a night shift's report counts on its production day, a make-up Saturday is worked, breaks are not."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.plant_calendar import CalendarSpec, DayPattern, PatternRange, PlantCalendar, parse_shifts
from domain.services.calendar_store import save_calendar
from domain.services.reporting import report_work
from forecast.calendar import ShiftCalendar
from forecast.policy import ForecastPolicy
from forecast.projection import History, LineFacts, WorkOrderFacts, forecast_line, project_work_order
from forecast.text import eta_text
from tests.bot.conftest import uow_for
from tests.factories import add_order

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # Wednesday; production days 22, 23, 24 are full
TWO_SHIFTS = "白班=08:00-20:00,夜班=20:00-08:00"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def plant(shifts: str, *, rest: frozenset[int] = frozenset(), workdays: frozenset[date] = frozenset(),
          ranges: tuple[PatternRange, ...] = (), extra: tuple[DayPattern, ...] = ()) -> PlantCalendar:
    return PlantCalendar(CalendarSpec(patterns=(DayPattern("默认", parse_shifts(shifts)), *extra), ranges=ranges,
                                      rest_weekdays=rest, workdays=workdays), TZ)


def store_calendar(live, calendar: PlantCalendar) -> None:
    """As `factorybot calendar set` does: stored, then taken up by the running bot's calendar book."""
    with uow_for(live) as uow:
        save_calendar(uow, calendar, by="admin", now=NOW)
        uow.commit()
    live.app.extensions["bot"].runtime.calendar.refresh()


def report(live, code: str, good: int, moment: datetime, key: str) -> None:
    deps = live.app.extensions["bot"]
    with uow_for(live) as uow:
        report_work(uow, deps.core.policy, work_order_code=code, userid="w1", good_qty=good, defect_qty=0,
                    source_key=key, now=moment.astimezone(UTC))
        uow.commit()


def order(live, bill_no: str, code: str, qty: int, due: date, daily: int) -> None:
    live.app.extensions["bot"].core.clock = lambda: NOW.astimezone(UTC)
    with uow_for(live) as uow:
        wo = add_order(uow, bill_no=bill_no, qty=qty, wo_code=code, due=due)
        wo.daily_plan_qty, wo.planned_start, wo.planned_finish = daily, at(22, 8), at(27, 8)
        uow.commit()


@pytest.mark.parametrize(("shifts", "finish"), [
    # 5,200 left at 100 an hour: 52 h of day shifts, 25 10:00 → 29 14:00, and 4 h of finishing.
    (None, "预计完工：2026-11-29 · 按期（余 6 天）"),
    # Day and night: 1,600 left, 16 h, 25 10:00 → 26 02:00, finishing to 06:00: the night shift of the 25th.
    (TWO_SHIFTS, "预计完工：2026-11-25 · 按期（余 10 天）"),
])
def test_the_same_work_order_at_the_same_speed_finishes_sooner_on_a_24_hour_plant(live, shifts, finish):
    if shifts is not None:
        store_calendar(live, plant(shifts))
    order(live, "SEORD000301", "WO20261122-31", 8800, date(2026, 12, 5), 2400)
    for day in (22, 23, 24):  # 1,200 a shift: 100 pieces each working hour
        report(live, "WO20261122-31", 1200, at(day, 15), f"day-{day}")
        if shifts is not None:
            report(live, "WO20261122-31", 1200, at(day + 1, 3), f"night-{day}")  # its night shift, after midnight
    assert f"\n{finish}\n" in live.say("w1", "SEORD000301")


def test_a_night_shift_report_counts_in_the_rate_window_of_its_production_day(live):
    store_calendar(live, plant(TWO_SHIFTS))
    order(live, "SEORD000302", "WO20261122-32", 6000, date(2026, 11, 28), 2000)
    # Only the night shifts made it, 500 each, reported at 01:30: the nights of production days 22, 23, 24.
    for day in (23, 24, 25):
        report(live, "WO20261122-32", 500, at(day, 1, 30), f"night-{day}")
    # Three full production days of its own (the first report's day is 11-22, not the calendar date 11-23):
    # 1,500 over 72 working hours, 500 a day; 4,500 left at 20.8 an hour is 216 h: 12-04 10:00, finishing 14:00.
    assert live.say("sup", "风险订单") == (
        "注塑车间风险订单 1 单（会逾期 1 单），按实际生产速度预测：\n"
        "· SEORD000302 美的集团 预计 12-04 完工（交期 11-28）会逾期 6 天：速度慢：近 3 天日均 500 件，计划 2000 件/天\n"
        "发送订单号可查看详情。")


def wo(**kw: object) -> WorkOrderFacts:
    base = dict(id=1, code="WO1", line_id=1, status="in_progress", planned_qty=5000, daily_plan_qty=1100,
                planned_start=at(22, 8), planned_finish=at(24, 8), machine="P01", mould="M-001", product_id=1,
                workshop="注塑车间", moulded=2000, first_report_day=date(2026, 11, 24), window_good=3300)
    return WorkOrderFacts(**{**base, **kw})  # type: ignore[arg-type]


def eta(f: WorkOrderFacts, now: datetime, calendar: PlantCalendar) -> str:
    policy = ForecastPolicy(calendar=ShiftCalendar.of(calendar))
    line = LineFacts(1, 7, "SEORD000007", "美的集团", 1, "电饭煲上盖", 5000, date(2026, 12, 20))
    return eta_text(forecast_line(line, [project_work_order(f, now, policy)], policy))


def test_a_make_up_saturday_is_working_time():
    # Weekends off, but Saturday 11-28 is a make-up working day (调休上班). Friday 11-27 10:00, 100 an hour
    # (3,300 over Tue-Thu, 11 h each: 08:00-19:00): 1,500 left is 9 h on Friday and 6 h more.
    weekends = frozenset({5, 6})
    friday = at(27, 10)
    f = wo(first_report_day=date(2026, 11, 24), moulded=3500, has_downstream=False, daily_plan_qty=1100)
    make_up = plant("08:00-19:00", rest=weekends, workdays=frozenset({date(2026, 11, 28)}))
    assert eta(f, friday, make_up) == "预计 11-28 完工"  # Saturday 14:00
    assert eta(f, friday, plant("08:00-19:00", rest=weekends)) == "预计 11-30 完工"  # else Monday 14:00
    # And the Saturday counts in the rate window: on Monday the window is Thu, Fri, Sat.
    monday = at(30, 9)
    assert ShiftCalendar.of(make_up).last_work_days(ShiftCalendar.of(make_up).last_full_day(monday), 3) == [
        date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)]


def test_breaks_are_not_working_time():
    # 08:00-20:00 with a lunch 12:00-13:00 and a supper 17:00-17:30: 10.5 working hours a day.
    meals = plant("白班=08:00-20:00/12:00-13:00/17:00-17:30")
    policy = ForecastPolicy(calendar=ShiftCalendar.of(meals))
    assert policy.calendar.hours_per_day == 10.5 and policy.calendar.work_hours(at(25, 8), at(26, 8)) == 10.5
    # Its own three days 22-24: 3,150 good over 31.5 working hours is 100 an hour (not 3,150 over 36 h).
    f = wo(first_report_day=date(2026, 11, 22), window_good=3150, moulded=3950, has_downstream=False)
    p = project_work_order(f, at(25, 8), policy)
    assert (p.rate.per_hour, p.rate.days) == (100, 3)
    # Started this shift, at the 100 an hour its press made with the mould: 350 left at 16:30 is 3.5 h, of
    # which supper takes none: 16:30-17:00, 17:30-20:00, and 08:00-08:30 the next morning.
    fresh = wo(first_report_day=date(2026, 11, 25), window_good=0, moulded=4650, has_downstream=False)
    history = History(machine_mould={("P01", "M-001"): 100.0})
    p = project_work_order(fresh, at(25, 16, 30), policy, history)
    assert p.rate.basis == "machine_mould" and p.finish == at(26, 8, 30)
    line = LineFacts(1, 7, "SEORD000007", "美的集团", 1, "电饭煲上盖", 5000, date(2026, 12, 20))
    assert eta_text(forecast_line(line, [p], policy)) == "预计 11-26 完工"


CALENDARS = {
    "one shift, Sundays off": plant("08:00-20:00", rest=frozenset({6})),
    "2x12": plant(TWO_SHIFTS),
    "three shifts with breaks, a make-up Sunday and a slow season": plant(
        "早班=06:00-14:00/10:00-10:30,中班=14:00-22:00/18:00-18:30,夜班=22:00-06:00/02:00-02:30",
        rest=frozenset({6}), workdays=frozenset({date(2026, 11, 29)}),
        ranges=(PatternRange(date(2026, 12, 10), date(2026, 12, 20), "单班"),),
        extra=(DayPattern("单班", parse_shifts("白班=06:00-14:00")),)),
}


@pytest.mark.parametrize("name", CALENDARS)
def test_the_clock_agrees_with_walking_the_plant_calendar(name):
    cal = ShiftCalendar.of(CALENDARS[name])
    rng = random.Random(11)
    clock = cal.clock(NOW)
    for _ in range(300):
        start = at(20, 0) + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
        hours = rng.choice([rng.uniform(0.1, 200), rng.randint(1, 30) * 8.0])
        walked = cal.add_work_hours(start, hours)
        position = clock.position(start)
        assert position is not None
        # Hours as floats some thousands from the origin: the same moment to a microsecond.
        moment = clock.moment(position + hours)
        assert moment is not None and abs(moment - walked) <= timedelta(microseconds=1), (start, hours)
        assert clock.finish_day(position + hours) == cal.finish_day(walked)
        end = start + timedelta(hours=rng.uniform(0, 500))
        assert clock.position(end) - position == pytest.approx(cal.work_hours(start, end))  # type: ignore[operator]


def test_production_days_not_calendar_dates():
    cal = ShiftCalendar.of(plant(TWO_SHIFTS))
    assert cal.hours_per_day == 24 and cal.shift(date(2026, 11, 25)) == (at(25, 8), at(26, 8))
    assert cal.last_full_day(at(26, 7, 59)) == date(2026, 11, 24)  # the night shift of the 25th still runs
    assert cal.last_full_day(at(26, 8)) == date(2026, 11, 25)
    assert cal.finish_day(at(26, 3)) == date(2026, 11, 25) and cal.finish_day(at(26, 8)) == date(2026, 11, 25)
    assert cal.end_of(date(2026, 11, 25)) == at(26, 8)
    assert cal.add_work_hours(at(25, 19), 2) == at(25, 21)  # straight into the night shift
    assert cal.shift_start == time(8, 0)
