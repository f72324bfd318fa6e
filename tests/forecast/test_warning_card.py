"""End to end through the fake WeCom: a slow order's 交期预警 card reaches the ops manager, who claims it from
the card; 风险订单 and the order query in chat show the same forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.models import Alert, Person
from domain.services.reporting import report_work
from tests.bot.conftest import uow_for
from tests.factories import add_order

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ).astimezone(UTC)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


def slow_order(live) -> None:
    """6,000 pieces due 11-28, planned at 2,000 a day, made at 500 a day since 11-22."""
    deps = live.app.extensions["bot"]
    deps.core.clock = lambda: NOW
    with uow_for(live) as uow:
        uow.session.add(Person(userid="ops", name="赵六", roles_csv="ops_manager"))
        wo = add_order(uow, bill_no="SEORD000201", qty=6000, wo_code="WO20261122-07", due=date(2026, 11, 28))
        wo.daily_plan_qty, wo.planned_start, wo.planned_finish, wo.mould = 2000, at(22, 8), at(25, 8), "M-201"
        uow.commit()
    for day in (22, 23, 24):
        with uow_for(live) as uow:
            report_work(uow, deps.core.policy, work_order_code="WO20261122-07", userid="w1", good_qty=500,
                        defect_qty=0, source_key=f"slow-{day}", now=at(day, 15))
            uow.commit()


def warning_cards(live, userid: str) -> list[dict]:
    return [c for c in live.cards(userid) if c["main_title"]["title"].startswith("【交期预警】")]


def test_the_warning_card_reaches_the_ops_manager_once_and_is_claimed_from_the_card(live):
    slow_order(live)
    live.queue.tasks["alerts.tick"]()  # the bot's own alert round, as its scheduler runs it
    live.queue.tasks["alerts.deliver"]()
    with uow_for(live) as uow:
        alert_id = uow.session.scalars(select(Alert.id).where(Alert.rule == "late_forecast")).one()
    [card] = warning_cards(live, "ops")
    assert warning_cards(live, "sup") == [card]  # one send to the planner side: ops manager and supervisor
    assert card["main_title"] == {"title": f"【交期预警】#{alert_id}", "desc": "SEORD000201 预计晚 6 天交货"}
    # (As a dict: PostgreSQL's JSONB keeps an alert's facts in its own key order.)
    assert {r["keyname"]: r["value"] for r in card["horizontal_content_list"]} == {
        "订单": "SEORD000201 美的集团",
        "预计完工": "12-04（交期 11-28，晚 6 天）",
        "原因": "速度慢：近 3 天日均 500 件，计划 2000 件/天",
        "建议": "每天加班 4 小时仍差约 50 小时，需转机或分批出货",
        "工单": "WO20261122-07",
        "机台": "P01",
    }
    assert [b["text"] for b in card["button_list"]] == ["认领", "已处理"]  # no 转维修 on a forecast (issue 18)
    assert card["card_action"]["url"].endswith("/board/wo/WO20261122-07")

    live.queue.tasks["alerts.tick"]()  # still late: no second card
    live.queue.tasks["alerts.deliver"]()
    assert warning_cards(live, "ops") == [card]

    live.tap("ops", card, "认领")
    [update] = [c["json"] for c in live.fake.calls(path="message/update_template_card") if c["errcode"] == 0]
    assert sorted(update["userids"]) == ["ops", "sup"]
    assert update["template_card"]["sub_title_text"].startswith("已认领：赵六")


def test_risky_orders_and_the_order_query_show_the_forecast(live):
    slow_order(live)
    assert live.say("sup", "风险订单") == (
        "注塑车间风险订单 1 单（会逾期 1 单），按实际生产速度预测：\n"
        "· SEORD000201 美的集团 预计 12-04 完工（交期 11-28）会逾期 6 天：速度慢：近 3 天日均 500 件，计划 2000 件/天\n"
        "发送订单号可查看详情。")
    assert live.say("lead", "风险订单").startswith("后加工车间风险订单 1 单")  # its trimming passes through there
    detail = live.say("w1", "SEORD000201")
    assert "交期：2026-11-28\n预计完工：2026-12-04 · 会逾期 6 天\n" in detail
    assert "订 6000 件，完成 0（0%），交期 2026-11-28，预计 12-04 完工" in detail
    # The small plant's other orders are on time: the question has an honest empty answer elsewhere.
    with uow_for(live) as uow:
        uow.session.add(Person(userid="pack", name="包装工", roles_csv="worker", workshop="包装车间"))
        uow.commit()
    assert live.say("pack", "风险订单") == "包装车间目前没有预计会逾期或有风险的订单。"
