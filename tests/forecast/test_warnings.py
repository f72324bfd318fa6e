"""交期预警 in the alert round, with a frozen clock: it fires once per order and level, rises to 会逾期 with a
new card, does not come back down with one, stays quiet after someone closes it, and fires again only after
the forecast has cleared in between."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from alerts import actions
from alerts.tick import tick
from domain.models import Alert, AlertCard, WorkOrder
from domain.services.reporting import report_work
from domain.vocab import AlertStatus
from tests.factories import add_order

TZ = ZoneInfo("Asia/Shanghai")
RULE = "late_forecast"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def run(make_uow, alert_policy, now):
    with make_uow() as uow:
        result = tick(uow, alert_policy, now)
        uow.commit()
    return result


def warnings(make_uow):
    with make_uow() as uow:
        rows = uow.session.scalars(select(Alert).where(Alert.rule == RULE).order_by(Alert.id)).all()
        uow.session.expunge_all()
        return rows


def cards(make_uow, alert_id):
    """The warning's first cards (escalations up the chain, an hour on, are the alert engine's business)."""
    with make_uow() as uow:
        return [c.userids for c in uow.session.scalars(
            select(AlertCard).where(AlertCard.alert_id == alert_id, AlertCard.level == 0))]


def report(make_uow, policy, code, good, now, defect=0):
    with make_uow() as uow:
        report_work(uow, policy, work_order_code=code, userid="w1", good_qty=good, defect_qty=defect,
                    source_key=f"{code}-{now.isoformat()}-{good}", now=now)
        uow.commit()


def order(make_uow, *, bill_no, code, qty, daily, start, finish, due):
    with make_uow() as uow:
        wo = add_order(uow, bill_no=bill_no, qty=qty, wo_code=code, due=due)
        wo.daily_plan_qty, wo.planned_start, wo.planned_finish, wo.mould = daily, start, finish, f"M-{bill_no[-3:]}"
        uow.commit()


def test_a_slow_order_is_warned_once_with_the_projection_reason_and_advice_and_a_close_keeps_it_quiet(
        plant, make_uow, alert_policy, policy):
    order(make_uow, bill_no="SEORD000101", code="WO20261122-01", qty=6000, daily=2000, start=at(22, 8),
          finish=at(25, 8), due=date(2026, 11, 28))
    for day in (22, 23, 24):  # 500 a day against 2,000 planned
        report(make_uow, policy, "WO20261122-01", 500, at(day, 15))
    now = at(25, 10)
    result = run(make_uow, alert_policy, now)
    [warning] = warnings(make_uow)
    assert warning.id in result.evaluation.fired and result.evaluation.by_rule[RULE] == 1
    # 4,500 left at 500 a day (41.7 an hour) = 108 h, +4 h finishing, from 10:00: 12-04 14:00.
    assert warning.subject_key == "forecast:SEORD000101:late"
    assert warning.title == "SEORD000101 预计晚 6 天交货" and warning.workshop == "注塑车间"
    assert warning.facts == {
        "订单": "SEORD000101 美的集团", "预计完工": "12-04（交期 11-28，晚 6 天）",
        "原因": "速度慢：近 3 天日均 500 件，计划 2000 件/天",
        # 112 h needed, 46 h of shifts left before the due date's end: 66 h over 4 days is more than 4 a day.
        "建议": "每天加班 4 小时仍差约 50 小时，需转机或分批出货",
        "工单": "WO20261122-01", "机台": "P01"}
    assert cards(make_uow, warning.id) == ["ops|sup"]  # the workshop's supervisor and the ops manager

    run(make_uow, alert_policy, now + timedelta(minutes=2))
    assert len(warnings(make_uow)) == 1 and len(cards(make_uow, warning.id)) == 1  # once per order and level

    with make_uow() as uow:
        actions.close(uow, alert_id=warning.id, userid="ops", now=now + timedelta(minutes=5))
        uow.commit()
    run(make_uow, alert_policy, now + timedelta(minutes=7))
    assert [w.status for w in warnings(make_uow)] == [AlertStatus.CLOSED]  # closed while late: not raised again

    # The mould moved to a faster press: 4,400 more within the hour, the forecast is back on time. The closed
    # warning is re-armed: the next time this order is forecast late, it is news again.
    report(make_uow, policy, "WO20261122-01", 4400, now + timedelta(hours=1))
    run(make_uow, alert_policy, now + timedelta(hours=1, minutes=2))
    [closed] = warnings(make_uow)
    assert closed.resolution == "已处理，预测已解除"


def test_a_closed_warning_fires_again_once_the_level_came_back(plant, make_uow, alert_policy, policy):
    # Planned for 11-29 against a due date of 11-28: the plan itself is a day late.
    order(make_uow, bill_no="SEORD000104", code="WO20261129-01", qty=2000, daily=2000, start=at(29, 8),
          finish=at(30, 8), due=date(2026, 11, 28))
    run(make_uow, alert_policy, at(25, 10))
    [first] = warnings(make_uow)
    assert (first.subject_key, first.title) == ("forecast:SEORD000104:late", "SEORD000104 预计晚 1 天交货")
    assert first.facts["原因"] == "未开工，计划 11-29 开工；计划完工已晚于交期"
    with make_uow() as uow:
        actions.close(uow, alert_id=first.id, userid="sup", now=at(25, 10, 5))
        uow.commit()

    def reschedule(start: datetime) -> None:
        with make_uow() as uow:
            wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == "WO20261129-01"))
            wo.planned_start, wo.planned_finish = start, start + timedelta(days=1)
            uow.commit()

    reschedule(at(26, 8))  # the planner pulls it forward: on time
    run(make_uow, alert_policy, at(25, 11))
    assert warnings(make_uow)[0].resolution == "已处理，预测已解除"
    reschedule(at(29, 8))  # and pushes it back: late again, and that is news again
    run(make_uow, alert_policy, at(25, 12))
    first, second = warnings(make_uow)
    assert first.status == AlertStatus.CLOSED and second.status == AlertStatus.OPEN
    assert second.subject_key == first.subject_key and cards(make_uow, second.id) == ["ops|sup"]


def test_at_risk_rises_to_late_with_a_new_card_and_back_down_without_one(plant, make_uow, alert_policy, policy):
    order(make_uow, bill_no="SEORD000102", code="WO20261126-01", qty=1200, daily=1200, start=at(26, 8),
          finish=at(27, 8), due=date(2026, 11, 27))
    run(make_uow, alert_policy, at(25, 10))  # planned 11-26 08:00-20:00: done a day before the due date
    [risk] = warnings(make_uow)
    assert (risk.subject_key, risk.title) == ("forecast:SEORD000102:at_risk", "SEORD000102 交期 11-27 有风险（余 1 天）")
    assert risk.facts["原因"] == "未开工，计划 11-26 开工"

    run(make_uow, alert_policy, at(27, 12))  # still not started: the plan's 12 h from now end tomorrow
    risk, late = warnings(make_uow)
    assert risk.status == AlertStatus.CLOSED and risk.resolution == "条件已解除"
    assert late.subject_key == "forecast:SEORD000102:late" and late.status == AlertStatus.OPEN
    assert late.facts["原因"] == "未开工（计划 11-26 08:00）"
    assert cards(make_uow, late.id) == ["ops|sup"]

    report(make_uow, policy, "WO20261126-01", 1150, at(27, 12, 30))  # 50 left: done by 17:06 with finishing
    run(make_uow, alert_policy, at(27, 13))
    risk, late = warnings(make_uow)  # 有风险 again, but after 会逾期 that is no news: no new warning
    assert late.status == AlertStatus.OPEN and late.facts["预计完工"] == "11-27（交期 11-27，余 0 天）"
    assert len(cards(make_uow, late.id)) == 1

    with make_uow() as uow:  # the work order is finished: the warning clears itself
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == "WO20261126-01"))
        wo.status, wo.finished_at = "done", at(27, 17)
        uow.commit()
    run(make_uow, alert_policy, at(27, 17, 30))
    assert [w.status for w in warnings(make_uow)] == [AlertStatus.CLOSED, AlertStatus.CLOSED]


def test_an_order_already_past_due_gets_no_new_warning(plant, make_uow, alert_policy, policy):
    order(make_uow, bill_no="SEORD000103", code="WO20261120-01", qty=6000, daily=2000, start=at(20, 8),
          finish=at(23, 8), due=date(2026, 11, 24))
    report(make_uow, policy, "WO20261120-01", 1000, at(21, 15))
    run(make_uow, alert_policy, at(25, 10))
    assert warnings(make_uow) == []
