"""What a user sees after an undo or a correction: a work order taken back to nothing is planned again (and
its order at 排产, its 未开工 alert back), the next operation's leads hear that it reopened, a lead's
correction stands against the reporter's 撤销, a bare 撤销 takes back only the latest report, counts leave
undone reports out, refusals say what this person can do, and a correction shows only what it changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.tick import tick
from domain import qr_payload
from domain.models import Alert, Operation, SalesOrder, WorkOrder
from domain.services.order_timeline import order_timeline
from domain.vocab import AlertStatus, Stage, WorkOrderStatus
from factorybot.chat_cmd import describe_reply
from tests.bot.conftest import LABEL_KEY, set_clock, uow_for
from tests.factories import NOW

WO = "WO20261125-01"
ORDER_LINE = "订单 SEORD000001 · 美的集团"


@pytest.fixture
def bot(live):
    set_clock(live, NOW)
    return live


def moulding(h) -> tuple[int, int, str]:
    with uow_for(h) as uow:
        o = uow.session.scalar(select(Operation).join(WorkOrder).where(WorkOrder.code == WO, Operation.seq == 1))
        return o.good_qty, o.defect_qty, o.status


def late_start_open(h) -> bool:
    with uow_for(h) as uow:
        tick(uow, h.app.extensions["bot"].runtime.alert_policy, NOW + timedelta(minutes=5))
        uow.commit()
        alert = uow.session.scalar(select(Alert).where(Alert.rule == "late_start", Alert.subject_key == f"wo:{WO}"))
        return alert is not None and alert.status == AlertStatus.OPEN


def test_undoing_the_only_report_plans_the_work_order_again(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    assert f"{ORDER_LINE} 【生产】" in bot.say("w1", WO)
    bot.say("w1", "撤销")
    reply = bot.say("w1", WO)
    assert reply.startswith(f"工单 {WO} · 未开工")
    assert "· 注塑 良品 0/1000（未开工）" in reply and f"{ORDER_LINE} 【排产】" in reply
    with uow_for(bot) as uow:
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == WO))
        assert (wo.status, wo.started_at, wo.operations[0].started_at) == (WorkOrderStatus.PLANNED, None, None)
        assert uow.session.scalar(select(SalesOrder.stage)) == Stage.SCHEDULED
    # Due at 08:00 and nothing counted: 超过计划开工时间未开工 again.
    assert late_start_open(bot)


def test_a_report_still_counted_keeps_it_started(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    bot.say("w1", f"报工 {WO} 良品 200")
    bot.say("w1", "撤销")
    assert f"{ORDER_LINE} 【生产】" in bot.say("w1", WO)
    assert not late_start_open(bot)


def test_tomorrow_s_work_order_says_its_planned_day_again_after_an_undo(bot):
    with uow_for(bot) as uow:
        uow.session.scalar(select(WorkOrder).where(WorkOrder.code == WO)).planned_start = NOW + timedelta(days=1)
        uow.commit()
    early = "（工单计划 11-26 开工，本次按提前开工记录）"
    assert bot.say("w1", f"报工 {WO} 良品 300").endswith(early)
    bot.say("w1", "撤销")
    _, card = bot.scan("w1", qr_payload.encode(WO, LABEL_KEY.encode()))
    assert card["sub_title_text"].startswith("计划 11-26 开工")
    assert bot.say("w1", f"报工 {WO} 良品 100").endswith(early)


def test_the_next_operation_s_leads_hear_that_an_undo_reopened_it(bot):
    bot.say("w1", f"报工 {WO} 良品 1000")
    assert bot.texts("lead")[-1].startswith("注塑完成 1000 件，请安排修边")
    bot.say("w1", "撤销")
    assert bot.texts("lead")[-1] == f"撤销：工单 {WO} 注塑 退回 0/1000 件（报工号 #1 已撤销），请暂缓安排修边"
    assert len(bot.texts("lead")) == 2


def test_the_next_operation_s_leads_hear_once_that_a_correction_reopened_it(bot):
    bot.say("w1", f"报工 {WO} 良品 1000")
    first, signed = bot.post(bot.builder.text("sup", "更正 #1 良品 990 原因 点多了"))
    bot.post("", repeat_of=signed)
    assert bot.texts("lead")[1:] == [f"更正：工单 {WO} 注塑 退回 990/1000 件（报工号 #1 已更正），请暂缓安排修边"]
    bot.say("sup", "更正 #1 良品 980 原因 又点多了")  # not done before this one: nothing more to take back
    assert len(bot.texts("lead")) == 2


def test_a_worker_cannot_undo_what_a_lead_corrected(bot):
    bot.say("w1", f"报工 {WO} 良品 600")
    bot.say("sup", "更正 #1 良品 550 原因 点多了")
    assert bot.say("w1", "撤销") == "报工号 #1 已由 王五 更正，不能自行撤销；如有误请找班组长再次更正"
    assert bot.say("w1", "撤销报工 #1") == "报工号 #1 已由 王五 更正，不能自行撤销；如有误请找班组长再次更正"
    assert moulding(bot)[:2] == (550, 0)


def test_a_second_bare_undo_does_not_walk_back_to_an_earlier_report(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    bot.say("w1", f"报工 {WO} 良品 200")
    assert bot.say("w1", "撤销").startswith("已撤销报工号 #2")
    assert bot.say("w1", "撤销") == "您最近的报工 #2 已撤销；如需撤销更早的报工，请发送「撤销报工 #编号」"
    assert moulding(bot)[:2] == (300, 0)
    assert bot.say("w1", "撤销报工 #1").startswith("已撤销报工号 #1")


def test_my_points_counts_only_reports_still_counted(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    bot.say("w1", f"报工 {WO} 良品 200")
    bot.say("w1", "撤销")
    assert "今天报工 1 次，完成 300 件。" in bot.say("w1", "我的积分")
    assert "报工 2 次（撤销 1 次）" in bot.say("w1", "今天")  # 今天 lists both, the undone one as such


def test_an_undo_the_next_operation_blocks_says_undo_and_sends_the_worker_to_a_lead(bot):
    bot.say("w1", f"报工 {WO} 良品 600")
    bot.say("t1", f"报工 {WO} 良品 500")
    assert bot.say("w1", "撤销报工 #1") == (
        "不能撤销：下道工序「修边」已报 良品 500 不良 0，共 500 件，工序「注塑」的良品不能少于 500 件（撤销后为 0 件）。"
        "请找班组长先更正「修边」的报工。")
    assert moulding(bot)[:2] == (600, 0)


def test_an_undo_refused_says_the_day_of_an_older_report_and_offers_a_lead_the_correction(bot):
    set_clock(bot, NOW - timedelta(days=1))
    bot.say("w1", f"报工 {WO} 良品 300")
    set_clock(bot, NOW)
    assert bot.say("w1", "撤销") == ("报工号 #1 报于 11-24 10:00，已超过 10 分钟，不能自行撤销。"
                                     "请找班组长或车间主管更正（更正 报工号 1 良品 数量 不良 数量 原因 …）。")
    assert bot.say("sup", "撤销 #1") == ("报工号 #1 是张三的报工，只有报工人本人可以撤销；"
                                         "如需更正请发送：更正 报工号 1 良品 数量 不良 数量 原因 …")
    assert bot.say("lead", "撤销 #1") == ("报工号 #1 是张三的报工，只有报工人本人可以撤销；"
                                          "请找班组长或车间主管更正（更正 报工号 1 良品 数量 不良 数量 原因 …）。")


def test_a_lead_s_own_late_report_offers_the_correction(bot):
    bot.say("sup", f"报工 {WO} 良品 300")
    set_clock(bot, NOW + timedelta(minutes=11))
    assert bot.say("sup", "撤销") == ("报工号 #1 报于 10:00，已超过 10 分钟，不能自行撤销。"
                                      "如需更正请发送：更正 报工号 1 良品 数量 不良 数量 原因 …")


def test_only_the_reporter_is_told_to_undo_when_they_may_not_correct(bot):
    bot.say("w1", f"报工 {WO} 良品 300")
    assert bot.say("w2", "更正 #1 良品 290 原因 点错") == (
        "只有班组长、车间主管或系统管理员可以更正报工；请找班组长更正报工号 #1。")
    assert bot.say("w1", "更正 #1 良品 290 原因 点错") == (
        "只有班组长、车间主管或系统管理员可以更正报工；报错了请在 10 分钟内回复「撤销」，或找班组长更正报工号 #1。")


def test_a_correction_shows_only_what_it_changed(bot):
    bot.say("w1", f"报工 {WO} 良品 600 不良 5")
    reply = bot.say("sup", "更正 #1 良品 590 原因 点多了")
    assert reply.splitlines()[0] == f"已更正报工号 #1（张三 {WO} 注塑）：良品 600 → 590"
    assert bot.texts("w1")[-1].startswith(f"您的报工号 #1（{WO} 注塑）已由 王五 更正：良品 600 → 590\n")
    bot.say("sup", "更正 #1 不良 3 原因 不良点错")
    with uow_for(bot) as uow:
        timeline = [e.text for e in order_timeline(uow, "SEORD000001")]
    assert f"王五 更正 报工 #1（张三 {WO} 注塑）：良品 600 → 590，原因：点多了" in timeline
    assert f"王五 更正 报工 #1（张三 {WO} 注塑）：不良 5 → 3，原因：不良点错" in timeline
    assert f"· {WO} 注塑 良品 590 不良 3 +14分（已更正，原良品 600 不良 5） #1" in bot.say("w1", "今天")


def test_a_correction_back_to_the_reported_figure_shows_no_note(bot):
    bot.say("w1", f"报工 {WO} 良品 600 不良 5")
    bot.say("sup", "更正 #1 良品 590 原因 点多了")
    bot.say("sup", "更正 #1 良品 600 原因 还是 600")
    today = bot.say("w1", "今天")
    assert f"· {WO} 注塑 良品 600 不良 5 +14分 #1" in today and "已更正" not in today


def test_a_bare_cancel_with_nothing_open_says_so(bot):
    assert bot.say("w1", "取消") == "没有需要取消的操作。"
    assert bot.say("w1", "算了") == "没有需要取消的操作。"


def test_the_chat_cli_shows_the_buttons_of_an_updated_card(bot):
    _, card = bot.scan("w1", qr_payload.encode(WO, LABEL_KEY.encode()))
    shown = describe_reply(bot.reply(bot.tap("w1", card, "完成")))
    assert shown.startswith("[卡片已更新] 已完成! 今日累计完成 ") and "报工号: #1（10 分钟内可撤销）" in shown
    assert shown.splitlines()[-1] == "  按钮：[撤销] [今日明细] [报异常]（/tap 按钮文字 点击）"
