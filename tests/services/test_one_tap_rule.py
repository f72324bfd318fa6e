"""prepare_report's figure for 完成 on a two-shift plant with a lunch break: the shift's working minutes at the
standard rate, less the shift's reports (good and defect), capped by the remainder."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.calendar_book import CalendarBook
from domain.models import WorkOrder
from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar, parse_shifts
from domain.policy import PlantPolicy
from domain.services.reporting import prepare_report, report_work
from tests.factories import small_plant

TZ = ZoneInfo("Asia/Shanghai")
# 660 + 720 working minutes a day; a daily plan of 1380 is one piece a working minute.
SPEC = CalendarSpec(patterns=(DayPattern("两班", parse_shifts("白班=08:00-20:00/12:00-13:00,夜班=20:00-08:00")),))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def two_shifts(make_uow) -> PlantPolicy:
    with make_uow() as uow:
        wo = small_plant(uow)
        wo.planned_qty, wo.daily_plan_qty = 5000, 1380
        uow.commit()
    return PlantPolicy(book=CalendarBook(PlantCalendar(SPEC, TZ)))


def offer(make_uow, policy: PlantPolicy, now: datetime, who: str = "w1") -> tuple[int, str]:
    with make_uow() as uow:
        p = prepare_report(uow, policy, work_order_code="WO20261125-01", userid=who, now=now)
        return p.done_qty, p.done_note


def report(make_uow, policy: PlantPolicy, now: datetime, good: int, defect: int = 0, who: str = "w1") -> None:
    with make_uow() as uow:
        report_work(uow, policy, work_order_code="WO20261125-01", userid=who, good_qty=good, defect_qty=defect,
                    source_key=f"{who}-{now.isoformat()}", now=now)
        uow.commit()


def test_breaks_defects_and_the_night_shift(make_uow, two_shifts):
    report(make_uow, two_shifts, local(25, 9), 40, 10)
    # 08:00-14:00 less the 12:00-13:00 break: 300 minutes, 300 pieces; 50 (good and defect) reported.
    assert offer(make_uow, two_shifts, local(25, 14)) == (
        250, "一键完成记 250 件良品：本班按标准产能至今约 300 件，已报 50 件")
    # 02:00 is the night shift of the 25th: six hours since 20:00, and the day shift's reports are not its own.
    assert offer(make_uow, two_shifts, local(26, 2)) == (360, "一键完成记 360 件良品：本班按标准产能至今约 360 件")


def test_a_later_operation_is_capped_by_what_the_previous_one_passed(make_uow, two_shifts):
    report(make_uow, two_shifts, local(25, 9), 100)
    assert offer(make_uow, two_shifts, local(25, 14), who="t1") == (100, "一键完成记剩余的 100 件良品")


def test_a_work_order_planned_later_in_the_shift_waits_for_its_start(make_uow, two_shifts):
    with make_uow() as uow:
        uow.session.scalar(select(WorkOrder)).planned_start = local(25, 15)
        uow.commit()
    assert offer(make_uow, two_shifts, local(25, 14)) == (0, "计划 15:00 开工，暂不能一键完成")
    # From its planned start: 16:00 is an hour of it, not the eight since the shift began.
    assert offer(make_uow, two_shifts, local(25, 16))[0] == 60
