"""The daily summary: yesterday's output and plan, what is open now, queued once as a card for the managers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from alerts.policy import AlertPolicy
from bot.report_jobs import queue_daily_summary
from domain.models import Notice, Operation, Person, SalesOrder, SalesOrderLine, WorkOrder, WorkReport
from domain.vocab import OperationStatus, WorkOrderStatus
from reports.daily_summary import daily_summary, summary_text
from reports.schedule import ReportPolicy
from tests.reports.hand_month import TZ, build_october, local
from wecom.cards import validate_card

SHIFT_START = datetime(2026, 10, 13, 8, 0, tzinfo=TZ).astimezone(UTC)


def _plant(make_uow) -> None:
    with make_uow() as uow:
        build_october(uow)
        uow.session.add_all([Person(userid="sup", name="王五", roles_csv="supervisor", workshop="注塑车间"),
                             Person(userid="ops", name="赵六", roles_csv="ops_manager"),
                             Person(userid="boss", name="陈总", roles_csv="executive")])
        uow.commit()


def test_yesterdays_figures(make_uow) -> None:
    _plant(make_uow)
    with make_uow() as uow:
        s = daily_summary(uow, date(2026, 10, 12), AlertPolicy())
    # 10-12: WO-C moulded 300 good, 30 bad; nothing packed. Running that day: WO-B (2000/day) and WO-C (500/day).
    assert (s.output.moulded_good, s.output.moulded_defect, s.output.finished_good) == (300, 30, 0)
    assert (s.planned, s.done, round(s.plan_pct or 0)) == (2500, 300, 12)
    # Open now: 设备故障 (acknowledged) and 品质异常; the one alert is closed.
    assert s.open_exceptions == 2 and s.open_alerts == []
    assert summary_text(s).splitlines()[0] == "2026-10-12 生产简报：计划完成率 12%"


def test_a_work_order_finished_early_counts_on_the_days_it_ran_only(make_uow) -> None:
    _plant(make_uow)
    with make_uow() as uow:
        # WO-F: order 104's 800 lids, planned 10-10 to 10-16 at 400 a day, all moulded on 10-11, done 18:00.
        line = uow.session.scalar(select(SalesOrderLine).join(SalesOrder).where(SalesOrder.bill_no == "SEORD000104"))
        wo = WorkOrder(code="WO-F", line=line, product=line.product, planned_qty=800, daily_plan_qty=400,
                       planned_start=local(10, 10, 8), planned_finish=local(10, 16, 8), mould="M-012", machine="P02",
                       workshop="注塑车间", status=WorkOrderStatus.DONE, started_at=local(10, 11, 8),
                       finished_at=local(10, 11, 18))
        moulding = Operation(seq=1, name="注塑", workshop="注塑车间", status=OperationStatus.DONE)
        wo.operations.append(moulding)
        uow.session.add(wo)
        uow.flush()
        worker = uow.session.scalar(select(Person).where(Person.userid == "w1"))
        uow.session.add(WorkReport(source_key="hand:f1", work_order_id=wo.id, operation_id=moulding.id,
                                   operator_id=worker.id, good_qty=800, defect_qty=0, points=1,
                                   reported_at=local(10, 11, 14), work_day=date(2026, 10, 11)))
        uow.commit()
    with make_uow() as uow:
        finishing_day = daily_summary(uow, date(2026, 10, 11), AlertPolicy())
        day_after = daily_summary(uow, date(2026, 10, 12), AlertPolicy())
    # 10-11: WO-B 2000 + WO-C 500 + WO-F 400 planned (WO-F ran that day); moulded: WO-F's 800.
    assert (finishing_day.planned, finishing_day.done) == (2900, 800)
    # 10-12: WO-F is done and plans nothing; still 2500 and 300 as without it (it was 2900 and 10%).
    assert (day_after.planned, day_after.done, round(day_after.plan_pct or 0)) == (2500, 300, 12)


def test_the_card_is_queued_once_for_the_managers(make_uow) -> None:
    _plant(make_uow)
    for _ in range(2):  # Celery beat and a restarted ticker both firing
        with make_uow() as uow:
            queue_daily_summary(uow, AlertPolicy(), ReportPolicy(), SHIFT_START)
            uow.commit()
    with make_uow() as uow:
        [(userids, sent_at, card)] = uow.session.execute(select(Notice.userids, Notice.sent_at, Notice.card)).all()
    assert userids == "ops|sup" and sent_at is None
    assert card is not None
    validate_card(card)
    assert card["main_title"]["title"] == "昨日生产简报 10-12"
    assert {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}["未关闭异常"] == "2 起"
