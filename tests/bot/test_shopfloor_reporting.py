"""Scan → card → tap → stored → card updated → next operation told; the typed report; the worker's day.

Every step goes through real encrypted callbacks, and active messages really reach the fake WeCom.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from domain import qr_payload
from domain.models import Operation, WorkOrder, WorkReport
from domain.vocab import WorkOrderStatus
from tests.bot.conftest import LABEL_KEY, set_clock, uow_for

WO = "WO20261125-01"
# 20:00 on the work order's day, its shift over: a whole day's plan is what the press could have made, so
# 完成 offers the whole remainder (tests/bot/test_one_tap_done.py has the figures earlier in the shift).
SHIFT_END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def label(code: str = WO) -> str:
    return qr_payload.encode(code, LABEL_KEY.encode())


def op_totals(h, name: str) -> tuple[int, int]:
    with uow_for(h) as uow:
        op = uow.session.scalar(select(Operation).join(WorkOrder).where(WorkOrder.code == WO, Operation.name == name))
        return op.good_qty, op.defect_qty


def live_today(h):
    deps = h.app.extensions["bot"]
    return deps.runtime.policy.work_day(deps.core.clock())


def report_count(h) -> int:
    with uow_for(h) as uow:
        return uow.session.scalar(select(func.count()).select_from(WorkReport))


def test_scan_tap_done_updates_the_card_and_tells_the_next_operation_once(live):
    set_clock(live, SHIFT_END)
    text, card = live.scan("w1", label())
    assert text == f"已识别工单 {WO}（注塑），请在下方卡片上点「完成」或「填写数量」。"
    assert card["main_title"]["title"] == f"{WO} · 注塑"
    assert [b["text"] for b in card["button_list"]] == ["完成 1000 件", "填写数量", "报异常"]
    assert card["sub_title_text"] == "一键完成记剩余的 1000 件良品"
    form_button = card["button_list"][1]
    assert form_button["type"] == 1 and "/forms/report?wo=FB1%3A" not in form_button["url"]
    assert form_button["url"].endswith(f"/forms/report?wo={label()}")
    assert card["card_action"]["url"].endswith(f"/board/wo/{WO}")  # 查看详情: the order's page on the board

    first = live.reply(live.tap("w1", card, "完成"))
    assert first["MsgType"] == "update_template_card"
    assert first["TemplateCard"]["MainTitle"]["Title"] == "已完成! 今日累计完成 1000 件"
    assert first["TemplateCard"]["TaskId"] == card["task_id"]
    assert op_totals(live, "注塑") == (1000, 0)
    assert live.texts("lead") == [f"注塑完成 1000 件，请安排修边\n工单 {WO} · 电饭煲上盖\n订单 SEORD000001"]

    # A second tap on the same card (new event, new ResponseCode) is the same report.
    again = live.reply(live.tap("w1", card, "完成"))
    assert again["TemplateCard"]["MainTitle"]["Title"] == "已完成! 今日累计完成 1000 件"
    assert op_totals(live, "注塑") == (1000, 0) and report_count(live) == 1
    assert len(live.texts("lead")) == 1
    assert "注塑 1000/1000" in live.say("w1", "SEORD000001")


def test_a_repeated_delivery_of_the_tap_is_answered_from_the_first_run(live):
    set_clock(live, SHIFT_END)
    _, card = live.scan("w1", label())
    button = card["button_list"][0]
    resp, signed = live.post(live.builder.card_click("w1", button["key"], card["task_id"], "rc"))
    repeat, _ = live.post("", repeat_of=signed)
    assert live.reply(repeat) == live.reply(resp)
    assert report_count(live) == 1


def test_hand_made_and_foreign_codes_report_nothing(live):
    forged = f"FB1:{WO}:AAAAAAAAAAAA"
    assert "二维码校验失败" in live.scan("w1", forged)[0]
    assert "这不是 FactoryBot 工单二维码" in live.scan("w1", WO)[0]
    assert "二维码校验失败" in live.scan("w1", qr_payload.encode(WO, b"another-plant"))[0]
    assert live.cards("w1") == [] and report_count(live) == 0


def test_the_next_workshop_gets_what_the_previous_one_made(live):
    set_clock(live, SHIFT_END)
    # Nothing moulded yet: trimming has nothing to report.
    text, card = live.scan("t1", label())
    assert card is None and "上道工序「注塑」的良品已全部报完（0 件）" in text
    live.say("w1", f"报工 {WO} 良品 600")
    text, card = live.scan("t1", label())
    assert card["main_title"]["title"] == f"{WO} · 修边"
    assert card["button_list"][0]["text"] == "完成 600 件"
    done = live.reply(live.tap("t1", card, "完成"))
    assert done["TemplateCard"]["MainTitle"]["Title"] == "已完成! 今日累计完成 600 件"
    assert op_totals(live, "修边") == (600, 0)
    assert live.texts("lead") == []  # 修边 is not finished while 注塑 still has 400 to make


def test_two_workers_racing_for_the_same_units_never_over_count(live):
    set_clock(live, SHIFT_END)
    _, card_a = live.scan("w1", label())
    _, card_b = live.scan("w2", label())
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda args: live.tap(*args, "完成"), [("w1", card_a), ("w2", card_b)]))
    replies = [live.reply(r) for r in results]
    updated = [r for r in replies if r.get("MsgType") == "update_template_card"]
    assert len(updated) == 1 and replies.count({}) == 1  # the loser's card is left as it was …
    loser = "w2" if updated[0]["ToUserName"] == "w1" else "w1"
    # … and it is told why: the operation is already done, or (mid-race) only the tolerance is left.
    told = live.texts(loser)
    assert len(told) == 1 and ("「注塑」已完成，不能再报工" in told[0] or "最多还能报 50 件" in told[0]), told
    assert op_totals(live, "注塑") == (1000, 0) and report_count(live) == 1


def test_typed_report_answers_with_the_day_total_and_points(live):
    reply = live.say("w1", f"报工 {WO.lower()} 良品 800 不良 12")
    assert reply.splitlines() == [
        "已完成! 今日累计完成 800 件",
        f"工单 {WO} 注塑：良品 800 不良 12",
        "积分 +19，今日积分 19",  # 800 good: 576 standard minutes at 1000 a 720-minute day
        "工序「注塑」累计良品 800，剩余 200",
        "报工号 #1 · 10 分钟内可回复「撤销」撤回",
    ]
    assert live.say("w1", f"报工 {WO} 150 3").startswith("已完成! 今日累计完成 950 件")
    assert op_totals(live, "注塑") == (950, 15)


def test_bad_typed_reports_are_explained_and_record_nothing(live):
    cases = {
        f"报工 {WO} 良品 -5": "良品数量不能为负数",
        f"报工 {WO} 良品 abc": "良品数量「abc」不是整数",
        f"报工 {WO} 良品 8.5": "不是整数",
        f"报工 {WO} 良品 1051": "最多还能报 1050 件（含允许超产 50 件）",
        f"报工 {WO} 良品 0 不良 0": "数量必须大于0",
        "报工 SEORD000001 良品 10": "工单 SEORD000001 不存在",
        "报工": "报工格式：报工 工单号 良品 数量 不良 数量",
        f"报工 {WO}": "请填写数量",
    }
    for text, expected in cases.items():
        reply = live.say("w1", text)
        assert expected in reply, (text, reply)
    assert "工序「质检」最多还能报 0 件" in live.say("q1", f"报工 {WO} 良品 10")  # nothing trimmed yet
    assert report_count(live) == 0 and op_totals(live, "注塑") == (0, 0)


def test_closed_work_orders_and_other_workshops_are_refused(live):
    assert "属于后加工车间，您在注塑车间" in live.say("w1", f"报工 {WO} 修边 良品 10")
    with uow_for(live) as uow:
        uow.session.scalar(select(WorkOrder).where(WorkOrder.code == WO)).status = WorkOrderStatus.CLOSED
        uow.commit()
    assert f"工单 {WO} 已关闭，不能再报工" in live.say("w1", f"报工 {WO} 良品 10")
    text, card = live.scan("w1", label())
    assert card is None and "已关闭" in text
    assert report_count(live) == 0


def test_today_and_points_show_the_workers_own_day(live):
    assert "今天还没有报工记录" in live.say("w1", "今天").replace(f"（{live_today(live)}）", "")
    live.say("w1", f"报工 {WO} 良品 300")
    live.say("w1", f"报工 {WO} 良品 200 不良 4")
    today = live.say("w1", "今天")
    assert "报工 2 次" in today
    assert f"· {WO} 注塑 良品 200 不良 4 +5分" in today
    assert "今日累计完成 500 件，不良 4 件" in today and "今日积分 12" in today
    points = live.say("w1", "我的积分")
    assert points.startswith("张三的积分：今日 12 分，本月 12 分。")
    assert "还没有报工记录" in live.say("w2", "今天")


def test_a_report_of_three_pieces_earns_no_point_for_reporting(live):
    # The issue saw 良品 3 → +1: any report earned a point whatever its size. 3 pieces of a 1000-a-day work
    # order are 2 standard minutes, nowhere near the 30 a point is worth.
    reply = live.say("w1", f"报工 {WO} 良品 3")
    assert "积分 +0，今日积分 0" in reply.splitlines()
