"""交接班 through the real WeCom path: the card at the shift's end, 确认接班 by the incoming lead (the card
updated for both), the outgoing lead's tap refused, and 交接班 in chat."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from domain.models import Handover, Person, WorkOrder
from domain.plant_calendar import PlantCalendar
from domain.services.calendar_store import save_calendar
from domain.services.exceptions import open_exception
from domain.vocab import WorkOrderStatus
from tests.alerts.test_handover import SPEC, TZ, local  # the same two-shift plant and its clock
from tests.bot.conftest import run_round, set_clock, uow_for


def at(live, moment: datetime) -> None:
    set_clock(live, moment)


@pytest.fixture
def two_shift_live(live):
    deps = live.app.extensions["bot"]
    with uow_for(live) as uow:
        save_calendar(uow, PlantCalendar(SPEC, TZ), by="admin", now=local(25, 7))
        uow.session.add_all([Person(userid="lead1", name="张班长", roles_csv="team_lead", workshop="注塑车间"),
                             Person(userid="lead2", name="刘班长", roles_csv="team_lead", workshop="注塑车间")])
        for wo in uow.session.scalars(select(WorkOrder).where(WorkOrder.code != "WO20261125-01")):
            if wo.code == "WO20261125-02":
                wo.machine = "P02"
            else:
                wo.status = WorkOrderStatus.VOIDED  # two presses are enough to read
        uow.commit()
    deps.runtime.calendar.refresh()
    at(live, local(25, 15))
    live.say("w1", "报工 WO20261125-01 良品 300")
    return live


def shift_end(live, moment: datetime) -> None:
    run_round(live, moment)


def handover_cards(live, userid: str) -> list[dict]:
    return [c for c in live.cards(userid) if c["main_title"]["title"].startswith("【交接班】")]


def updates(live) -> list[dict]:
    """Updates of handover cards (alert cards are updated in place too, as their alerts climb or clear)."""
    return [c["json"] for c in live.fake.calls(path="message/update_template_card") if c["errcode"] == 0
            and c["json"].get("template_card", {}).get("main_title", {}).get("title", "").startswith("【交接班】")]


def test_the_incoming_lead_confirms_from_the_card_and_the_outgoing_leads_tap_is_refused(two_shift_live):
    live = two_shift_live
    shift_end(live, local(25, 20))
    shift_end(live, local(25, 20, 1))
    [card] = handover_cards(live, "lead1")
    assert handover_cards(live, "lead2") == [card]
    assert {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}["产量/计划"] == \
        "P01 300/500 60%；P02 0/500 0%"

    at(live, local(25, 20, 5))
    live.tap("lead1", card, "确认接班")  # the outgoing lead
    assert live.texts("lead1")[-1] == "只有接班人（刘班长）或车间主管可以确认 11-25 白班 的交接班。"
    assert updates(live) == []

    at(live, local(25, 20, 10))
    resp = live.tap("lead2", card, "确认接班")
    assert live.reply(resp) == {}
    [update] = updates(live)
    assert sorted(update["userids"]) == ["lead1", "lead2"]  # both copies show it
    assert update["template_card"]["sub_title_text"] == "已确认接班：刘班长 11-25 20:10"
    assert [b["text"] for b in update["template_card"]["button_list"]] == ["已接班"]

    at(live, local(25, 20, 12))
    live.tap("lead2", card, "确认接班")  # a second tap on a copy not yet refreshed counts once
    assert len(updates(live)) == 1
    assert live.texts("lead2")[-1] == "11-25 白班 的交接班已确认。"
    with uow_for(live) as uow:
        row = uow.session.scalars(select(Handover)).one()
        assert row.acknowledged_at == local(25, 20, 10)
        assert uow.session.get(Person, row.acknowledged_by_id).userid == "lead2"


def test_handover_in_chat_shows_the_last_one(two_shift_live):
    live = two_shift_live
    at(live, local(25, 16))
    assert live.say("lead2", "交接班").startswith("还没有交接班记录")
    with uow_for(live) as uow:
        open_exception(uow, live.app.extensions["bot"].core.policy, userid="w1", type="设备故障", source_key="e1",
                       now=local(25, 16), work_order_code="WO20261125-01", description="料筒温度报警")
        uow.commit()
    shift_end(live, local(25, 20))
    text = live.say("lead2", "交接班")
    lines = text.splitlines()
    assert lines[0] == "交接班 11-25 白班（08:00-20:00） → 11-25 夜班"
    assert lines[1] == "交班：甲班 张班长；接班：乙班 刘班长"
    assert "· P01 300/500 60%" in lines and "· P02 0/500 0%" in lines
    assert any(line.startswith("· #1 设备故障 P01") for line in lines)
    assert lines[-1] == "待接班确认 · 交班于 11-25 20:00"

    shift_end(live, local(26, 8))
    assert live.say("lead1", "交接班").splitlines()[0] == "交接班 11-25 夜班（20:00-08:00） → 11-26 白班"
