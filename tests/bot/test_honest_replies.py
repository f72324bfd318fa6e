"""Replies that never contradict the data, through the real bot (issue 19): a work-order number answers with
its work order, an order is 【质检】 only once no line is still being made, a late order says how late and
when it will now be made, 停机中 means the press has not moulded for PRESS_STOPPED_MINUTES, and what a phone
keyboard types (full-width characters, stray spaces, a greeting) is understood."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.models import Operation, Person, Product, SalesOrder, SalesOrderLine, WorkOrder
from domain.services.reporting import report_work
from tests.bot.conftest import uow_for
from tests.factories import NOW, ROUTE, add_order

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def _clock(live, moment: datetime = NOW) -> None:
    live.app.extensions["bot"].core.clock = lambda: moment


def _report(live, code: str, userid: str, good: int, key: str, now: datetime, op: str = "注塑") -> None:
    with uow_for(live) as uow:
        report_work(uow, live.app.extensions["bot"].core.policy, work_order_code=code, userid=userid,
                    good_qty=good, defect_qty=0, source_key=key, now=now, operation_name=op)
        uow.commit()


def _second_line(live, bill_no: str, *, qty: int, due: date, code: str, machine: str = "P02",
                 planned_start: datetime = NOW) -> None:
    """Another line on an order, with its own work order on another press."""
    with uow_for(live) as uow:
        order = uow.session.scalar(select(SalesOrder).where(SalesOrder.bill_no == bill_no))
        product = Product(item_number=f"3.02.{code[-4:]}", name="电饭煲底座", model="PP 黑色")
        line = SalesOrderLine(order=order, entry_id=2, product=product, qty=qty, due_date=due)
        wo = WorkOrder(code=code, line=line, product=product, planned_qty=qty, daily_plan_qty=2000,
                       planned_start=planned_start, planned_finish=planned_start + timedelta(days=4),
                       mould="M-777", machine=machine, workshop="注塑车间")
        for seq, (name, workshop) in enumerate(ROUTE, 1):
            wo.operations.append(Operation(seq=seq, name=name, workshop=workshop))
        uow.session.add_all([line, wo])
        uow.commit()


def test_a_work_order_number_answers_with_its_work_order_and_its_order(live):
    _clock(live)
    with uow_for(live) as uow:
        uow.session.scalar(select(WorkOrder).where(WorkOrder.code == "WO20261125-01")).kis_icmo_bill_no = "WORK000201"
        uow.session.add(Person(userid="mould", name="模具工", roles_csv="worker", workshop="模具车间"))
        uow.commit()
    _report(live, "WO20261125-01", "w1", 800, "m1", NOW - timedelta(minutes=30))
    reply = live.say("w1", "WO20261125-01")
    assert reply.startswith("工单 WO20261125-01 · 生产中（KIS 生产任务单 WORK000201）\n")  # was 没有找到订单
    assert "机台/模具：P01/M-001 · 注塑车间" in reply and "计划：11-25 08:00 开工，11-26 10:00 完工" in reply
    assert "· 注塑 良品 800/1000（进行中）\n· 修边 良品 0/1000（未开工）" in reply
    assert "订单 SEORD000001 · 美的集团 【生产】 交期 2026-11-30" in reply
    # Lower case, full width, the KIS task number: the same answer.
    assert live.say("w1", "wo20261125-01") == reply
    assert live.say("w1", "ＷＯ２０２６１１２５－０１") == reply
    assert live.say("w1", "work000201") == reply
    # Seen as its order is: not from a workshop it does not pass through.
    assert live.say("mould", "WO20261125-01") == "这张订单不在您的车间，请联系主管查看。"
    assert live.say("w1", "WO20991231-99") == "没有找到单号为 WO20991231-99 的订单或工单，请核对单号。"


def test_an_order_is_in_qc_only_when_no_line_is_still_being_made(live):
    _clock(live)
    _second_line(live, "SEORD000001", qty=8000, due=date(2026, 12, 5), code="WO20261125-77")
    _report(live, "WO20261125-01", "w1", 1000, "a-m", NOW - timedelta(hours=3))
    _report(live, "WO20261125-01", "t1", 1000, "a-t", NOW - timedelta(hours=2), op="修边")
    _report(live, "WO20261125-01", "q1", 500, "a-q", NOW - timedelta(hours=1), op="质检")
    _report(live, "WO20261125-77", "w1", 1373, "b-m", NOW - timedelta(minutes=20))
    reply = live.say("w1", "SEORD000001")
    # The second line's moulding is at 1373/8000: the order is still in 生产 (was 【质检】).
    assert "阶段：接单✓→评审✓→排产✓→领料✓→【生产】→质检→入库→出货" in reply
    assert "注塑 1373/8000" in reply
    # Once that line too is made and in inspection, the order is.
    _report(live, "WO20261125-77", "w1", 6627, "b-m2", NOW - timedelta(minutes=10))
    _report(live, "WO20261125-77", "t1", 8000, "b-t", NOW - timedelta(minutes=5), op="修边")
    _report(live, "WO20261125-77", "q1", 100, "b-q", NOW - timedelta(minutes=1), op="质检")
    assert "【质检】" in live.say("w1", "SEORD000001")


def test_a_late_order_says_how_late_and_when_it_will_be_made(live):
    _clock(live)
    with uow_for(live) as uow:
        add_order(uow, bill_no="SEORD000401", qty=500, wo_code="WO20261120-01", due=date(2026, 11, 23))
        uow.commit()
    # The second line's press moulded on 11-20 and nothing since: stopped, due today.
    _second_line(live, "SEORD000401", qty=4000, due=date(2026, 11, 25), code="WO20261120-02",
                 planned_start=at(20, 8))
    _report(live, "WO20261120-02", "w1", 500, "second-m", at(20, 15))
    # The first line, due 11-23, is moulded and trimmed but not inspected: still owed, two days late.
    for n, (who, op) in enumerate((("w1", "注塑"), ("t1", "修边"))):
        _report(live, "WO20261120-01", who, 500, f"first-{n}", at(21, 9 + n), op=op)
    reply = live.say("sup", "SEORD000401")
    # Was "交期：2026-11-23（已逾期）" over "预计完工：停机中，恢复后最早 11-27 完工 · 至少会逾期 2 天".
    assert "交期：2026-11-23（已逾期 2 天，停机中，恢复后最早 11-27 完工）\n" in reply
    assert "会逾期" not in reply and "预计完工：" not in reply
    assert "【生产】" in reply  # the first line is made, the second is not
    risky = live.say("sup", "风险订单")
    assert "已逾期 1 单" in risky
    assert "· SEORD000401 美的集团 已逾期 2 天，停机中，恢复后最早 11-27 完工（交期 11-23）" in risky
    assert "会逾期" not in risky


def test_a_press_that_moulded_today_is_not_stopped(live):
    _clock(live)
    with uow_for(live) as uow:
        wo = add_order(uow, bill_no="SEORD000501", qty=8000, wo_code="WO20261120-05", due=date(2026, 11, 27))
        wo.machine, wo.mould, wo.daily_plan_qty = "P05", "M-505", 2000
        wo.planned_start, wo.planned_finish = at(20, 8), at(24, 20)
        uow.commit()
    _report(live, "WO20261120-05", "w1", 500, "old", at(20, 15))  # then nothing on 11-22, 11-23, 11-24
    _report(live, "WO20261120-05", "w1", 1685, "today", NOW - timedelta(minutes=30))
    risky = live.say("sup", "风险订单")
    # Was "停机中，恢复后最早 11-28 完工（交期 11-27）至少会逾期 1 天" for a press that moulded 1685 today; now it
    # runs at what the press made with this mould on its last full day (11-20: 500 in 12 hours).
    assert "· SEORD000501 美的集团 预计 12-07 完工（交期 11-27）会逾期 10 天" in risky
    assert "停机" not in risky
    # PRESS_STOPPED_MINUTES (60) later without a report, it is stopped.
    _clock(live, NOW + timedelta(minutes=90))
    assert "· SEORD000501 美的集团 停机中，恢复后最早" in live.say("sup", "风险订单")


def test_what_a_phone_keyboard_types_is_understood(live):
    wide = live.say("w1", "ＳＥＯＲＤ０００００１")
    assert wide.startswith("订单 SEORD000001 · 美的集团\n")  # was 没有找到与「ＳＥＯＲＤ０００００１」相关的订单
    assert live.say("w1", "seord000001  ") == wide
    assert live.say("w1", "查询\u3000ｓｅｏｒｄ０００００１") == wide
    # A space inside the number (was 没有找到与「SEORD 000001」相关的订单或客户).
    assert live.say("w1", "SEORD 000001") == wide
    work_order = live.say("w1", "WO20261125-01")
    assert work_order.startswith("工单 WO20261125-01 · ")
    assert live.say("w1", "WO 20261125-01") == live.say("w1", "wo20261125 - 01") == work_order


def test_a_greeting_shows_the_help(live):
    for greeting in ("你好", "您好", "hi", "Hello", "在吗", "嗨", "你好！"):
        assert live.say("w1", greeting).startswith("张三您好（操作工），您可以："), greeting
