"""The shift calendar: hours add up across nights, rest days and holidays, by hand."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from factorybot.config import ConfigError, Settings
from factorybot.runtime import build_forecast_policy
from forecast.calendar import CalendarError, ShiftCalendar, parse_holidays, parse_rest_days

TZ = ZoneInfo("Asia/Shanghai")
EVERY_DAY = ShiftCalendar(tz=TZ)  # 08:00-20:00, no rest day: the demo plant
# 2026-11-28 is a Saturday, 11-29 a Sunday, 11-30 a Monday.
SUNDAYS_OFF = ShiftCalendar(tz=TZ, rest_weekdays=frozenset({6}))
SUNDAYS_AND_MONDAY_HOLIDAY = ShiftCalendar(tz=TZ, rest_weekdays=frozenset({6}), holidays=frozenset({date(2026, 11, 30)}))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def test_hours_run_to_the_end_of_the_shift_then_on_the_next_morning():
    assert EVERY_DAY.add_work_hours(at(25, 15), 3) == at(25, 18)
    assert EVERY_DAY.add_work_hours(at(25, 15), 5) == at(25, 20)  # the shift's end, not 08:00 tomorrow
    assert EVERY_DAY.add_work_hours(at(25, 15), 6) == at(26, 9)
    assert EVERY_DAY.add_work_hours(at(25, 21), 1) == at(26, 9)  # after hours: starts with the next shift
    assert EVERY_DAY.add_work_hours(at(25, 6), 1) == at(25, 9)  # before the shift: starts at 08:00
    assert EVERY_DAY.add_work_hours(at(25, 15), 29) == at(27, 20)


def test_rest_days_and_holidays_are_skipped():
    # Saturday 18:00 + 10 h: 2 h on Saturday, none on Sunday, 8 h on Monday.
    assert SUNDAYS_OFF.add_work_hours(at(28, 18), 10) == at(30, 16)
    assert SUNDAYS_AND_MONDAY_HOLIDAY.add_work_hours(at(28, 18), 10) == at(1, 16, month=12)
    assert SUNDAYS_OFF.work_hours(at(28, 8), at(30, 20)) == 24
    assert SUNDAYS_OFF.last_work_days(date(2026, 11, 29), 3) == [date(2026, 11, 26), date(2026, 11, 27),
                                                                 date(2026, 11, 28)]


def test_a_finish_at_or_before_the_morning_shift_belongs_to_the_working_day_before():
    assert EVERY_DAY.finish_day(at(26, 8)) == date(2026, 11, 25)
    assert EVERY_DAY.finish_day(at(26, 8, 1)) == date(2026, 11, 26)
    assert SUNDAYS_OFF.finish_day(at(30, 8)) == date(2026, 11, 28)  # Monday 08:00: done on Saturday
    assert EVERY_DAY.last_full_day(at(25, 19, 59)) == date(2026, 11, 24)
    assert EVERY_DAY.last_full_day(at(25, 20)) == date(2026, 11, 25)


@pytest.mark.parametrize("cal", [EVERY_DAY, SUNDAYS_OFF, SUNDAYS_AND_MONDAY_HOLIDAY])
def test_the_clock_agrees_with_walking_the_calendar(cal):
    rng = random.Random(7)
    clock = cal.clock(at(25, 12))
    for _ in range(500):
        start = at(20, 0) + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
        hours = rng.choice([rng.uniform(0.1, 200), rng.randint(1, 30) * 12.0])
        walked = cal.add_work_hours(start, hours)
        moment = clock.moment(clock.position(start) + hours)
        assert moment == walked, (start, hours)
        assert clock.finish_day(clock.position(start) + hours) == cal.finish_day(walked)
        end = start + timedelta(hours=rng.uniform(0, 500))
        assert clock.position(end) - clock.position(start) == pytest.approx(cal.work_hours(start, end))


def test_settings_are_parsed_or_refused_by_name():
    assert parse_rest_days("sat, 周日") == frozenset({5, 6})
    assert parse_holidays("2027-02-05..2027-02-07，2027-05-01") == {
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 5, 1)}
    with pytest.raises(CalendarError, match="REST_DAYS: 不认识的星期 'sunday'"):
        parse_rest_days("sunday")
    with pytest.raises(CalendarError, match="至少要有一天工作日"):
        parse_rest_days("mon,tue,wed,thu,fri,sat,sun")
    with pytest.raises(CalendarError, match="HOLIDAYS: '2027-02-30'"):
        parse_holidays("2027-02-30")
    # The forecast's string parser is gone: SHIFT_HOURS is parsed once, with the settings.
    with pytest.raises(ConfigError, match="SHIFT_HOURS"):
        Settings(shift_hours="20:00-08:00")
    policy = build_forecast_policy(Settings(shift_hours="07:30-19:30", rest_days="sun", holidays=""))
    assert policy.calendar.shift_start == time(7, 30) and policy.calendar.rest_weekdays == {6}
