"""撤销 and 更正 through the real bot: the phrasings, the card button, the window, who may correct, the
guards, a repeated delivery, points, the order's timeline, and the wording of a report with no good piece."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import qr_payload
from domain.models import Operation, ReportCorrection, WorkOrder, WorkReport
from domain.services.order_timeline import order_timeline
from domain.vocab import OperationStatus, WorkOrderStatus
from tests.bot.conftest import LABEL_KEY, set_clock, uow_for
from tests.factories import NOW

WO = "WO20261125-01"


@pytest.fixture
def bot(live):
    set_clock(live, NOW)
    return live


def op(h, name: str) -> tuple[int, int, str]:
    with uow_for(h) as uow:
        o = uow.session.scalar(select(Operation).join(WorkOrder).where(WorkOrder.code == WO, Operation.name == name))
        return o.good_qty, o.defect_qty, o.status


def corrections(h) -> int:
    with uow_for(h) as uow:
        return uow.session.scalar(select(func.count()).select_from(ReportCorrection))


@pytest.mark.parametrize("phrase", ["撤销", "撤回", "撤回上一条报工", "取消报工", "撤销报工 #2"])
def test_every_phrasing_takes_back_the_latest_report(bot, phrase):
    bot.say("w1", f"报工 {WO} 良品 300")
    reply = bot.say("w1", f"报工 {WO} 良品 200 不良 4")
    assert reply.splitlines()[-1] == "报工号 #2 · 10 分钟内可回复「撤销」撤回"
    undone = bot.say("w1", phrase)
    assert undone.splitlines() == [
        f"已撤销报工号 #2：{WO} 注塑 良品 200 不良 4 → 0",
        "工序「注塑」累计良品 300",
        "积分 5 → 0，当日积分 7",
        "如需重新报工，请再次扫码或发送「报工 …」。",
    ]
    assert op(bot, "注塑")[:2] == (300, 0)
    assert "没有找到" not in undone


def _listed(value):
    return value if isinstance(value, list) else [value] if value else []


def passive_card(h, resp) -> dict:
    """The card a tap's passive reply put in place of the tapped one, in message/send shape."""
    card = h.reply(resp)["TemplateCard"]
    return {"task_id": card["TaskId"], "title": card["MainTitle"]["Title"], "desc": card["MainTitle"].get("Desc", ""),
            "rows": {r["KeyName"]: r["Value"] for r in _listed(card.get("HorizontalContentList"))},
            "button_list": [{"text": b["Text"], "key": b["Key"]} for b in _listed(card.get("ButtonList"))]}


def test_the_card_s_undo_button_takes_the_report_back_and_updates_the_card(bot):
    # At 20:00, the shift's end, the shift could have made the whole 1000: 完成 offers it all.
    set_clock(bot, NOW + timedelta(hours=10))
    _, card = bot.scan("w1", qr_payload.encode(WO, LABEL_KEY.encode()))
    done = passive_card(bot, bot.tap("w1", card, "完成"))
    assert [b["text"] for b in done["button_list"]] == ["撤销", "今日明细", "报异常"]
    assert done["rows"]["报工号"] == "#1（10 分钟内可撤销）"
    assert op(bot, "注塑") == (1000, 0, OperationStatus.DONE)
    undone = passive_card(bot, bot.tap("w1", done, "撤销"))
    assert (undone["task_id"], undone["title"], undone["desc"]) == (card["task_id"], "已撤销报工号 #1",
                                                                  f"{WO} 注塑 良品 1000 → 0")
    assert undone["rows"]["工序进度"] == "工序「注塑」累计良品 0"
    # The operation it finished is open again.
    assert op(bot, "注塑") == (0, 0, OperationStatus.PENDING)
    again = passive_card(bot, bot.tap("w1", done, "撤销"))  # a second tap on the same card is the same undo
    assert again["title"] == "已撤销报工号 #1"
    assert corrections(bot) == 1


def test_after_the_window_the_reporter_is_sent_to_a_lead(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    set_clock(bot, NOW + timedelta(minutes=11))
    reply = bot.say("w1", "撤销")
    assert reply == ("报工号 #1 报于 10:00，已超过 10 分钟，不能自行撤销。"
                     "请找班组长或车间主管更正（更正 报工号 1 良品 数量 不良 数量 原因 …）。")
    assert op(bot, "注塑")[:2] == (300, 0) and corrections(bot) == 0


def test_only_the_reporter_undoes_and_a_report_is_undone_once(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    assert "只有报工人本人可以撤销" in bot.say("w2", "撤销报工 #1")
    assert bot.say("w2", "撤销") == "您没有可以撤销的报工。"
    bot.say("w1", "撤销")
    assert "报工号 #1 已于 10:00 撤销" in bot.say("w1", "撤销报工 #1")
    assert corrections(bot) == 1


def _moulded_and_trimmed(h) -> None:
    h.say("w1", f"报工 {WO} 良品 600")  # #1
    h.say("t1", f"报工 {WO} 良品 500")  # #2, 修边 in 后加工车间


def test_a_lead_corrects_a_report_of_their_workshop_with_a_reason(bot):
    _moulded_and_trimmed(bot)
    reply = bot.say("lead", "更正 报工号 2 良品 480 不良 20 原因 点数错误")
    assert reply.splitlines() == [
        f"已更正报工号 #2（小李 {WO} 修边）：良品 500 → 480，不良 0 → 20",
        "原因：点数错误",
        "工序「修边」累计良品 480 不良 20",
        "小李的积分 12 → 11，当日积分 11",
        "已记入订单时间线。",
    ]
    assert op(bot, "修边")[:2] == (480, 20)
    assert bot.texts("t1")[-1] == (f"您的报工号 #2（{WO} 修边）已由 李四 更正：良品 500 → 480，不良 0 → 20\n"
                                   "原因：点数错误\n积分 12 → 11，当日积分 11")
    today = bot.say("t1", "今天")
    assert f"· {WO} 修边 良品 480 不良 20 +11分（已更正，原良品 500） #2" in today
    with uow_for(bot) as uow:
        timeline = [e.text for e in order_timeline(uow, "SEORD000001")]
    assert f"小李 报工 {WO} 修边：良品 500（报工号 #2，已更正）" in timeline
    assert f"李四 更正 报工 #2（小李 {WO} 修边）：良品 500 → 480，不良 0 → 20，原因：点数错误" in timeline


def test_a_correction_without_reason_or_by_the_wrong_person_is_refused(bot):
    _moulded_and_trimmed(bot)
    assert bot.say("sup", "更正 #1 良品 590") == ("更正报工需要写明原因，例如：更正 报工号 1 良品 780 不良 20 原因 点数错误")
    assert bot.say("w2", "更正 #1 良品 590 原因 点错") == (
        "只有班组长、车间主管或系统管理员可以更正报工；请找班组长更正报工号 #1。")  # not w2's report to undo
    assert bot.say("lead", "更正 #1 良品 590 原因 点错") == (
        "报工号 #1 是注塑车间的报工（工序「注塑」），您在后加工车间，不能更正。")
    assert bot.say("sup", "更正 良品 590 原因 点错").startswith("请写明要更正的报工号")
    assert op(bot, "注塑")[:2] == (600, 0) and corrections(bot) == 0


def test_a_correction_may_not_take_back_what_the_next_operation_used(bot):
    _moulded_and_trimmed(bot)
    assert bot.say("sup", "更正 #1 良品 450 原因 点多了") == (
        "不能更正：下道工序「修边」已报 良品 500 不良 0，共 500 件，工序「注塑」的良品不能少于 500 件"
        "（更正后为 450 件）。请先更正「修边」的报工。")
    assert bot.say("sup", "更正 #1 良品 1100 原因 点少了").startswith("不能更正：工单 WO20261125-01 工序「注塑」良品最多 1050 件")
    assert bot.say("lead", "更正 #2 良品 700 原因 点少了").startswith("不能更正：上道工序「注塑」只有良品 600 件")
    assert op(bot, "注塑")[:2] == (600, 0) and corrections(bot) == 0
    assert bot.say("sup", "更正 #1 良品 1000 原因 漏报").startswith("已更正报工号 #1（张三")
    assert op(bot, "注塑") == (1000, 0, OperationStatus.DONE)


def test_a_repeated_delivery_corrects_once(bot):
    _moulded_and_trimmed(bot)
    first, signed = bot.post(bot.builder.text("sup", "更正 #1 良品 550 原因 点多了"))
    repeat, _ = bot.post("", repeat_of=signed)
    assert bot.reply_text(first) == bot.reply_text(repeat)
    assert op(bot, "注塑")[:2] == (550, 0) and corrections(bot) == 1


def test_undoing_the_report_that_finished_the_work_order_reopens_it(bot):
    for who, qty in (("w1", 1000), ("t1", 1000), ("q1", 1000), ("t1", 1000)):
        bot.say(who, f"报工 {WO} 良品 {qty}")
    with uow_for(bot) as uow:
        assert uow.session.scalar(select(WorkOrder.status).where(WorkOrder.code == WO)) == WorkOrderStatus.DONE
    assert bot.say("t1", "撤销").startswith(f"已撤销报工号 #4：{WO} 包装 良品 1000 → 0")
    with uow_for(bot) as uow:
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == WO))
        assert (wo.status, wo.operations[-1].status) == (WorkOrderStatus.IN_PROGRESS, OperationStatus.PENDING)
        assert wo.line.order.stage == "qc"  # back from 入库: its packing is not done any more
        assert uow.session.get(WorkReport, 4).undone_at is not None


def test_a_report_of_defects_only_does_not_say_done(bot):
    reply = bot.say("w1", f"报工 {WO} 不良 5")
    assert reply.splitlines() == [
        "已记录不良 5 件（良品 0），今日累计完成 0 件",
        f"工单 {WO} 注塑：良品 0 不良 5",
        "只报不良不计积分，今日积分 0",
        "工序「注塑」累计良品 0，剩余 1000",
        "报工号 #1 · 10 分钟内可回复「撤销」撤回",
    ]
    assert "已完成" not in reply and "+" not in reply


def test_today_shows_an_undone_report_as_undone(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    bot.say("w1", f"报工 {WO} 良品 200")
    assert "已撤销" not in bot.say("w1", "取消")  # a bare 取消 drops a question; it takes no report back
    bot.say("w1", "撤销")
    today = bot.say("w1", "今天")
    assert f"· {WO} 注塑 已撤销（原良品 200） #2" in today
    assert "报工 2 次（撤销 1 次）" in today and "今日累计完成 300 件" in today
