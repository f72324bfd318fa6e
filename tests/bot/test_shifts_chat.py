"""班次 in chat: the shift on duty, its crew and lead, the day's shifts and the next change; a rest day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.plant_calendar import CalendarSpec, Crew, DayPattern, PlantCalendar, parse_rotation, parse_shifts
from domain.services.calendar_store import save_calendar
from tests.bot.conftest import uow_for

TZ = ZoneInfo("Asia/Shanghai")


def _store(harness, spec: CalendarSpec) -> None:
    with uow_for(harness) as uow:
        save_calendar(uow, PlantCalendar(spec, TZ), by="test", now=datetime(2026, 11, 20, tzinfo=TZ))
        uow.commit()
    harness.app.extensions["bot"].runtime.calendar.refresh()


def _at(harness, moment: datetime) -> None:
    harness.app.extensions["bot"].core.clock = lambda: moment


TWO_CREWS = CalendarSpec(
    patterns=(DayPattern("两班", parse_shifts("白班=08:00-20:00,夜班=20:00-08:00")),),
    rest_weekdays=frozenset({6}),
    crews=(Crew("甲班", "lead", ("w1",)), Crew("乙班", "sup", ("w2",))),
    rotation=parse_rotation("2026-11-23:甲班/乙班"),
)


def test_at_night_the_night_shift_its_crew_and_the_morning_change(harness):
    _store(harness, TWO_CREWS)
    _at(harness, datetime(2026, 11, 26, 1, 30, tzinfo=TZ))  # Thursday 01:30: Wednesday's night
    text = harness.say("w1", "班次")
    assert text.splitlines() == [
        "班次（生产日 11-25 周三）",
        "当班：夜班 20:00-08:00 乙班（班组长 王五）",
        "今日班次：",
        "· 白班 08:00-20:00 甲班（班组长 李四）",
        "· 夜班 20:00-08:00 乙班（班组长 王五）  ← 当班",
        "下次换班：08:00 交给 白班 08:00-20:00 甲班（班组长 李四）",
    ]


def test_on_a_rest_day_it_says_so_and_names_the_next_working_shift(harness):
    _store(harness, TWO_CREWS)
    _at(harness, datetime(2026, 11, 29, 10, tzinfo=TZ))  # Sunday
    assert harness.say("w2", "班次").splitlines() == [
        "今天（生产日 11-29 周日）是休息日，不排班。",
        "下一个班次：11-30 周一 08:00 白班 08:00-20:00 甲班（班组长 李四）",
    ]


def test_a_one_shift_plant_shows_its_one_shift_without_crews(harness):
    _at(harness, datetime(2026, 11, 25, 10, tzinfo=TZ))
    assert harness.say("w1", "班次").splitlines() == [
        "班次（生产日 11-25 周三）",
        "当班：白班 08:00-20:00",
        "本班 20:00 结束；下一个班次：11-26 周四 08:00 白班 08:00-20:00",
    ]
    _at(harness, datetime(2026, 11, 25, 21, tzinfo=TZ))
    assert harness.say("w1", "班次").splitlines() == [
        "班次（生产日 11-25 周三）",
        "当班：现在不在班次时间内",
        "今日班次：",
        "· 白班 08:00-20:00",
        "下一个班次：11-26 周四 08:00 白班 08:00-20:00",
    ]


def test_a_day_ahead_shows_its_shifts_and_crews_and_a_rest_day_says_so(harness):
    rotating = CalendarSpec(
        patterns=TWO_CREWS.patterns, rest_weekdays=frozenset({6}), crews=TWO_CREWS.crews,
        rotation=parse_rotation("2026-11-23:甲班/乙班,乙班/甲班"))
    _store(harness, rotating)
    _at(harness, datetime(2026, 11, 26, 1, 30, tzinfo=TZ))  # production day 11-25 (a Wednesday, cycle day 2)
    # Cycle day 2 of 2 on 11-26: the crews swap.
    assert harness.say("w1", "班次 明天").splitlines() == [
        "生产日 11-26 周四 的班次：",
        "· 白班 08:00-20:00 乙班（班组长 王五）",
        "· 夜班 20:00-08:00 甲班（班组长 李四）",
    ]
    assert harness.say("w1", "班次 11-29") == "生产日 11-29 周日 是休息日，不排班。"
    assert harness.say("w1", "班次 2026-11-27").splitlines()[1] == "· 白班 08:00-20:00 甲班（班组长 李四）"
    assert harness.say("w1", "班次 下周") == "请写 班次 明天、班次 12-05 或 班次 2026-12-05。"

