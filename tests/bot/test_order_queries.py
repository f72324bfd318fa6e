"""Order questions in Chinese, answered passively within the callback."""

from __future__ import annotations

from bot.wecom.replies import MAX_TEXT_BYTES
from domain.services.reporting import report_work
from tests.bot.conftest import uow_for
from tests.factories import NOW


def test_bill_number_shows_stage_progress_and_new_reports(harness):
    before = harness.say("w1", "SEORD000001")
    assert "订单 SEORD000001 · 美的集团" in before and "【排产】" in before and "注塑 0/1000" in before
    with uow_for(harness) as uow:
        report_work(uow, harness.app.extensions["bot"].runtime.policy, work_order_code="WO20261125-01",
                    userid="w1", good_qty=800, defect_qty=3, source_key="t", now=NOW)
        uow.commit()
    after = harness.say("boss", "查询 seord000001")
    assert "【生产】" in after and "注塑 800/1000" in after and "完成 0（0%）" in after


def test_unknown_bill_number(harness):
    assert "没有找到订单 SEORD999999" in harness.say("w1", "SEORD999999")


def test_customer_name_lists_open_orders_and_points_to_the_full_list(harness):
    reply = harness.say("w1", "小熊")
    assert "「小熊」的未完成订单（共 13 单，显示前 10 单）" in reply
    assert "发送「全部 小熊」查看全部 13 单" in reply
    assert len(reply.encode()) <= MAX_TEXT_BYTES
    assert "没有找到与「华为」相关的订单" in harness.say("w1", "华为")


def test_my_orders_and_help_depend_on_the_person(harness):
    assert "没有未完成的订单" in harness.say("w1", "我的订单")
    supervisor = harness.say("sup", "我的订单")
    assert "SEORD000001" in supervisor
    help_text = harness.say("w1", "帮助")
    assert help_text.startswith("张三您好（操作工）") and "发送订单号" in help_text


def test_unknown_person_is_told_politely(harness):
    assert "尚未开通" in harness.say("nobody", "SEORD000001")


def test_enter_agent_welcomes_and_unknown_message_kinds_get_a_pointer(harness):
    resp, _ = harness.post(harness.builder.event("w1", "enter_agent"))
    assert "您可以" in harness.reply_text(resp)
    resp, _ = harness.post(harness.builder.event("w1", "click", key="help"))
    assert "您可以" in harness.reply_text(resp)
    resp, _ = harness.post(harness.builder.event("w1", "view", key="http://x"))
    assert resp.status_code == 200 and resp.data == b""
    resp, _ = harness.post(harness.builder.event("w1", "scancode_push_unknown_kind"))
    assert "发送「帮助」" in harness.reply_text(resp)


def test_long_customer_list_is_deferred_and_enqueued_once(harness):
    resp, signed = harness.post(harness.builder.text("w1", "全部 小熊"))
    first = harness.reply_text(resp)
    assert first == "正在汇总，请稍候……"
    for _ in range(3):  # WeCom's retries of the same delivery
        again, _ = harness.post("", repeat_of=signed)
        assert harness.reply_text(again) == first
    assert [name for name, _ in harness.queue.calls] == ["bot.run_deferred"]
    assert harness.queue.calls[0][1]["route_name"] == "orders.all_for_customer"
