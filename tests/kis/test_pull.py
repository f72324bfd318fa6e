"""The nightly pull, through pyodbc and a real ODBC driver: what a planner sees in FactoryBot afterwards."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from alerts.store import fire
from domain.errors import DomainError
from domain.models import Alert, Customer, Notice, Product, SalesOrder, SyncState, WorkOrder
from domain.policy import PlantPolicy
from domain.services.reporting import report_work
from domain.vocab import AlertStatus, OrderStatus, Stage, WorkOrderStatus
from kis.shaped_db import Line, Order
from kis.status import kis_status
from kis.texts import status_text
from tests.kis.conftest import TZ, kis_dt, local, seed_kis


def orders(plant) -> dict[str, SalesOrder]:
    with plant.uow() as uow:
        found = {o.bill_no: o for o in uow.session.scalars(select(SalesOrder))}
        for o in found.values():  # load what the assertions read, then keep it past the rollback
            for line in o.lines:
                _ = line.product, line.work_orders
        uow.session.expunge_all()
        return found


def work_order(plant, code: str) -> WorkOrder:
    with plant.uow() as uow:
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == code))
        assert wo is not None
        _ = wo.operations, wo.line.order
        uow.session.expunge_all()
        return wo


def pull_state(plant) -> SyncState:
    with plant.uow() as uow:
        state = uow.session.get(SyncState, "kis_pull")
        assert state is not None
        uow.session.expunge_all()
        return state


def test_first_pull_brings_approved_open_orders_with_customers_items_and_tasks(plant):
    seed_kis(plant.kis)
    out = plant.pull()
    assert out.ok, out.text
    assert "订单：新增 2，变更 0，未变 0，作废 0，关闭 0（读取 2 单 3 行）" in out.text
    assert "生产任务单：新建工单 1" in out.text

    found = orders(plant)
    # Un-audited (103), voided (104) and fully executed (105) orders are not the plant's work.
    assert set(found) == {"SEORD000101", "SEORD000102"}
    midea = found["SEORD000101"]
    assert (midea.kis_inter_id, midea.customer.name, midea.order_date, midea.status) == (
        101, "美的集团", date(2026, 11, 9), OrderStatus.OPEN)
    assert [(ln.entry_id, ln.product.item_number, ln.product.name, ln.product.model, ln.qty, ln.due_date)
            for ln in midea.lines] == [
        (1, "3.01.0012", "电饭煲上盖", "PP 白色 Φ220", 6000, date(2026, 12, 5)),
        (2, "3.02.0007", "空调面板", "ABS 白色 900×300", 2000, date(2026, 12, 8)),
    ]
    # The production task became a work order on the line it was made for, so the order is scheduled.
    assert midea.stage == Stage.SCHEDULED and found["SEORD000102"].stage == Stage.REVIEWED
    wo = work_order(plant, "WORK000201")
    assert (wo.kis_icmo_bill_no, wo.line.order.bill_no, wo.line.entry_id, wo.planned_qty, wo.workshop) == (
        "WORK000201", "SEORD000101", 1, 6000, "注塑车间")
    assert [op.name for op in wo.operations] == ["注塑", "修边", "质检", "包装"]
    # KIS keeps the plan as a day: work starts at the shift's start on that day.
    assert wo.planned_start == local(2026, 11, 23, 8, 0) and wo.planned_finish == local(2026, 11, 25, 20, 0)
    assert pull_state(plant).watermark == local(2026, 11, 22, 17, 0)


def test_incremental_pull_reads_from_the_watermark_and_adds_what_was_audited_since(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.kis.book() as book:
        book.orders([Order(106, "SEORD000106", date(2026, 11, 24), 1002, [Line(1, 2003, 12000, date(2026, 12, 12))],
                           check_date=kis_dt(2026, 11, 24, 21, 15))])
    plant.clock.set(local(2026, 11, 26, 2, 0))
    out = plant.pull()
    r = out.pull
    assert out.ok and r is not None
    # The newest audit seen (the task, 11-22 17:00) minus the three-day lookback.
    assert r.since == kis_dt(2026, 11, 19, 17, 0)
    assert r.orders_read == 2  # 102 and 106; 101 (audited 11-10) is outside the window, only its state is read
    assert (r.new, r.changed, r.unchanged, r.voided) == (1, 0, 2, 0)
    assert "订单：新增 1，变更 0，未变 2，作废 0" in out.text
    assert orders(plant)["SEORD000106"].lines[0].product.name == "插座外壳"
    assert pull_state(plant).watermark == local(2026, 11, 24, 21, 15)


def test_an_order_changed_and_audited_again_in_kis_is_updated(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.kis.book() as book:
        # SEORD000102: more pieces, a later date and a new line; SEORD000101 loses its second line.
        book.update("SEOrderEntry", {"FInterID": 102, "FEntryID": 1}, FQty=Decimal(3500), FDate=kis_dt(2026, 12, 3))
        book.lines(102, [Line(2, 2003, 1000, date(2026, 12, 6))])
        book.delete("SEOrderEntry", {"FInterID": 101, "FEntryID": 2})
        book.update("SEOrder", {"FInterID": 102}, FCheckDate=kis_dt(2026, 11, 25, 9, 0))
        book.update("SEOrder", {"FInterID": 101}, FCheckDate=kis_dt(2026, 11, 25, 9, 5))
    plant.clock.set(local(2026, 11, 26, 2, 0))
    out = plant.pull()
    assert "订单：新增 0，变更 2，未变 0，作废 0" in out.text
    found = orders(plant)
    assert [(ln.entry_id, ln.product.name, ln.qty, ln.due_date) for ln in found["SEORD000102"].lines] == [
        (1, "空调面板", 3500, date(2026, 12, 3)), (2, "插座外壳", 1000, date(2026, 12, 6))]
    assert [ln.entry_id for ln in found["SEORD000101"].lines] == [1]

    again = plant.pull()
    assert "变更 0，未变 2" in again.text  # applying the same KIS state twice changes nothing


def test_a_voided_order_stops_being_worked_and_its_open_alerts_close(plant):
    seed_kis(plant.kis)
    plant.pull()
    with plant.uow() as uow:
        now = plant.clock()
        fire(uow, rule="late_start", subject_key="wo:WORK000201", title="WORK000201 超过计划开工时间 未开工", now=now,
             workshop="注塑车间")
        fire(uow, rule="exception", subject_key="order:SEORD000101", title="客户催货", now=now)
        fire(uow, rule="late_start", subject_key="wo:WORK000999", title="另一张工单", now=now)
        uow.commit()
    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 101}, FCancellation=1)
    plant.clock.advance(days=1)
    out = plant.pull()
    assert "作废 1" in out.text and "停止工单 1 张（所属订单已作废）" in out.text and "关闭相关预警 2 条" in out.text

    assert orders(plant)["SEORD000101"].status == OrderStatus.VOIDED
    assert work_order(plant, "WORK000201").status == WorkOrderStatus.VOIDED
    with plant.uow() as uow:
        alerts = {a.subject_key: a for a in uow.session.scalars(select(Alert))}
        uow.session.expunge_all()
    assert {k: (a.status, a.resolution) for k, a in alerts.items()} == {
        "wo:WORK000201": (AlertStatus.CLOSED, "订单已作废"),
        "order:SEORD000101": (AlertStatus.CLOSED, "订单已作废"),
        "wo:WORK000999": (AlertStatus.OPEN, None),
    }
    with plant.uow() as uow, pytest.raises(DomainError, match="WORK000201 已作废，不能再报工"):
        report_work(uow, PlantPolicy(), work_order_code="WORK000201", userid="w1", good_qty=10, defect_qty=0,
                    source_key="t:1", now=plant.clock())


def test_closed_unaudited_and_deleted_orders_are_told_apart(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.orders([Order(107, "SEORD000107", date(2026, 11, 22), 1010, [Line(1, 2003, 500, date(2026, 12, 2))],
                           check_date=kis_dt(2026, 11, 22, 11, 0))])
    plant.pull()
    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 102}, FStatus=3, FClosed=1)  # every line shipped
        book.update("SEOrder", {"FInterID": 101}, FStatus=0, FCheckerID=0, FCheckDate=None)  # taken back to change
        book.delete("SEOrderEntry", {"FInterID": 107})
        book.delete("SEOrder", {"FInterID": 107})
    plant.clock.advance(days=1)
    r = plant.pull().pull
    assert (r.closed, r.unaudited, r.voided) == (1, 1, 1)
    found = orders(plant)
    assert [found[b].status for b in ("SEORD000101", "SEORD000102", "SEORD000107")] == [
        OrderStatus.OPEN, OrderStatus.CLOSED, OrderStatus.VOIDED]
    assert "订单 SEORD000107 在 KIS 中已删除，按作废处理。" in r.notes


def test_production_tasks_update_close_and_void_their_work_orders(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.tasks([_task(202, "WORK000202", 2002, 102, 3000)])
    plant.pull()
    with plant.kis.book() as book:
        book.update("ICMO", {"FInterID": 201}, FQty=Decimal(6500), FPlanFinishDate=kis_dt(2026, 11, 26))
        book.update("ICMO", {"FInterID": 202}, FCancellation=1)
    plant.clock.advance(days=1)
    r = plant.pull().pull
    assert (r.wo_updated, r.wo_voided) == (1, 1)
    wo = work_order(plant, "WORK000201")
    assert (wo.planned_qty, wo.planned_finish) == (6500, local(2026, 11, 26, 20, 0))
    assert work_order(plant, "WORK000202").status == WorkOrderStatus.VOIDED

    with plant.kis.book() as book:
        book.update("ICMO", {"FInterID": 201}, FStatus=3)  # 结案
    plant.clock.advance(days=1)
    assert plant.pull().pull.wo_closed == 1
    assert work_order(plant, "WORK000201").status == WorkOrderStatus.CLOSED


def _task(inter_id: int, bill: str, item: int, order: int, qty: int):
    from kis.shaped_db import Task

    return Task(inter_id, bill, item, qty, order, kis_dt(2026, 11, 24), kis_dt(2026, 11, 26), department_id=1,
                check_date=kis_dt(2026, 11, 23, 10, 0))


def test_chinese_names_round_trip_and_renames_follow_kis(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 103}, FStatus=1, FCheckerID=16394, FCheckDate=kis_dt(2026, 11, 24, 15, 0))
    plant.pull()
    with plant.uow() as uow:
        names = {c.number: c.name for c in uow.session.scalars(select(Customer))}
        items = {p.item_number: (p.name, p.model) for p in uow.session.scalars(select(Product))}
    assert names == {"C001": "美的集团", "C002": "格力电器", "C010": "飞利浦(中国)投资有限公司"}
    assert items["3.03.0105"] == ("插座外壳", "PC 白色 五孔 86型")

    with plant.kis.book() as book:
        book.update("t_Organization", {"FItemID": 1001}, FName="美的集团股份有限公司")
        book.update("SEOrder", {"FInterID": 101}, FCheckDate=kis_dt(2026, 11, 25, 8, 0))
    plant.clock.advance(days=1)
    plant.pull()
    assert orders(plant)["SEORD000101"].customer.name == "美的集团股份有限公司"


@pytest.mark.parametrize("plant", [pytest.param("gbk", marks=pytest.mark.postgres)], indirect=True)
def test_a_driver_handing_over_gbk_bytes_reads_chinese_only_with_kis_char_encoding(plant):
    """psqlODBC's ANSI driver with a GBK client encoding gives pyodbc raw GBK bytes, as a KIS driver without
    Unicode conversion would: without KIS_CHAR_ENCODING the pull fails and says what to set."""
    seed_kis(plant.kis)
    gbk = plant.config
    plant.config = replace(gbk, char_encoding=None)
    out = plant.pull()
    assert not out.ok
    assert out.text.startswith("KIS 订单同步失败：KIS 读取订单失败：Received an unsupported type from Postgres.")
    assert "请设置 KIS_CHAR_ENCODING=gbk" in out.text
    assert orders(plant) == {}

    plant.config = gbk
    out = plant.pull()
    assert out.ok, out.text
    found = orders(plant)
    assert (found["SEORD000101"].customer.name, found["SEORD000102"].customer.name) == ("美的集团", "格力电器")
    assert {ln.product.name: ln.qty for ln in found["SEORD000101"].lines} == {"电饭煲上盖": 6000, "空调面板": 2000}
    assert found["SEORD000101"].lines[0].product.model == "PP 白色 Φ220"
    # The incremental pull sends bill numbers as parameters: they go out as GBK bytes too.
    plant.clock.advance(days=1)
    assert plant.pull().ok


def test_orders_entered_before_the_sync_are_linked_by_bill_number(plant):
    seed_kis(plant.kis)
    from tests.factories import add_order

    with plant.uow() as uow:
        add_order(uow, bill_no="SEORD000102", customer="格力电器", wo_code="WO20261123-01")
        add_order(uow, bill_no="SEORD000104", customer="美的集团", wo_code="WO20261123-02")  # voided in KIS since
        add_order(uow, bill_no="SEORD009999", customer="美的集团", wo_code="WO20261123-03")  # not a KIS order
        uow.commit()
    r = plant.pull().pull
    assert (r.new, r.linked, r.voided) == (1, 2, 1)
    found = orders(plant)
    order = found["SEORD000102"]
    assert order.kis_inter_id == 102 and [ln.qty for ln in order.lines] == [3000]
    assert [w.code for w in order.lines[0].work_orders] == ["WO20261123-01"]  # its work order is kept
    assert (found["SEORD000104"].kis_inter_id, found["SEORD000104"].status) == (104, OrderStatus.VOIDED)
    assert work_order(plant, "WO20261123-02").status == WorkOrderStatus.VOIDED
    assert (found["SEORD009999"].kis_inter_id, found["SEORD009999"].status) == (None, OrderStatus.OPEN)


def test_a_pull_interrupted_halfway_leaves_nothing_half_applied(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.orders([Order(300 + n, f"SEORD000{300 + n}", date(2026, 11, 20), 1001,
                           [Line(1, 2001, 1000 + n, date(2026, 12, 20))], check_date=kis_dt(2026, 11, 21, 8, n))
                     for n in range(20)])
    seen = []

    def progress(n: int) -> None:
        seen.append(n)
        if len(seen) == 11:
            raise KeyboardInterrupt  # Ctrl-C, or the worker being killed, half way through the orders

    with pytest.raises(KeyboardInterrupt):
        plant.pull(progress=progress)
    assert orders(plant) == {}
    with plant.uow() as uow:
        assert uow.session.scalars(select(Customer)).all() == [] and uow.session.scalars(select(WorkOrder)).all() == []
    state = pull_state(plant)
    assert state.watermark is None and state.lease_until is None  # the next run may start at once

    out = plant.pull()
    assert out.ok and out.pull.new == 22 and len(orders(plant)) == 22


def test_a_failed_pull_is_recorded_alerted_to_the_admin_and_clears_on_recovery(plant):
    seed_kis(plant.kis)
    with plant.kis.unreachable():
        out = plant.pull()
    assert not out.ok
    assert out.text.startswith("KIS 订单同步失败：无法连接 KIS 数据库：")
    assert "本次未做任何修改" in out.text
    state = pull_state(plant)
    assert (state.last_ok, state.failures) == (False, 1) and state.last_message.startswith("无法连接 KIS 数据库")
    with plant.uow() as uow:
        [alert] = uow.session.scalars(select(Alert)).all()
        assert (alert.rule, alert.subject_key, alert.workshop, alert.status) == (
            "kis_pull_failed", "kis:pull", None, AlertStatus.OPEN)
        assert alert.title.startswith("KIS 订单同步失败：无法连接 KIS 数据库")
        # The card goes to the admin role (the alerts' outbox sends it).
        assert [n.userids for n in uow.session.scalars(select(Notice))] == ["admin"]
        status = status_text(kis_status(uow, configured=True, now=plant.clock()), TZ, plant.clock())
    assert "订单同步：上次 11-25 02:00 失败（连续 1 次）：无法连接 KIS 数据库" in status
    assert orders(plant) == {}

    plant.clock.advance(minutes=30)
    assert plant.pull().ok
    with plant.uow() as uow:
        [alert] = uow.session.scalars(select(Alert)).all()
        assert (alert.status, alert.resolution) == (AlertStatus.CLOSED, "条件已解除")
    assert pull_state(plant).failures == 0 and len(orders(plant)) == 2


def test_without_production_tasks_only_orders_are_pulled(plant):
    seed_kis(plant.kis)
    with plant.kis.book() as book:
        book.cnxn.cursor().execute("DROP TABLE ICMO")
        book.cnxn.commit()
    out = plant.pull()
    assert out.ok and not out.pull.uses_tasks and "生产任务单" not in out.text
    assert len(orders(plant)) == 2


def test_production_tasks_of_kis_professional_edition_are_read_from_its_own_columns(plant):
    """专业版 keeps the department in FDeptID and the planned start in FDate, and has no FPlanFinishDate."""
    seed_kis(plant.kis)
    dt = "TIMESTAMP" if plant.kis.dialect == "postgresql" else "DATETIME"
    with plant.kis.book() as book:
        cur = book.cnxn.cursor()
        cur.execute("DROP TABLE ICMO")
        cur.execute(f"CREATE TABLE ICMO (FInterID INT NOT NULL PRIMARY KEY, FBillNo VARCHAR(50) NOT NULL, "
                    f"FStatus SMALLINT NOT NULL, FCheckDate {dt}, FCancellation SMALLINT NOT NULL, FItemID INT, "
                    f"FQty DECIMAL(28,10), FAuxQty DECIMAL(28,10), FAuxFinishQty DECIMAL(28,10), FDate {dt}, "
                    f"FDeptID INT, FOrderInterID INT)")
        cur.execute("INSERT INTO ICMO (FInterID, FBillNo, FStatus, FCheckDate, FCancellation, FItemID, FQty, FAuxQty, "
                    "FAuxFinishQty, FDate, FDeptID, FOrderInterID) VALUES (?, ?, 2, ?, 0, ?, ?, ?, 0, ?, ?, ?)",
                    301, "WORK000301", kis_dt(2026, 11, 23, 9, 0), 2002, Decimal(3000), Decimal(3000),
                    kis_dt(2026, 11, 24), 2, 102)
        book.cnxn.commit()
    out = plant.pull()
    assert "生产任务单：新建工单 1" in out.text
    wo = work_order(plant, "WORK000301")
    assert (wo.line.order.bill_no, wo.planned_qty, wo.workshop) == ("SEORD000102", 3000, "后加工车间")
    assert wo.planned_start == local(2026, 11, 24, 8, 0) and wo.planned_finish > wo.planned_start
