"""The questions that follow a report, through the fake WeCom: which press (a fault reported without one)
and what happened (after a type was picked on the 报异常 card). The reporter's next plain text is the
answer, never an order search, until it is answered, cancelled or ten minutes pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.tick import tick
from domain.models import Person, RepairTicket, ShopException
from tests.bot.conftest import uow_for
from tests.bot.test_fault_reaches_technician import add_technician, buttons, facts
from tests.bot.test_shopfloor_exceptions import png_bytes, send_photo

ORDER_SEARCH = "没有找到与"


def state(live) -> tuple[ShopException, list[RepairTicket]]:
    with uow_for(live) as uow:
        exc = uow.session.scalars(select(ShopException).order_by(ShopException.id.desc())).first()
        tickets = list(uow.session.scalars(select(RepairTicket).order_by(RepairTicket.id)).all())
        uow.session.expunge_all()
        return exc, tickets


def person_id(live, userid: str) -> int:
    with uow_for(live) as uow:
        return uow.session.scalars(select(Person.id).where(Person.userid == userid)).one()


def card_updates(live) -> list[dict]:
    return [c["json"] for c in live.fake.calls(path="message/update_template_card") if c["errcode"] == 0]


def later(live, minutes: int) -> None:
    core = live.app.extensions["bot"].core
    real = core.clock
    core.clock = lambda: real() + timedelta(minutes=minutes)


def run_round(live) -> None:
    deps = live.app.extensions["bot"]
    with uow_for(live) as uow:
        tick(uow, deps.runtime.alert_policy, deps.core.clock())
        uow.commit()
    live.queue.tasks["alerts.deliver"]()


@pytest.mark.parametrize("answer", ["P05", "p5", "5号机"])
def test_the_press_answered_opens_a_ticket_calls_the_technician_and_updates_the_alert(live, answer):
    add_technician(live)
    asked = live.say("w1", "报异常 设备故障 异响严重")
    assert "请回复机台号，如 P05（10 分钟内有效）" in asked
    [alert_card] = live.cards("sup")
    assert facts(alert_card)["机台"] == "-"

    reply = live.say("w1", answer)
    exc, [ticket] = state(live)
    assert reply == (f"已记录异常 #{exc.id} 设备故障的机台：P05。\n"
                     f"已开维修工单 #{ticket.id}（P05），已通知技术员 孙师傅 到场处理。")
    assert exc.machine == "P05" and ticket.machine == "P05"
    assert ticket.requested_by_id == person_id(live, "w1")
    [tech_card] = live.cards("tech")
    assert tech_card["main_title"]["title"] == f"【维修工单】#{ticket.id} P05"
    # The supervisor's card is the same card, updated in place: it names the press now.
    [update] = card_updates(live)
    assert sorted(update["userids"]) == ["sup"]
    assert facts(update["template_card"])["机台"] == "P05"
    assert update["template_card"]["task_id"] == alert_card["task_id"]
    assert len(live.cards("sup")) == 1

    # Answered: the next text is an order search again.
    assert ORDER_SEARCH in live.say("w1", "P05")
    assert len(state(live)[1]) == 1


def test_an_unknown_press_says_what_to_type_and_the_question_stays(live):
    add_technician(live)
    live.say("w1", "报异常 设备故障 异响严重")
    reply = live.say("w1", "P99")
    assert reply.startswith("没有找到机台「P99」。请回复机台号，如 P05（本厂机台：P01、P02、P03")
    assert "或回复「取消」由主管确认" in reply
    assert state(live)[1] == []
    reply = live.say("w1", "大概是 5 号那台")
    assert reply.startswith("没有找到机台「大概是 5 号那台」")
    assert "已开维修工单" in live.say("w1", "P05")
    assert [t.machine for t in state(live)[1]] == ["P05"]


def test_cancel_drops_the_question_and_the_supervisor_is_asked_to_name_the_press(live):
    add_technician(live)
    live.say("w1", "报异常 设备故障 异响严重")
    exc, _ = state(live)
    reply = live.say("w1", "取消")
    assert reply == f"好的，不再等待机台号：异常 #{exc.id} 已请当班主管确认机台后派维修。"
    assert ORDER_SEARCH in live.say("w1", "P05")  # no question any more
    assert state(live)[1] == []
    [told] = [t for t in live.texts("sup") if f"异常 #{exc.id}" in t]
    assert told == (f"异常 #{exc.id} 设备故障（报告人 张三）未注明机台，尚未派维修。\n说明：异响严重\n"
                    f"请确认机台后发送「转维修 {exc.id} 机台号」（如 转维修 {exc.id} P05）派维修。")

    reply = live.say("sup", f"转维修 {exc.id} P05")
    _, [ticket] = state(live)
    assert reply == (f"已记录异常 #{exc.id} 的机台：P05。\n"
                     f"已开维修工单 #{ticket.id}（P05），已通知技术员 孙师傅 到场处理。")
    # The supervisor who named the press asked for the repair (the reporter is told as the fault's reporter).
    assert ticket.requested_by_id == person_id(live, "sup")
    assert len(live.cards("tech")) == 1
    # A worker cannot name the press of someone else's fault.
    assert "已报告异常" in live.say("w2", "报异常 设备故障 有异味")
    assert "权限" in live.say("w1", f"转维修 {state(live)[0].id} P06")


def test_a_command_typed_mid_question_runs_and_the_question_still_waits(live):
    add_technician(live)
    live.say("w1", "报异常 设备故障 异响严重")
    reply = live.say("w1", "报工 WO20261125-01 良品 10 不良 0")
    assert reply.startswith("已完成! 今日累计完成 10 件\n工单 WO20261125-01 注塑：良品 10")
    assert state(live)[1] == []
    assert "已开维修工单" in live.say("w1", "P05")


def test_after_ten_minutes_the_text_is_an_order_search_and_the_round_tells_the_supervisor_once(live):
    add_technician(live)
    live.say("w1", "报异常 设备故障 异响严重")
    exc, _ = state(live)
    later(live, 11)
    assert ORDER_SEARCH in live.say("w1", "P05")
    assert state(live)[1] == []
    run_round(live)
    run_round(live)
    told = [t for t in live.texts("sup") if f"异常 #{exc.id} 设备故障（报告人 张三）未注明机台" in t]
    assert len(told) == 1
    assert "转维修" in told[0]


def test_the_description_after_a_card_tap_is_the_description_and_its_press_calls_a_technician(live):
    add_technician(live)
    live.say("w1", "报异常")
    type_card = live.cards("w1")[-1]
    opened = live.reply(live.tap("w1", type_card, "设备故障"))
    assert opened["TemplateCard"]["MainTitle"]["Desc"].startswith("请回复一句话说明机台和情况（如：P06 液压漏油，已停机）")
    [alert_card] = live.cards("sup")
    assert facts(alert_card)["说明"] == "-" and facts(alert_card)["机台"] == "-"

    reply = live.say("w1", "P06 液压漏油，已停机")
    exc, [ticket] = state(live)
    assert ORDER_SEARCH not in reply
    assert reply == (f"已记录异常 #{exc.id} 设备故障（机台 P06）的说明：P06 液压漏油，已停机\n"
                     f"已开维修工单 #{ticket.id}（P06），已通知技术员 孙师傅 到场处理。\n"
                     "可继续发送现场照片，会自动附到这条异常上。")
    assert exc.description == "P06 液压漏油，已停机" and exc.machine == "P06"
    assert ticket.requested_by_id == person_id(live, "w1")
    [update] = card_updates(live)
    shown = facts(update["template_card"])
    assert shown["说明"] == "P06 液压漏油，已停机" and shown["机台"] == "P06"
    assert "转维修" in buttons(update["template_card"])
    assert len(live.cards("tech")) == 1

    # Photos still attach to it, as before.
    _, active = send_photo(live, "w1", png_bytes())
    assert active == [f"照片已附到异常 #{exc.id} 设备故障，共 1 张。"]


def test_a_description_without_a_press_asks_for_the_press_next(live):
    add_technician(live)
    live.say("w1", "报异常")
    live.tap("w1", live.cards("w1")[-1], "设备故障")
    reply = live.say("w1", "液压漏油，已停机")
    exc, tickets = state(live)
    assert exc.description == "液压漏油，已停机" and tickets == []
    assert "未注明机台，暂无法派维修：请回复机台号，如 P05" in reply
    assert "已开维修工单" in live.say("w1", "P06")
    assert [t.machine for t in state(live)[1]] == ["P06"]


def test_a_material_description_is_kept_and_no_technician_is_called(live):
    add_technician(live)
    live.say("w1", "报异常 WO20261125-01")
    live.tap("w1", live.cards("w1")[-1], "材料不符")
    reply = live.say("w1", "来料颜色偏黄，与色板不符")
    exc, tickets = state(live)
    assert reply.startswith(f"已记录异常 #{exc.id} 材料不符（机台 P01）的说明：来料颜色偏黄，与色板不符\n")
    assert "维修" not in reply
    assert exc.description == "来料颜色偏黄，与色板不符" and tickets == []
    [update] = card_updates(live)
    assert facts(update["template_card"])["说明"] == "来料颜色偏黄，与色板不符"
    assert live.cards("tech") == []


def test_a_description_after_ten_minutes_is_an_order_search_again(live):
    live.say("w1", "报异常")
    opened = live.reply(live.tap("w1", live.cards("w1")[-1], "材料不符"))
    assert opened["TemplateCard"]["MainTitle"]["Desc"].startswith("请回复一句话说明情况，也可直接发送现场照片")
    later(live, 11)
    assert ORDER_SEARCH in live.say("w1", "颜色偏黄")
    assert state(live)[0].description == ""


def test_cancel_leaves_the_description_empty(live):
    live.say("w1", "报异常")
    live.tap("w1", live.cards("w1")[-1], "材料不符")
    exc, _ = state(live)
    assert live.say("w1", "取消") == f"好的，异常 #{exc.id} 不补充说明。可继续发送现场照片。"
    assert ORDER_SEARCH in live.say("w1", "颜色偏黄")
    assert state(live)[0].description == ""


def test_a_fault_picked_on_the_card_without_a_press_reaches_the_supervisor_on_cancel(live):
    add_technician(live)
    live.say("w1", "报异常")
    live.tap("w1", live.cards("w1")[-1], "设备故障")
    exc, _ = state(live)
    reply = live.say("w1", "取消")
    assert reply == (f"好的，异常 #{exc.id} 不补充说明；未注明机台，已请当班主管确认机台后派维修。"
                     "可继续发送现场照片。")
    [told] = [t for t in live.texts("sup") if f"异常 #{exc.id}" in t]
    assert told.startswith(f"异常 #{exc.id} 设备故障（报告人 张三）未注明机台，尚未派维修。")
    assert f"转维修 {exc.id} 机台号" in told


def test_a_fault_picked_on_the_card_without_a_press_reaches_the_supervisor_when_the_question_lapses(live):
    live.say("w1", "报异常")
    live.tap("w1", live.cards("w1")[-1], "设备故障")
    exc, _ = state(live)
    later(live, 11)
    run_round(live)
    run_round(live)  # a second round tells nobody again
    told = [t for t in live.texts("sup") if f"异常 #{exc.id}" in t]
    assert len(told) == 1 and "未注明机台，尚未派维修" in told[0]
