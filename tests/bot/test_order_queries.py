"""Order questions in Chinese, answered passively within the callback."""

from __future__ import annotations

from domain.services.reporting import report_work
from tests.bot.conftest import uow_for
from tests.factories import NOW
from wecom.replies import MAX_TEXT_BYTES


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
    assert "没有找到单号为 SEORD999999 的订单或工单" in harness.say("w1", "SEORD999999")


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


def _big_order(harness, *, lines: int, work_orders: int) -> None:
    """An order with long product names and many work orders, whose open exception is on its last one."""
    from datetime import timedelta

    from domain.models import Customer, Operation, Product, SalesOrder, SalesOrderLine, WorkOrder
    from domain.services.exceptions import open_exception
    from tests.factories import ROUTE, TODAY

    policy = harness.app.extensions["bot"].runtime.policy
    with uow_for(harness) as uow:
        s = uow.session
        customer = Customer(number="C9000", name="佛山市顺德区某某电器制造有限公司")
        order = SalesOrder(bill_no="SEORD000900", customer=customer, order_date=TODAY, stage="scheduled",
                           created_at=NOW, updated_at=NOW)
        last = None
        for entry in range(1, lines + 1):
            product = Product(item_number=f"3.01.9{entry:03d}", name=f"电饭煲内胆加厚防烫把手组件出口款{entry}号",
                              model="PP 黑色")
            line = SalesOrderLine(order=order, entry_id=entry, product=product, qty=6000,
                                  due_date=TODAY + timedelta(days=entry))
            for n in range(1, work_orders + 1):
                last = WorkOrder(code=f"WO20261125-9{entry:02d}{n}", line=line, product=product, planned_qty=2000,
                                 daily_plan_qty=2000, planned_start=NOW, planned_finish=NOW + timedelta(days=2),
                                 mould=f"M-9{entry:02d}", machine="P03", workshop="注塑车间")
                for seq, (name, workshop) in enumerate(ROUTE, 1):
                    last.operations.append(Operation(seq=seq, name=name, workshop=workshop))
                s.add(last)
        s.add(order)
        s.flush()
        assert last is not None
        open_exception(uow, policy, userid="w1", type="设备故障", source_key="big-order-exc", now=NOW,
                       work_order_code=last.code)
        uow.commit()


def test_a_long_order_fits_one_text_and_keeps_its_exception(harness):
    _big_order(harness, lines=8, work_orders=4)
    reply = harness.say("w1", "SEORD000900")
    assert len(reply.encode("utf-8")) <= MAX_TEXT_BYTES
    assert "⚠ 异常：设备故障" in reply and "WO20261125-9084" in reply
    # The exception comes right after the header, before any line.
    assert reply.index("⚠ 异常") < reply.index("1. 电饭煲内胆")
    assert "详见看板：http://127.0.0.1:8000/board/order/SEORD000900" in reply.splitlines()[-1]
    assert reply.splitlines()[-1].startswith("……另有 ")


def test_the_budget_holds_at_every_size_and_counts_what_was_left_out(harness):
    import re

    from bot.views import order_detail_text
    from domain.services.orders import order_progress
    from tests.factories import TODAY, TZ

    _big_order(harness, lines=9, work_orders=3)
    with uow_for(harness) as uow:
        progress = order_progress(uow, "SEORD000900", today=TODAY, tz=TZ)
    url = "http://plant.example/board/order/SEORD000900"
    for budget in range(500, 2049, 37):
        text = order_detail_text(progress, board_url=url, max_bytes=budget)
        assert len(text.encode("utf-8")) <= budget, budget
        assert "⚠ 异常：设备故障" in text
        shown = len(re.findall(r"^\d+\. ", text, re.MULTILINE))
        left = re.search(r"……另有 (\d+) 行，详见看板：" + re.escape(url) + "$", text)
        assert left is not None and shown + int(left.group(1)) == 9, text


def test_a_small_order_is_shown_whole_without_a_summary(harness):
    _big_order(harness, lines=2, work_orders=2)
    reply = harness.say("w1", "SEORD000900")
    assert "另有" not in reply and "详见看板" not in reply
    assert reply.count("WO20261125-9") >= 4 and "2. 电饭煲内胆" in reply
