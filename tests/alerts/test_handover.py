"""交接班 at each shift's end of a 2x12 plant with crews: one card to both leads through the fake WeCom, its
content, and 交接班未确认 when nobody confirms it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from alerts import handover
from alerts.tick import tick
from bot.outbox import deliver
from domain.calendar_book import CalendarBook
from domain.errors import NotAllowed
from domain.models import Alert, Handover, Person, WorkOrder
from domain.plant_calendar import CalendarSpec, Crew, DayPattern, PlantCalendar, parse_rotation, parse_shifts
from domain.policy import PlantPolicy
from domain.services.exceptions import open_exception
from domain.services.handover import acknowledge_handover
from domain.services.reporting import report_work
from domain.vocab import AlertStatus
from factorybot.config import Settings
from factorybot.runtime import build_alert_policy
from tests.alerts.test_outbox import client_for
from tests.factories import add_order

TZ = ZoneInfo("Asia/Shanghai")
SPEC = CalendarSpec(
    patterns=(DayPattern("两班", parse_shifts("白班=08:00-20:00,夜班=20:00-08:00")),),
    crews=(Crew("甲班", "lead1", ("lead1", "w1")), Crew("乙班", "lead2", ("lead2", "w2"))),
    rotation=parse_rotation("2026-11-01:甲班/乙班"),
)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def two_shifts():
    book = CalendarBook(PlantCalendar(SPEC, TZ))
    return build_alert_policy(Settings(), book), PlantPolicy(book=book)


@pytest.fixture
def shop(plant, make_uow, two_shifts):
    _, plant_policy = two_shifts
    with make_uow() as uow:
        uow.session.add_all([Person(userid="lead1", name="张班长", roles_csv="team_lead", workshop="注塑车间"),
                             Person(userid="lead2", name="刘班长", roles_csv="team_lead", workshop="注塑车间")])
        uow.flush()
        report_work(uow, plant_policy, work_order_code="WO20261125-01", userid="w1", good_qty=300, defect_qty=0,
                    source_key="r1", now=local(25, 15))
        open_exception(uow, plant_policy, userid="w1", type="设备故障", source_key="e1", now=local(25, 16),
                       work_order_code="WO20261125-01", description="料筒温度报警")
        uow.commit()


def round_at(make_uow, session_factory, fake, policy, at: datetime):
    with make_uow() as uow:
        result = tick(uow, policy, at)
        uow.commit()
    deliver(session_factory, client_for(fake), lambda: at)
    return result


def handover_cards(fake, userid: str) -> list[dict]:
    return [c["json"]["template_card"] for c in fake.calls(userid=userid, path="message/send")
            if c.get("errcode") == 0 and c["json"].get("msgtype") == "template_card"
            and c["json"]["template_card"]["main_title"]["title"].startswith("【交接班】")]


def rows(card: dict) -> dict[str, str]:
    return {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}


def test_each_shift_end_sends_one_card_to_both_leads_even_with_two_rounds(shop, make_uow, session_factory,
                                                                         fake_wecom, two_shifts):
    fake_wecom.reset()
    policy, _ = two_shifts
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 19, 59))
    assert handover_cards(fake_wecom, "lead1") == []  # the day shift is still on
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 20))
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 20, 1))
    [card] = handover_cards(fake_wecom, "lead1")
    assert handover_cards(fake_wecom, "lead2") == [card]  # one send to both leads
    assert card["main_title"]["title"] == "【交接班】11-25 白班 → 11-25 夜班"
    assert card["main_title"]["desc"] == "交班：甲班 张班长 → 接班：乙班 刘班长"
    assert card["sub_title_text"].startswith("待接班确认")
    facts = rows(card)
    assert facts["产量/计划"] == "P01 300/500 60%"  # the day shift's half of the day plan, and its output
    assert facts["未结异常"] == "#1 设备故障 P01 料筒温度报警"
    assert "现场异常" in facts["未关预警"]
    assert [b["text"] for b in card["button_list"]] == ["确认接班"]

    round_at(make_uow, session_factory, fake_wecom, policy, local(26, 8))
    round_at(make_uow, session_factory, fake_wecom, policy, local(26, 8, 5))
    night = [c for c in handover_cards(fake_wecom, "lead1") if c["task_id"] != card["task_id"]]
    assert len(night) == 1 and handover_cards(fake_wecom, "lead2")[-1] == night[0]
    assert night[0]["main_title"]["title"] == "【交接班】11-25 夜班 → 11-26 白班"
    assert night[0]["main_title"]["desc"] == "交班：乙班 刘班长 → 接班：甲班 张班长"
    assert rows(night[0])["产量/计划"] == "P01 0/500 0%"  # nobody reported at night
    with make_uow() as uow:
        assert [(h.shift, h.outgoing_lead, h.incoming_lead) for h in
                uow.session.scalars(select(Handover).order_by(Handover.id))] == [
            ("白班", "lead1", "lead2"), ("夜班", "lead2", "lead1")]


def test_a_mould_change_and_the_next_shifts_work_orders_are_on_the_card(shop, make_uow, session_factory,
                                                                        fake_wecom, two_shifts):
    fake_wecom.reset()
    policy, _ = two_shifts
    with make_uow() as uow:
        first = uow.session.scalars(select(WorkOrder).where(WorkOrder.code == "WO20261125-01")).one()
        first.started_at = local(25, 8)
        second = add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        second.mould, second.started_at = "M-015", local(25, 14)
        third = add_order(uow, bill_no="SEORD000003", wo_code="WO20261125-03")
        third.machine, third.mould, third.planned_start = "P02", "M-020", local(25, 21)
        uow.commit()
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 20))
    [card] = handover_cards(fake_wecom, "lead2")
    assert rows(card)["换模"] == "P01 M-001 → M-015"
    assert rows(card)["下班开工"] == "21:00 P02 WO20261125-03（M-020）"


def test_an_unconfirmed_handover_is_an_alert_after_the_ack_time_and_confirming_clears_it(
        shop, make_uow, session_factory, fake_wecom, two_shifts):
    fake_wecom.reset()
    policy, _ = two_shifts
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 20))
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 20, 14))
    with make_uow() as uow:
        assert uow.session.scalars(select(Alert).where(Alert.rule == handover.HANDOVER_UNACKED)).all() == []
    round_at(make_uow, session_factory, fake_wecom, policy, local(25, 20, 15))
    [alert_card] = [c["json"]["template_card"] for c in fake_wecom.calls(userid="sup", path="message/send")
                    if "交接班未确认" in c["json"].get("template_card", {}).get("main_title", {}).get("title", "")]
    assert alert_card["main_title"]["desc"] == "11-25 白班 交接班未确认（接班：乙班 刘班长）"
    assert handover_cards(fake_wecom, "sup") == []  # the handover card itself is the leads'

    with make_uow() as uow:
        handover_id = uow.session.scalars(select(Handover.id)).one()
        with pytest.raises(NotAllowed, match="只有接班人（刘班长）或车间主管可以确认"):
            acknowledge_handover(uow, handover_id=handover_id, userid="lead1", now=local(25, 20, 20))
    with make_uow() as uow:
        assert handover.acknowledge(uow, policy, handover_id=handover_id, userid="lead2", now=local(25, 20, 30),
                                    response_code="").changed
        assert not handover.acknowledge(uow, policy, handover_id=handover_id, userid="lead2", now=local(25, 20, 31),
                                        response_code="").changed
        uow.commit()
    with make_uow() as uow:
        [alert] = uow.session.scalars(select(Alert).where(Alert.rule == handover.HANDOVER_UNACKED)).all()
        assert alert.status == AlertStatus.CLOSED
    result = round_at(make_uow, session_factory, fake_wecom, policy, local(25, 21))
    assert handover.HANDOVER_UNACKED not in result.evaluation.by_rule
    with make_uow() as uow:
        assert len(uow.session.scalars(select(Alert).where(Alert.rule == handover.HANDOVER_UNACKED)).all()) == 1


def test_a_one_shift_plant_without_crews_has_no_handover(plant, make_uow, session_factory, fake_wecom, alert_policy):
    fake_wecom.reset()
    for at in (local(25, 20), local(25, 20, 30), local(26, 8)):
        result = round_at(make_uow, session_factory, fake_wecom, alert_policy, at)
        assert result.handover is None
    assert handover_cards(fake_wecom, "sup") == [] and handover_cards(fake_wecom, "lead") == []
    with make_uow() as uow:
        assert uow.session.scalars(select(Handover)).all() == []
