"""What KIS records after an order is audited, as a pull brings it over through a real ODBC driver: orders
audited the other way (FCheckerID < 0), which ICMO rows are production tasks, orders changed in place
(订单变更), closed lines, the nightly reconcile, shipments (销售出库), product receipts (产品入库) and tasks
closed (结案), each as a planner, the board or the monthly report then shows it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.models import OrderEvent, SalesOrder, WorkOrder
from domain.month import Month
from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar, parse_shifts
from domain.services.calendar_store import save_calendar
from domain.vocab import OrderStatus, Stage, WorkOrderStatus
from factorybot.cli_context import CliContext
from factorybot.config import ConfigError, Settings
from factorybot.runtime import Runtime
from kis.config import KisConfig
from kis.jobs import KisJobs, run_pull
from kis.shaped_db import Line, Order, StockLine, Task
from kis.tasks import jobs_for
from reports.delivery import LATE, ON_TIME, due_lines, verdict
from reports.monthly import build_monthly
from tests.kis.conftest import TZ, kis_dt, local, seed_kis
from tests.kis.test_pull import orders, work_order

SALES_OUT, RECEIPT = 21, 2


def events(plant, bill_no: str) -> list[tuple[str, str]]:
    with plant.uow() as uow:
        return [(e.kind, e.detail) for e in uow.session.scalars(
            select(OrderEvent).join(SalesOrder).where(SalesOrder.bill_no == bill_no).order_by(OrderEvent.id))]


def with_settings(plant, **settings: object) -> None:
    plant.config = KisConfig.from_settings(Settings(kis_odbc=plant.kis.conn_str, kis_timeout=5,
                                                    kis_char_encoding=plant.kis.char_encoding, **settings))


# --- 7. audited orders ------------------------------------------------------------------------------------


def test_an_order_audited_with_a_negative_checker_id_is_pulled_and_stays_open(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.orders([Order(110, "SEORD000110", date(2026, 11, 23), 1002, [Line(1, 2003, 4000, date(2026, 12, 9))],
                           checker_id=-16394, check_date=kis_dt(2026, 11, 23, 11, 0))])
    out = plant.pull()
    assert out.ok, out.text
    assert "订单：新增 3" in out.text
    assert orders(plant)["SEORD000110"].lines[0].qty == 4000
    # A week on, it is outside the window: only its state is read, and that state still reads as audited.
    plant.clock.set(local(2026, 12, 2, 2, 0))
    again = plant.pull()
    assert "未审核" not in again.text and again.pull is not None and again.pull.unaudited == 0
    assert orders(plant)["SEORD000110"].status == OrderStatus.OPEN


# --- 8. production tasks ----------------------------------------------------------------------------------


def _task_kinds(plant) -> None:
    seed_kis(plant.kis)
    start, finish = kis_dt(2026, 11, 26), kis_dt(2026, 11, 28)
    with plant.kis.book() as book:
        book.tasks([
            Task(202, "WORK000202", 2002, 2000, 101, start, finish, check_date=kis_dt(2026, 11, 23)),
            Task(203, "RPP000203", 2002, 2000, 101, start, finish, check_date=kis_dt(2026, 11, 23), tran_type=54),
            Task(204, "WORK000204", 2002, 3000, 102, start, finish, check_date=kis_dt(2026, 11, 23), task_type=1067),
            Task(205, "WORK000205", 2002, 3000, 102, start, finish, check_date=kis_dt(2026, 11, 23), task_type=11060),
        ])


def test_only_real_production_tasks_become_work_orders(plant):
    _task_kinds(plant)
    out = plant.pull()
    assert "生产任务单：新建工单 2" in out.text and "读取 2 张" in out.text
    with plant.uow() as uow:
        codes = set(uow.session.scalars(select(WorkOrder.code)))
    # Not the repetitive production plan (FTranType 54), not the outsourced or K/3-filtered FType.
    assert codes == {"WORK000201", "WORK000202"}


def test_which_icmo_rows_are_tasks_is_a_setting(plant):
    _task_kinds(plant)
    with_settings(plant, kis_task_exclude_types="11060", kis_task_tran_types="85,54")
    out = plant.pull()
    assert "生产任务单：新建工单 4" in out.text
    with plant.uow() as uow:
        codes = set(uow.session.scalars(select(WorkOrder.code)))
    assert codes == {"WORK000201", "WORK000202", "RPP000203", "WORK000204"}


def test_a_malformed_task_filter_stops_start_up_naming_the_setting():
    with pytest.raises(ConfigError, match="KIS_TASK_EXCLUDE_TYPES"):
        Settings.from_env(kis_task_exclude_types="11060,委外")


# --- 9. changed orders, closed lines, the reconcile -------------------------------------------------------


def test_an_order_changed_after_audit_is_updated_by_the_next_incremental_pull(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.kis.book() as book:
        # 订单变更 on SEORD000101 (audited 11-10, long before the window): FCheckDate stays, FChangeDate moves.
        book.update("SEOrderEntry", {"FInterID": 101, "FEntryID": 2}, FQty=Decimal(2600), FDate=kis_dt(2026, 12, 11))
        book.update("SEOrder", {"FInterID": 101}, FChangeDate=kis_dt(2026, 11, 25, 15, 40), FChangeUser=16394)
    plant.clock.set(local(2026, 11, 26, 2, 0))
    out = plant.pull()
    assert "读取 2026-11-19 17:00 之后审核或变更的订单" in out.text
    assert "订单：新增 0，变更 1" in out.text
    line = orders(plant)["SEORD000101"].lines[1]
    assert (line.qty, line.due_date) == (2600, date(2026, 12, 11))
    assert ("changed", "第 2 行数量 2000→2600；第 2 行交期 12-08→12-11") in events(plant, "SEORD000101")
    assert out.pull is not None and out.pull.watermark == local(2026, 11, 25, 15, 40)


def test_a_line_closed_in_kis_is_closed_with_its_work_order(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.kis.book() as book:
        book.update("SEOrderEntry", {"FInterID": 101, "FEntryID": 1}, FMRPClosed=1)
        book.update("SEOrder", {"FInterID": 101}, FChangeDate=kis_dt(2026, 11, 25, 10, 0))
    plant.clock.set(local(2026, 11, 26, 2, 0))
    out = plant.pull()
    assert "KIS 中已关闭的订单行 1 行" in out.text
    line = orders(plant)["SEORD000101"].lines[0]
    assert line.closed_at == local(2026, 11, 26, 2, 0)
    assert work_order(plant, "WORK000201").status == WorkOrderStatus.CLOSED
    assert ("line_closed", "第 1 行，工单 WORK000201 结案") in events(plant, "SEORD000101")
    # The monthly report no longer owes it: done (closed) on the day it was closed, before its 12-05 due date.
    with plant.uow() as uow:
        facts = {(f.bill_no, f.entry_id): f for f in due_lines(uow, Month(2026, 12), TZ)}
    assert facts[("SEORD000101", 1)].done_on == date(2026, 11, 26)


def test_the_nightly_reconcile_catches_a_change_with_no_change_date(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.kis.book() as book:  # edited in KIS's database with no date stamped anywhere
        book.update("SEOrderEntry", {"FInterID": 101, "FEntryID": 1}, FQty=Decimal(6500))
    plant.clock.set(local(2026, 11, 26, 2, 0))
    plant.pull()
    assert orders(plant)["SEORD000101"].lines[0].qty == 6000  # the incremental pull cannot see it
    plant.clock.set(local(2026, 11, 26, 2, 30))
    out = plant.pull(full=True)
    assert out.ok, out.text
    assert "全量核对，重新读取全部已审核未关闭的订单" in out.text and "变更 1" in out.text
    assert orders(plant)["SEORD000101"].lines[0].qty == 6500
    assert out.pull is not None and out.pull.watermark == local(2026, 11, 22, 17, 0)  # the watermark stays


# --- 12. shipments, receipts, closed tasks ----------------------------------------------------------------


def test_shipments_reach_the_order_and_the_monthly_report(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.kis.book() as book:
        book.stock_bill(301, "XOUT000301", SALES_OUT, kis_dt(2026, 11, 27), [StockLine(2002, 1000, order=(102, 1))],
                        customer_id=1002)
        book.stock_bill(302, "XOUT000302", SALES_OUT, kis_dt(2026, 11, 29), [StockLine(2002, 2000, order=(102, 1)),
                                                                            StockLine(2001, 2500, order=(101, 1))],
                        customer_id=1002)
        # Saved but not audited: not shipped yet.
        book.stock_bill(303, "XOUT000303", SALES_OUT, kis_dt(2026, 11, 30), [StockLine(2001, 3500, order=(101, 1))],
                        audited=False)
    plant.clock.set(local(2026, 11, 30, 2, 0))
    out = plant.pull()
    assert "销售出库：出货数量变化 2 单，全部出货 1 单" in out.text
    found = orders(plant)
    full, part = found["SEORD000102"], found["SEORD000101"]
    assert (full.lines[0].shipped_qty, full.stage) == (3000, Stage.SHIPPED)
    assert full.shipped_at == full.lines[0].shipped_at == local(2026, 11, 29, 20, 0)
    assert (part.lines[0].shipped_qty, part.lines[0].shipped_at, part.stage) == (2500, None, Stage.SCHEDULED)
    assert ("shipped", "第 1 行 0→3000/3000 件") in events(plant, "SEORD000102")

    # KIS then marks the fully shipped order executed (FStatus 3): it closes, still 出货.
    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 102}, FStatus=3, FClosed=1)
    plant.clock.set(local(2026, 12, 1, 2, 0))
    assert "关闭 1" in plant.pull().text
    shipped = orders(plant)["SEORD000102"]
    assert (shipped.status, shipped.stage) == (OrderStatus.CLOSED, Stage.SHIPPED)
    with plant.uow() as uow:
        report = build_monthly(uow, Month(2026, 11), as_of=date(2026, 12, 1), policy=plant.alert_policy)
        line = next(f for f in due_lines(uow, Month(2026, 12), TZ) if f.bill_no == "SEORD000102")
    assert (report.shipped.orders, report.shipped.qty) == (1, 3000)
    assert verdict(line, date(2026, 12, 9)) == ON_TIME and line.done_on == date(2026, 11, 29)


def test_product_receipts_move_the_order_to_production_then_stocked(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:  # one line per order, so the task is the whole order's work
        book.delete("SEOrderEntry", {"FInterID": 101, "FEntryID": 2})
    plant.pull()
    with plant.kis.book() as book:
        book.stock_bill(401, "CIN000401", RECEIPT, kis_dt(2026, 11, 25), [StockLine(2001, 2500, task=(201, "WORK000201"))])
    plant.clock.set(local(2026, 11, 26, 2, 0))
    out = plant.pull()
    assert "产品入库：入库满数完工工单 0 张" in out.text
    assert orders(plant)["SEORD000101"].stage == Stage.PRODUCTION
    assert work_order(plant, "WORK000201").status == WorkOrderStatus.PLANNED

    with plant.kis.book() as book:
        book.stock_bill(402, "CIN000402", RECEIPT, kis_dt(2026, 11, 26), [StockLine(2001, 3500, task=(201, "WORK000201"))])
    plant.clock.set(local(2026, 11, 27, 2, 0))
    out = plant.pull()
    assert "产品入库：入库满数完工工单 1 张" in out.text
    wo = work_order(plant, "WORK000201")
    assert (wo.status, wo.finished_at) == (WorkOrderStatus.DONE, local(2026, 11, 26, 20, 0))
    assert orders(plant)["SEORD000101"].stage == Stage.STOCKED
    assert ("task_received", "WORK000201：入库 6000/6000 件，工单 WORK000201 完工 11-26") in events(plant, "SEORD000101")


def test_a_task_closed_in_kis_is_judged_by_its_finish_date_in_the_monthly_report(plant):
    # As seen with SEORD000577: closed (结案) in KIS after finishing on time, then shown 未完成 and days late.
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.delete("SEOrderEntry", {"FInterID": 101, "FEntryID": 2})
    plant.pull()
    with plant.kis.book() as book:
        book.update("ICMO", {"FInterID": 201}, FStatus=3, FFinishDate=kis_dt(2026, 12, 3), FCloseDate=kis_dt(2026, 12, 4),
                    FCloserID=16394)
    plant.clock.set(local(2026, 12, 9, 2, 0))
    out = plant.pull()
    assert "结案 1" in out.text
    wo = work_order(plant, "WORK000201")
    assert (wo.status, wo.finished_at) == (WorkOrderStatus.CLOSED, local(2026, 12, 3, 20, 0))
    assert orders(plant)["SEORD000101"].stage == Stage.STOCKED
    with plant.uow() as uow:
        report = build_monthly(uow, Month(2026, 12), as_of=date(2026, 12, 9), policy=plant.alert_policy)
        line = next(f for f in due_lines(uow, Month(2026, 12), TZ) if f.bill_no == "SEORD000101")
    assert line.done_on == date(2026, 12, 3) and verdict(line, date(2026, 12, 9)) == ON_TIME
    assert "SEORD000101" not in [late.bill_no for late in report.late]
    assert verdict(line, date(2026, 12, 9)) != LATE


def test_the_reconcile_repairs_what_earlier_pulls_left_without_dates(plant):
    # What the pulls before shipments and close dates left behind: SEORD000102 closed (FStatus 3) with nothing
    # shipped, WORK000201 closed (结案) with no finish date. The reconcile reads both again.
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.delete("SEOrderEntry", {"FInterID": 101, "FEntryID": 2})
    plant.pull()
    with plant.uow() as uow:
        so = uow.session.scalar(select(SalesOrder).where(SalesOrder.bill_no == "SEORD000102"))
        so.status, so.updated_at = OrderStatus.CLOSED, local(2026, 11, 30, 2, 0)
        uow.session.scalar(select(WorkOrder).where(WorkOrder.code == "WORK000201")).status = WorkOrderStatus.CLOSED
        uow.commit()
    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 102}, FStatus=3, FClosed=1)
        book.stock_bill(301, "XOUT000301", SALES_OUT, kis_dt(2026, 11, 28), [StockLine(2002, 3000, order=(102, 1))])
        book.update("ICMO", {"FInterID": 201}, FStatus=3, FFinishDate=kis_dt(2026, 12, 2))
    plant.clock.set(local(2026, 12, 3, 2, 0))
    plant.pull()
    assert orders(plant)["SEORD000102"].shipped_at is None  # the incremental pull asks about open orders only
    assert work_order(plant, "WORK000201").finished_at == local(2026, 12, 2, 20, 0)  # held again while undated

    plant.clock.set(local(2026, 12, 3, 2, 30))
    out = plant.pull(full=True)
    assert "全部出货 1 单" in out.text
    shipped = orders(plant)["SEORD000102"]
    assert (shipped.status, shipped.stage, shipped.shipped_at) == (
        OrderStatus.CLOSED, Stage.SHIPPED, local(2026, 11, 28, 20, 0))
    with plant.uow() as uow:
        report = build_monthly(uow, Month(2026, 11), as_of=date(2026, 12, 3), policy=plant.alert_policy)
    assert (report.shipped.orders, report.shipped.qty) == (1, 3000)


# --- a plant running around the clock ---------------------------------------------------------------------


def test_a_task_planned_to_finish_on_a_day_of_a_two_shift_plant_finishes_the_next_morning(plant):
    # KIS keeps the plan as dates. On two 12-hour shifts the production day of 11-28 ends with its night
    # shift at 08:00 on 11-29, not at 20:00: a task planned to 11-28 is not late at 21:00 on 11-28.
    with_settings(plant, shifts="白班=08:00-20:00,夜班=20:00-08:00")
    _task_kinds(plant)
    assert plant.pull().ok
    wo = work_order(plant, "WORK000202")
    assert wo.planned_start.astimezone(TZ).strftime("%m-%d %H:%M") == "11-26 08:00"
    assert wo.planned_finish.astimezone(TZ).strftime("%m-%d %H:%M") == "11-29 08:00"


def test_a_one_shift_plant_s_task_finishes_at_its_shift_end(plant):
    with_settings(plant, shift_hours="07:30-19:30")
    _task_kinds(plant)
    assert plant.pull().ok
    wo = work_order(plant, "WORK000202")
    assert wo.planned_start.astimezone(TZ).strftime("%m-%d %H:%M") == "11-26 07:30"
    assert wo.planned_finish.astimezone(TZ).strftime("%m-%d %H:%M") == "11-28 19:30"


# --- the plant calendar stored with `factorybot calendar set` ------------------------------------------------

TWO_BY_TWELVE = PlantCalendar(CalendarSpec(patterns=(DayPattern("两班", parse_shifts("白班=08:00-20:00,夜班=20:00-08:00")),)),
                              TZ)


def one_shift_runtime(plant) -> Runtime:
    """The process's runtime on the plant's store: its settings say one 08:00-20:00 shift (SHIFT_HOURS)."""
    return Runtime.build(Settings(database_url=plant.url, kis_odbc=plant.kis.conn_str, kis_timeout=5,
                                  kis_char_encoding=plant.kis.char_encoding))


def store(runtime: Runtime, calendar: PlantCalendar) -> None:
    """As `factorybot calendar set` does: stored, then taken up by the process's calendar book."""
    with runtime.uow() as uow:
        save_calendar(uow, calendar, by="admin", now=local(2026, 11, 24, 9, 0))
        uow.commit()
    runtime.calendar.refresh()


CALLERS: dict[str, Callable[[Runtime], KisJobs]] = {
    "worker": jobs_for,  # the kis.pull task of the bot and the Celery worker
    "cli": lambda rt: CliContext(lambda: rt).kis_jobs,  # `factorybot kis pull`
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_a_stored_two_shift_calendar_moves_a_task_s_planned_finish_to_the_next_morning(plant, caller):
    # The settings say one shift; the administrator stored two 12-hour shifts. KIS dates are mapped with
    # the stored calendar: a task planned to 11-28 finishes with the night shift, at 08:00 on 11-29.
    runtime = one_shift_runtime(plant)
    try:
        store(runtime, TWO_BY_TWELVE)
        _task_kinds(plant)
        assert run_pull(replace(CALLERS[caller](runtime), clock=plant.clock)).ok
    finally:
        runtime.engine.dispose()
    wo = work_order(plant, "WORK000202")
    assert wo.planned_start.astimezone(TZ).strftime("%m-%d %H:%M") == "11-26 08:00"
    assert wo.planned_finish.astimezone(TZ).strftime("%m-%d %H:%M") == "11-29 08:00"


def test_a_calendar_stored_while_the_worker_runs_reaches_its_next_pull(plant):
    runtime = one_shift_runtime(plant)
    try:
        jobs = replace(jobs_for(runtime), clock=plant.clock)  # built at the worker's start, one shift then
        store(runtime, TWO_BY_TWELVE)
        _task_kinds(plant)
        assert run_pull(jobs).ok
    finally:
        runtime.engine.dispose()
    assert work_order(plant, "WORK000202").planned_finish.astimezone(TZ).strftime("%m-%d %H:%M") == "11-29 08:00"


def test_without_a_stored_calendar_the_settings_shift_still_decides(plant):
    runtime = one_shift_runtime(plant)
    try:
        _task_kinds(plant)
        assert run_pull(replace(jobs_for(runtime), clock=plant.clock)).ok
    finally:
        runtime.engine.dispose()
    assert work_order(plant, "WORK000202").planned_finish.astimezone(TZ).strftime("%m-%d %H:%M") == "11-28 20:00"


def test_an_order_closed_in_kis_without_shipment_is_done_on_the_day_a_pull_first_saw_it_closed(plant):
    # KIS keeps no close date on SEOrder: the order is dated by its close event, the first pull that found it
    # closed, and a later pull that touches it (here: its task closed, moving it to 入库) never re-dates it.
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.delete("SEOrderEntry", {"FInterID": 101, "FEntryID": 2})
    plant.pull()
    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 101}, FStatus=3, FClosed=1)  # closed, nothing shipped
    plant.clock.set(local(2026, 11, 27, 2, 0))
    assert "关闭 1" in plant.pull().text
    with plant.kis.book() as book:
        book.update("ICMO", {"FInterID": 201}, FStatus=3, FCloseDate=kis_dt(2026, 12, 8), FCloserID=16394)
    plant.clock.set(local(2026, 12, 9, 2, 0))
    assert "结案 1" in plant.pull().text
    order = orders(plant)["SEORD000101"]
    assert (order.status, order.stage, order.updated_at) == (OrderStatus.CLOSED, Stage.STOCKED, local(2026, 12, 9, 2, 0))
    with plant.uow() as uow:
        report = build_monthly(uow, Month(2026, 12), as_of=date(2026, 12, 9), policy=plant.alert_policy)
        line = next(f for f in due_lines(uow, Month(2026, 12), TZ) if f.bill_no == "SEORD000101")
    # Due 12-05; no longer owed from 11-27, not from the 12-09 pull nor the task's 12-08 close.
    assert line.done_on == date(2026, 11, 27) and verdict(line, date(2026, 12, 9)) == ON_TIME
    assert "SEORD000101" not in [late.bill_no for late in report.late]  # SEORD000102 is, unshipped since 12-01
