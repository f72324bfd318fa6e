"""我的班组 through the chat: the crew, its members' reports in the shift and what is open on its presses."""

from __future__ import annotations

from datetime import date

import pytest

from domain.models import Person, RepairTicket, ShopException, WorkOrder
from domain.plant_calendar import CalendarSpec, Crew, DayPattern, PlantCalendar, Rotation, parse_shifts
from domain.services.calendar_store import save_calendar
from domain.vocab import TicketStatus
from tests.bot.conftest import uow_for
from tests.bot.shift_plant import SHANGHAI, TWO_SHIFTS, Clock, live_plant, plant_time

WO = "WO20261125-01"


def crews_calendar() -> PlantCalendar:
    # Every day: 甲班 on the day shift, 乙班 on the night shift.
    return PlantCalendar(CalendarSpec(
        patterns=(DayPattern("两班", parse_shifts(TWO_SHIFTS)),),
        crews=(Crew("甲班", "lead2", ("lead2", "w1")), Crew("乙班", None, ("w2",))),
        rotation=Rotation(date(2026, 11, 25), (("甲班", "乙班"),)),
    ), SHANGHAI)


@pytest.fixture
def clock() -> Clock:
    return Clock(plant_time(2026, 11, 25, 10, 0))


@pytest.fixture
def crews(db_url, plant_db, fake_wecom, tmp_path, clock):
    h = live_plant(db_url, fake_wecom, tmp_path, clock, shifts=TWO_SHIFTS)
    with uow_for(h) as uow:
        uow.session.add(Person(userid="lead2", name="赵六", roles_csv="team_lead", workshop="注塑车间"))
        save_calendar(uow, crews_calendar(), by="admin", now=clock())
        uow.commit()
    h.app.extensions["bot"].runtime.calendar.refresh()
    return h


def open_trouble(h, clock: Clock) -> None:
    with uow_for(h) as uow:
        wo = uow.session.query(WorkOrder).filter_by(code=WO).one()
        w1 = uow.session.query(Person).filter_by(userid="w1").one()
        uow.session.add(ShopException(source_key="e1", work_order_id=wo.id, reporter_id=w1.id, type="设备故障",
                                      opened_at=clock()))
        uow.session.add(RepairTicket(machine="P01", workshop="注塑车间", status=TicketStatus.OPEN, opened_at=clock()))
        uow.session.add(RepairTicket(machine="P09", workshop="后加工车间", status=TicketStatus.OPEN, opened_at=clock()))
        uow.commit()


def test_the_lead_sees_the_crew_on_shift_its_reports_and_what_is_open(crews, clock):
    crews.say("w1", f"报工 {WO} 良品 300 不良 2")
    open_trouble(crews, clock)
    reply = crews.say("lead2", "我的班组")
    assert reply.splitlines() == [
        "您的班组：甲班（当班 11-25 白班 08:00-20:00）",
        "班组长：赵六",
        "成员 2 人，本班已报工 1 人：",
        "· 赵六（班组长） 未报工",
        "· 张三 报工 1 次 良品 300 不良 2",
        "注塑车间本班机台 1：",
        "· P01 计划 7000 良品 300（4%）",  # the 14 work orders of the plant all plan on P01
        "注塑车间在制工单 1：",
        f"· P01 {WO} 电饭煲上盖 300/1000",
        "未关闭异常 1：",
        f"· #1 设备故障 {WO} 待处理",
        "未完成维修单 1：",
        "· #1 P01 待接单",
    ]


def test_an_off_shift_crew_is_said_to_be_off_and_shows_its_last_shift(crews, clock):
    assert crews.say("w2", "我的班组").splitlines()[:4] == [
        "您的班组：乙班（不在班，上一班 11-24 夜班 20:00-08:00）", "班组长：未设", "成员 1 人，本班已报工 0 人：",
        "· 王二 未报工"]


def test_a_supervisor_in_no_crew_sees_the_crew_on_shift_now(crews, clock):
    assert crews.say("sup", "我的班组").startswith("当班班组：甲班（当班 11-25 白班 08:00-20:00）")
    clock.at = plant_time(2026, 11, 26, 2, 0)
    crews.say("w2", f"报工 {WO} 良品 120")
    reply = crews.say("sup", "我的班组")
    assert reply.startswith("当班班组：乙班（当班 11-25 夜班 20:00-08:00）")
    assert "· 王二 报工 1 次 良品 120" in reply


def test_someone_in_no_crew_is_told_so(crews):
    assert crews.say("t1", "我的班组") == (
        "您不在任何班组。「我的班组」向班组成员显示本班组；不在班组的班组长、车间主管、运营经理和管理员看到当班班组。"
        "您可以发「今天」查看自己的报工。")


def test_a_plant_without_crews_says_so(live):
    assert live.say("lead", "我的班组").startswith("本厂还没有设置班组（管理员可用 factorybot calendar crews 设置班组和轮班）。")


def test_an_undone_report_is_not_counted_in_the_crew(crews, clock):
    crews.say("w1", f"报工 {WO} 良品 300")
    crews.say("w1", f"报工 {WO} 良品 200")
    crews.say("w1", "撤销")
    assert "· 张三 报工 1 次 良品 300" in crews.say("lead2", "我的班组").splitlines()  # was 报工 2 次
