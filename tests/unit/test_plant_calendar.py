"""The plant calendar: shifts across midnight, production days, breaks, make-up days, crews and rotation."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ConfigError
from domain.plant_calendar import (
    CalendarSpec,
    Crew,
    DayPattern,
    PatternRange,
    PlantCalendar,
    parse_rotation,
    parse_shifts,
    plan_share,
)

TZ = ZoneInfo("Asia/Shanghai")
SAT, SUN = 5, 6


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def calendar(shifts: str, **spec: object) -> PlantCalendar:
    return PlantCalendar(CalendarSpec(patterns=(DayPattern("默认", parse_shifts(shifts)),), **spec), TZ)  # type: ignore[arg-type]


TWO_SHIFTS = "白班=08:00-20:00,夜班=20:00-08:00"
# 四班两倒: each crew works two day shifts, two night shifts, then has four days off.
FOUR_CREWS = tuple(Crew(name, f"{name}-lead", (f"{name}-1", f"{name}-2")) for name in ("甲班", "乙班", "丙班", "丁班"))
FOUR_CREW_ROTATION = "2026-12-01:甲班/丁班,甲班/丁班,乙班/甲班,乙班/甲班,丙班/乙班,丙班/乙班,丁班/丙班,丁班/丙班"


# --- production day and shift of a moment -------------------------------------------------------------


@pytest.mark.parametrize("hh,mm", [(1, 30), (7, 59)])
def test_a_night_report_belongs_to_the_night_shift_of_the_previous_production_day(hh: int, mm: int) -> None:
    cal = calendar(TWO_SHIFTS)
    moment = at(2026, 12, 3, hh, mm)
    assert cal.production_day(moment) == date(2026, 12, 2)
    shift = cal.shift_of(moment)
    assert (shift.day, shift.name, shift.key) == (date(2026, 12, 2), "夜班", "2026-12-02/夜班")
    assert cal.shift_at(moment) == shift
    assert shift.start == at(2026, 12, 2, 20) and shift.end == at(2026, 12, 3, 8)


def test_the_day_shift_starts_the_production_day_at_eight() -> None:
    cal = calendar(TWO_SHIFTS)
    assert cal.day_start == time(8, 0)
    assert cal.shift_of(at(2026, 12, 3, 8)).key == "2026-12-03/白班"
    assert cal.shift_of(at(2026, 12, 3, 19, 59)).key == "2026-12-03/白班"
    assert cal.shift_of(at(2026, 12, 3, 20)).key == "2026-12-03/夜班"
    assert cal.day_window(date(2026, 12, 3)) == (at(2026, 12, 3, 8), at(2026, 12, 4, 8))


def test_a_night_shift_across_midnight_at_the_year_end_is_the_old_years_night() -> None:
    cal = calendar(TWO_SHIFTS)
    night = cal.shift_of(at(2027, 1, 1, 3))
    assert night.key == "2026-12-31/夜班"
    assert (night.start, night.end) == (at(2026, 12, 31, 20), at(2027, 1, 1, 8))
    assert cal.shift_of(at(2027, 1, 1, 8)).key == "2027-01-01/白班"
    # 18:00 → 10:00: two hours of day shift, the whole night, two hours of the new year's day shift.
    assert cal.working_minutes(at(2026, 12, 31, 18), at(2027, 1, 1, 10)) == 16 * 60
    assert cal.working_minutes(at(2026, 12, 31, 23), at(2027, 1, 1, 1)) == 120
    assert cal.shift_of(at(2026, 12, 1, 2)).key == "2026-11-30/夜班"  # a month end too


def test_three_shifts_of_eight_hours() -> None:
    cal = calendar("早班=06:00-14:00,中班=14:00-22:00,夜班=22:00-06:00")
    assert cal.day_start == time(6, 0)
    assert [s.hours_text for s in cal.shifts(date(2026, 12, 2))] == ["06:00-14:00", "14:00-22:00", "22:00-06:00"]
    assert cal.shift_of(at(2026, 12, 2, 6)).key == "2026-12-02/早班"
    assert cal.shift_of(at(2026, 12, 2, 13, 59)).key == "2026-12-02/早班"
    assert cal.shift_of(at(2026, 12, 2, 14)).key == "2026-12-02/中班"
    assert cal.shift_of(at(2026, 12, 2, 23)).key == "2026-12-02/夜班"
    assert cal.shift_of(at(2026, 12, 3, 5, 59)).key == "2026-12-02/夜班"
    assert cal.day_minutes(date(2026, 12, 2)) == 24 * 60
    assert cal.next_shift(at(2026, 12, 2, 23)).key == "2026-12-03/早班"  # type: ignore[union-attr]
    assert cal.previous_shift(at(2026, 12, 2, 23)).key == "2026-12-02/中班"  # type: ignore[union-attr]


def test_a_one_shift_plant_keeps_the_calendar_date() -> None:
    cal = PlantCalendar.single_shift(TZ, time(8), time(20))
    assert cal.day_start == time(0, 0) and not cal.multi_shift
    for hh in (0, 1, 7, 12, 23):
        assert cal.production_day(at(2026, 12, 3, hh)) == date(2026, 12, 3)
    # Before the shift: counted in the day's shift (as before), but nobody is on duty.
    early = cal.shift_of(at(2026, 12, 3, 6))
    assert early.key == "2026-12-03/白班" and cal.shift_at(at(2026, 12, 3, 6)) is None
    # After it (overtime) still the day's shift.
    assert cal.shift_of(at(2026, 12, 3, 22)).key == "2026-12-03/白班"
    assert cal.day_minutes(date(2026, 12, 3)) == 12 * 60
    assert "生产日" not in cal.describe()


# --- working time ---------------------------------------------------------------------------------------


def test_breaks_are_not_working_time() -> None:
    cal = calendar("白班=08:00-20:00/12:00-13:00,夜班=20:00-08:00/00:00-00:30")
    day = date(2026, 12, 2)
    day_shift, night = cal.shifts(day)
    assert day_shift.minutes == 11 * 60 and night.minutes == 11.5 * 60
    assert night.breaks == ((at(2026, 12, 3, 0), at(2026, 12, 3, 0, 30)),)
    assert cal.day_minutes(day) == 22.5 * 60
    assert cal.working_minutes(at(2026, 12, 2, 11), at(2026, 12, 2, 14)) == 120
    assert cal.working_minutes(at(2026, 12, 2, 23), at(2026, 12, 3, 1)) == 90
    # 30 minutes from 11:50: 10 before lunch, 20 after it.
    assert cal.add_working_minutes(at(2026, 12, 2, 11, 50), 30) == at(2026, 12, 2, 13, 20)
    assert plan_share(cal, day_shift) == pytest.approx(11 / 22.5)


def test_add_working_minutes_skips_a_rest_day_and_ends_at_a_shift_end() -> None:
    cal = calendar("白班=08:00-17:00", rest_weekdays=frozenset({SAT, SUN}))
    friday = at(2026, 12, 4, 16)
    assert cal.add_working_minutes(friday, 60) == at(2026, 12, 4, 17)
    assert cal.add_working_minutes(friday, 61) == at(2026, 12, 7, 8, 1)
    assert cal.working_minutes(friday, at(2026, 12, 7, 9)) == 120


# --- dates ----------------------------------------------------------------------------------------------


def test_a_make_up_saturday_is_worked_and_a_weekday_holiday_is_not() -> None:
    cal = calendar(TWO_SHIFTS, rest_weekdays=frozenset({SAT, SUN}), holidays=frozenset({date(2026, 10, 1)}),
                   workdays=frozenset({date(2026, 10, 10)}))
    assert date(2026, 10, 10).weekday() == SAT and date(2026, 10, 1).weekday() == 3
    assert cal.is_work_day(date(2026, 10, 10)) and not cal.is_work_day(date(2026, 10, 17))
    assert not cal.is_work_day(date(2026, 10, 1)) and cal.is_work_day(date(2026, 9, 30))
    assert cal.day_minutes(date(2026, 10, 10)) == 24 * 60 and cal.day_minutes(date(2026, 10, 1)) == 0
    # The make-up Saturday's night shift is on duty at 02:00 on Sunday; the holiday's night is not.
    assert cal.shift_at(at(2026, 10, 11, 2)).key == "2026-10-10/夜班"  # type: ignore[union-attr]
    assert cal.shift_at(at(2026, 10, 2, 2)) is None
    # A report on the holiday still has a shift to count in (overtime), marked not working.
    holiday_night = cal.shift_of(at(2026, 10, 2, 2))
    assert holiday_night.key == "2026-10-01/夜班" and not holiday_night.working
    assert cal.next_shift(at(2026, 9, 30, 21)).key == "2026-10-02/白班"  # type: ignore[union-attr]


def test_another_pattern_runs_on_its_dates() -> None:
    spec = CalendarSpec(patterns=(DayPattern("两班", parse_shifts(TWO_SHIFTS)),
                                  DayPattern("单班", parse_shifts("白班=08:00-17:00/12:00-13:00"))),
                        ranges=(PatternRange(date(2027, 1, 10), date(2027, 1, 20), "单班"),))
    cal = PlantCalendar(spec, TZ)
    assert [s.name for s in cal.shifts(date(2027, 1, 15))] == ["白班"]
    assert cal.day_minutes(date(2027, 1, 15)) == 8 * 60
    assert cal.day_minutes(date(2027, 1, 21)) == 24 * 60
    assert PlantCalendar(CalendarSpec.from_json(spec.to_json()), TZ).spec == spec


# --- crews and rotation ---------------------------------------------------------------------------------


def test_four_crews_two_shifts_rotate_over_eight_days() -> None:
    cal = calendar(TWO_SHIFTS, crews=FOUR_CREWS, rotation=parse_rotation(FOUR_CREW_ROTATION))
    first = date(2026, 12, 1)
    expected = [("甲班", "丁班"), ("甲班", "丁班"), ("乙班", "甲班"), ("乙班", "甲班"),
                ("丙班", "乙班"), ("丙班", "乙班"), ("丁班", "丙班"), ("丁班", "丙班")]
    worked: dict[str, list[str]] = {c.name: [] for c in FOUR_CREWS}
    for n in range(16):  # two cycles: the ninth day is the first again
        day = first + timedelta(days=n)
        day_shift, night = cal.shifts(day)
        assert (day_shift.crew, night.crew) == expected[n % 8], day
        # Asked by the clock: at noon the day crew, at 02:00 the next morning still the night crew.
        assert cal.crew_on(datetime.combine(day, time(12), TZ)).name == expected[n % 8][0]  # type: ignore[union-attr]
        assert cal.crew_on(datetime.combine(day + timedelta(days=1), time(2), TZ)).name == expected[n % 8][1]  # type: ignore[union-attr]
        if n < 8:
            worked[day_shift.crew].append(f"D{n}")  # type: ignore[index]
            worked[night.crew].append(f"N{n}")  # type: ignore[index]
    # Every crew: two days, two nights, four days off in each cycle.
    assert worked == {"甲班": ["D0", "D1", "N2", "N3"], "乙班": ["D2", "D3", "N4", "N5"],
                      "丙班": ["D4", "D5", "N6", "N7"], "丁班": ["N0", "N1", "D6", "D7"]}
    # Before the anchor the cycle runs backwards.
    assert [s.crew for s in cal.shifts(first - timedelta(days=1))] == ["丁班", "丙班"]
    assert cal.crew_of("乙班-lead").name == "乙班"  # type: ignore[union-attr]
    assert cal.on_duty("丁班-1", at(2026, 12, 2, 3)) and not cal.on_duty("甲班-1", at(2026, 12, 2, 3))
    assert cal.on_duty("wangwu", at(2026, 12, 2, 3))  # in no crew: day staff is always reachable


def test_two_crews_alternate_on_a_two_shift_rotation() -> None:
    crews = (Crew("甲班", "ld01", ("w01",)), Crew("乙班", "ld02", ("w02",)))
    cal = calendar(TWO_SHIFTS, crews=crews, rotation=parse_rotation("2026-12-01:甲班/乙班,乙班/甲班"))
    assert [s.crew for s in cal.shifts(date(2026, 12, 3))] == ["甲班", "乙班"]
    assert [s.crew for s in cal.shifts(date(2026, 12, 4))] == ["乙班", "甲班"]
    assert cal.crew("甲班").people == ("ld01", "w01")  # type: ignore[union-attr]


# --- refusals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shifts,message", [
    ("白班=08:00-20:00,夜班=19:00-07:00", "夜班 在上一班结束前就开始了"),
    ("早班=08:00-17:00,中班=16:00-23:00", "中班 在上一班结束前就开始了"),
    ("白班=08:00-20:00/21:00-21:30", "休息 21:00-21:30 不在 白班 之内"),
    ("白班=08:00-20:00/07:30-08:30", "休息 07:30-08:30 不在 白班 之内"),
    ("夜班=20:00-08:00/08:00-08:30", "休息 08:00-08:30 不在 夜班 之内"),
])
def test_bad_shifts_are_refused(shifts: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        calendar(shifts)


@pytest.mark.parametrize("text,message", [
    ("白班=08:00-20:00,白班=20:00-08:00", "两个班次同名"),
    ("白班=8点-20:00", "is not HH:MM"),
    ("白班=08:00-08:00", "的开始和结束都是 08:00"),
    ("", "没有给出班次"),
])
def test_bad_shift_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_shifts(text)


def test_a_rotation_naming_an_unknown_crew_is_refused() -> None:
    with pytest.raises(ConfigError, match="未定义的班组：戊班"):
        calendar(TWO_SHIFTS, crews=FOUR_CREWS, rotation=parse_rotation("2026-12-01:甲班/戊班,乙班/丙班"))
    with pytest.raises(ConfigError, match="轮班周期的第一天"):
        parse_rotation("甲班/乙班,乙班/甲班")


def test_a_rotation_naming_more_crews_than_shifts_is_refused() -> None:
    with pytest.raises(ConfigError, match="轮班第 2 天排了 3 个班组，但一天最多只有 2 个班次"):
        calendar(TWO_SHIFTS, crews=FOUR_CREWS, rotation=parse_rotation("2026-12-01:甲班/乙班,甲班/乙班/丙班"))


def test_a_person_in_two_crews_is_refused() -> None:
    crews = (Crew("甲班", "ld01", ("w01",)), Crew("乙班", "ld02", ("w01",)))
    with pytest.raises(ConfigError, match="w01 同时在两个班组：甲班、乙班"):
        calendar(TWO_SHIFTS, crews=crews)


def test_seven_rest_days_are_refused() -> None:
    with pytest.raises(ConfigError, match="每周七天都是休息日"):
        calendar(TWO_SHIFTS, rest_weekdays=frozenset(range(7)))


def test_a_range_of_an_unknown_pattern_is_refused() -> None:
    spec = CalendarSpec(patterns=(DayPattern("两班", parse_shifts(TWO_SHIFTS)),),
                        ranges=(PatternRange(date(2027, 1, 10), date(2027, 1, 20), "单班"),))
    with pytest.raises(ConfigError, match="2027-01-10..2027-01-20 使用的班次模式 单班 未定义"):
        PlantCalendar(spec, TZ)


def test_two_patterns_of_one_name_are_refused() -> None:
    spec = CalendarSpec(patterns=(DayPattern("两班", parse_shifts(TWO_SHIFTS)),
                                  DayPattern("两班", parse_shifts("白班=08:00-17:00"))))
    with pytest.raises(ConfigError, match="两个班次模式同名"):
        PlantCalendar(spec, TZ)
