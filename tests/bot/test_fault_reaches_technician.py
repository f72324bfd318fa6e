"""报异常 设备故障 with a press typed and no work order: the press is recorded and a technician is called;
without a press the reporter is asked for it. 转维修 is only on the cards where it can work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.engine import EvalResult, apply
from alerts.rules import SyncRun, kis_sync_failures
from domain.models import Person, RepairTicket, ShopException
from tests.bot.conftest import uow_for


def add_technician(live, userid: str = "tech", name: str = "孙师傅") -> None:
    with uow_for(live) as uow:
        uow.session.add(Person(userid=userid, name=name, roles_csv="technician", zone="B区"))
        uow.commit()


def the_exception(live) -> tuple[ShopException, list[RepairTicket]]:
    with uow_for(live) as uow:
        exc = uow.session.scalars(select(ShopException)).one()
        tickets = list(uow.session.scalars(select(RepairTicket)).all())
        uow.session.expunge_all()
        return exc, tickets


def facts(card: dict) -> dict[str, str]:
    return {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}


def buttons(card: dict) -> list[str]:
    return [b["text"] for b in card["button_list"]]


@pytest.mark.parametrize("typed", ["P05", "p05", "P5", "p5异响"])
def test_a_typed_press_is_recorded_and_its_technician_called(live, typed):
    add_technician(live)
    reply = live.say("w1", f"报异常 设备故障 {typed} 异响严重")
    exc, [ticket] = the_exception(live)
    assert exc.machine == "P05" and exc.work_order_id is None
    assert reply.startswith(f"已报告异常 #{exc.id}：设备故障（机台 P05），主管已收到通知。\n"
                            f"已开维修工单 #{ticket.id}（P05），已通知技术员 孙师傅 到场处理。")
    [tech_card] = live.cards("tech")
    assert tech_card["main_title"]["title"] == f"【维修工单】#{ticket.id} P05"
    assert facts(tech_card)["机台"] == "P05" and buttons(tech_card) == ["接单"]
    [alert_card] = live.cards("sup")
    assert facts(alert_card)["机台"] == "P05"
    assert buttons(alert_card) == ["认领", "已处理", "转维修"]


def test_a_typed_press_with_nobody_on_duty_free_says_so(live):
    reply = live.say("w1", "报异常 设备故障 P05 异响严重")
    _, [ticket] = the_exception(live)
    assert f"已开维修工单 #{ticket.id}（P05），暂无空闲技术员在岗，稍后自动派单。" in reply


def test_a_fault_without_a_press_asks_for_it_and_offers_no_repair(live):
    add_technician(live)
    reply = live.say("w1", "报异常 设备故障 异响严重")
    exc, tickets = the_exception(live)
    assert exc.machine is None and tickets == []
    assert "请回复机台号，如 P05" in reply
    assert live.cards("tech") == []
    [alert_card] = live.cards("sup")
    assert facts(alert_card)["机台"] == "-"
    assert buttons(alert_card) == ["认领", "已处理"]  # 转维修 would only answer "没有关联机台"


def test_a_press_that_is_not_the_plants_is_not_taken_for_one(live):
    live.say("w1", "报异常 设备故障 P99 异响严重")
    exc, tickets = the_exception(live)
    assert exc.machine is None and tickets == []


def test_other_types_record_the_press_without_calling_a_technician(live):
    add_technician(live)
    reply = live.say("w1", "报异常 品质异常 P03 飞边")
    exc, tickets = the_exception(live)
    assert exc.machine == "P03" and tickets == []
    assert "维修" not in reply and "机台号" not in reply


def test_a_defect_streak_card_has_no_repair_button(live):
    live.say("w1", "报工 WO20261125-01 良品 500 不良 40")
    live.say("w2", "报工 WO20261125-02 良品 500 不良 30")
    [streak] = [c for c in live.cards("sup") if "连续两单不良率超标" in c["main_title"]["title"]]
    assert buttons(streak) == ["认领", "已处理"]


def test_a_kis_failure_card_has_no_repair_button(live):
    deps = live.app.extensions["bot"]
    policy, now = deps.runtime.alert_policy, deps.core.clock()
    run = SyncRun("kis_pull", ok=False, at=now - timedelta(minutes=5), reason="连接超时", failures=3)
    with uow_for(live) as uow:
        apply(uow, policy, "kis_pull_failed", kis_sync_failures([run], policy), now, EvalResult())
        uow.commit()
    live.queue.tasks["alerts.deliver"]()
    [card] = [c for c in live.cards("admin") if "KIS" in c["main_title"]["title"]]
    assert buttons(card) == ["认领", "已处理"]


def requester(live, ticket: RepairTicket) -> str | None:
    with uow_for(live) as uow:
        person = uow.session.get(Person, ticket.requested_by_id) if ticket.requested_by_id else None
        return person.userid if person else None


def test_the_reporter_of_a_fault_is_who_asked_for_its_repair(live):
    add_technician(live)
    live.say("w1", "报异常 设备故障 P05 异响严重")
    _, [ticket] = the_exception(live)
    assert requester(live, ticket) == "w1"


def test_to_repair_on_a_card_records_who_tapped_it(live):
    add_technician(live)
    live.say("w1", "报异常 品质异常 P03 飞边")
    [card] = live.cards("sup")
    live.tap("sup", card, "转维修")
    _, [ticket] = the_exception(live)
    assert ticket.machine == "P03" and requester(live, ticket) == "sup"
    assert any(f"已开维修工单 #{ticket.id}（P03），已派给 孙师傅" in t for t in live.texts("sup"))


def test_a_round_keeps_the_typed_press_on_the_alert(live):
    from alerts.tick import tick
    from domain.models import Alert

    live.say("w1", "报异常 设备故障 P05 异响严重")
    deps = live.app.extensions["bot"]
    with uow_for(live) as uow:
        tick(uow, deps.runtime.alert_policy, deps.core.clock() + timedelta(minutes=1))
        uow.commit()
        [alert] = uow.session.scalars(select(Alert).where(Alert.rule == "exception")).all()
        assert alert.facts["机台"] == "P05"  # not the work order's press: it has none
