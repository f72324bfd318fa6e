"""October 2026 at a tiny plant, small enough to compute every report figure by hand (see test_metrics.py).

Orders (due dates are per line; "done" = all its live work orders done, or shipped, whichever first):
  101 美的集团 ordered 09-20: line 1 电饭煲上盖 1000 due 10-10, WO-A done 10-09, shipped 10-12  → on time
  102 美的集团 ordered 10-02: line 1 电饭煲上盖 2000 due 10-15, WO-B done 10-18              → late 3 days
                              line 2 空调面板    500 due 10-20, WO-C running, started 2 days late → late, open
  103 格力电器 ordered 10-05: line 1 空调面板   3000 due 10-25, WO-E voided, shipped 10-24   → on time
  104 格力电器 ordered 10-08: line 1 电饭煲上盖  800 due 11-10, WO-D                          (not due in Oct)
  105 格力电器 ordered 10-09: VOIDED, line due 10-12                                           (left out)
  106 美的集团 ordered 10-20: closed in KIS 10-30 without a shipment, line 空调面板 100 due 10-28 → late 2 days
  107 格力电器 ordered 09-25: 电饭煲上盖 400 due 11-03, shipped 11-01 07:00 plant time (10-31 in UTC)
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.models import (
    Alert,
    Customer,
    KisOutbox,
    Operation,
    Person,
    Product,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from domain.uow import UnitOfWork
from domain.vocab import (
    AlertStatus,
    ExceptionStatus,
    OperationStatus,
    OrderStatus,
    OutboxStatus,
    Stage,
    WorkOrderStatus,
)

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 11, 5)


def local(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def build_october(uow: UnitOfWork) -> None:
    s = uow.session
    # On top of another test plant (the chat tests' small_plant) the worker w1 is already there.
    worker = s.query(Person).filter_by(userid="w1").one_or_none() or Person(
        userid="w1", name="张三", roles_csv="worker", workshop="注塑车间")
    midea = Customer(number="C001", name="美的集团")
    gree = Customer(number="C002", name="格力电器")
    lid = Product(item_number="3.01.0112", name="电饭煲上盖", model="PP 白色")
    panel = Product(item_number="3.02.0107", name="空调面板", model="ABS 白色")
    s.add_all([worker, midea, gree, lid, panel])

    def order(bill: str, customer: Customer, ordered: date, *, status: OrderStatus = OrderStatus.OPEN,
              shipped_at: datetime | None = None, updated_at: datetime | None = None) -> SalesOrder:
        created = datetime.combine(ordered, datetime.min.time(), tzinfo=TZ)
        o = SalesOrder(bill_no=f"SEORD000{bill}", customer=customer, order_date=ordered, status=status,
                       stage=Stage.SHIPPED if shipped_at else Stage.PRODUCTION, shipped_at=shipped_at,
                       created_at=created, updated_at=updated_at or created)
        s.add(o)
        return o

    def line(o: SalesOrder, entry: int, product: Product, qty: int, due: date, shipped: int = 0) -> SalesOrderLine:
        ln = SalesOrderLine(order=o, entry_id=entry, product=product, qty=qty, due_date=due, shipped_qty=shipped)
        s.add(ln)
        return ln

    def work_order(code: str, ln: SalesOrderLine, mould: str, start: datetime, finish: datetime,
                   status: WorkOrderStatus, *, started: datetime | None = None,
                   finished: datetime | None = None) -> tuple[Operation, Operation]:
        wo = WorkOrder(code=code, line=ln, product=ln.product, planned_qty=ln.qty, daily_plan_qty=ln.qty,
                       planned_start=start, planned_finish=finish, mould=mould, machine="P01", workshop="注塑车间",
                       status=status, started_at=started, finished_at=finished)
        moulding = Operation(seq=1, name="注塑", workshop="注塑车间", status=OperationStatus.IN_PROGRESS)
        packing = Operation(seq=2, name="包装", workshop="后加工车间", status=OperationStatus.PENDING)
        wo.operations.extend([moulding, packing])
        s.add(wo)
        return moulding, packing

    o101 = order("101", midea, date(2026, 9, 20), status=OrderStatus.CLOSED, shipped_at=local(10, 12, 16))
    o102 = order("102", midea, date(2026, 10, 2))
    o103 = order("103", gree, date(2026, 10, 5), status=OrderStatus.CLOSED, shipped_at=local(10, 24, 17))
    o104 = order("104", gree, date(2026, 10, 8))
    o105 = order("105", gree, date(2026, 10, 9), status=OrderStatus.VOIDED)
    o106 = order("106", midea, date(2026, 10, 20), status=OrderStatus.CLOSED, updated_at=local(10, 30, 10))
    o107 = order("107", gree, date(2026, 9, 25), status=OrderStatus.CLOSED, shipped_at=local(11, 1, 7))

    l101 = line(o101, 1, lid, 1000, date(2026, 10, 10), shipped=1000)
    l102a = line(o102, 1, lid, 2000, date(2026, 10, 15))
    l102b = line(o102, 2, panel, 500, date(2026, 10, 20))
    l103 = line(o103, 1, panel, 3000, date(2026, 10, 25), shipped=3000)
    l104 = line(o104, 1, lid, 800, date(2026, 11, 10))
    line(o105, 1, lid, 999, date(2026, 10, 12))
    line(o106, 1, panel, 100, date(2026, 10, 28))
    line(o107, 1, lid, 400, date(2026, 11, 3), shipped=400)

    a1, a2 = work_order("WO-A", l101, "M-012", local(10, 1, 8), local(10, 9, 8), WorkOrderStatus.DONE,
                        started=local(10, 3, 9), finished=local(10, 9, 15))
    b1, b2 = work_order("WO-B", l102a, "M-012", local(10, 6, 8), local(10, 14, 8), WorkOrderStatus.DONE,
                        started=local(9, 30, 9), finished=local(10, 18, 10))
    c1, c2 = work_order("WO-C", l102b, "M-007", local(10, 10, 8), local(10, 19, 8), WorkOrderStatus.IN_PROGRESS,
                        started=local(10, 12, 9))
    d1, _ = work_order("WO-D", l104, "M-012", local(10, 31, 8), local(11, 8, 8), WorkOrderStatus.IN_PROGRESS,
                       started=local(10, 31, 23, 30))
    work_order("WO-E", l103, "M-007", local(10, 10, 8), local(10, 20, 8), WorkOrderStatus.VOIDED)
    s.flush()

    reports = [  # (operation, good, defect, production day)
        (a1, 600, 20, date(2026, 10, 3)), (a1, 450, 10, date(2026, 10, 5)),
        (a2, 700, 5, date(2026, 10, 8)), (a2, 320, 3, date(2026, 10, 9)),
        (b1, 500, 5, date(2026, 9, 30)), (b1, 1600, 40, date(2026, 10, 10)), (b2, 2050, 10, date(2026, 10, 18)),
        (c1, 300, 30, date(2026, 10, 12)), (c2, 200, 0, date(2026, 11, 2)),
        (d1, 100, 0, date(2026, 10, 31)),
    ]
    for n, (op, good, defect, day) in enumerate(reports, start=1):
        s.add(WorkReport(source_key=f"hand:{n}", work_order_id=op.work_order_id, operation_id=op.id,
                         operator_id=worker.id, good_qty=good, defect_qty=defect, points=1,
                         reported_at=local(day.month, day.day, 14), work_day=day))

    wo = {w.code: w for w in s.query(WorkOrder)}
    s.add_all([
        ShopException(source_key="hand:e1", work_order_id=wo["WO-B"].id, reporter_id=worker.id, type="模具问题",
                      description="顶针断裂", status=ExceptionStatus.CLOSED, opened_at=local(10, 12, 9),
                      acknowledged_at=local(10, 12, 9, 30), closed_at=local(10, 12, 11), resolution="更换顶针"),
        ShopException(source_key="hand:e2", reporter_id=worker.id, type="设备故障", description="P03 漏油",
                      status=ExceptionStatus.CLOSED, opened_at=local(10, 20, 14),
                      acknowledged_at=local(10, 20, 14, 10), closed_at=local(10, 20, 15, 40)),
        ShopException(source_key="hand:e3", reporter_id=worker.id, type="设备故障", description="P05 报警",
                      status=ExceptionStatus.ACKNOWLEDGED, opened_at=local(10, 25, 10),
                      acknowledged_at=local(10, 25, 10, 50)),
        # 07:30 on 11-01 in the plant is still October in UTC: it belongs to November.
        ShopException(source_key="hand:e4", reporter_id=worker.id, type="品质异常", description="缩水",
                      status=ExceptionStatus.OPEN, opened_at=local(11, 1, 7, 30)),
        Alert(rule="late_start", subject_key="wo:WO-C", workshop="注塑车间", title="WO-C 超过计划开工时间 1 小时 未开工",
              facts={"工单": "WO-C"}, status=AlertStatus.CLOSED, fired_at=local(10, 10, 9),
              acknowledged_at=local(10, 10, 9, 20), closed_at=local(10, 12, 9)),
    ])
    s.add_all([
        KisOutbox(source_key="hand:k1", work_order_id=wo["WO-A"].id, work_day=date(2026, 10, 8), qty=700,
                  defect_qty=5, status=OutboxStatus.IMPORTED, created_at=local(10, 8, 15)),
        KisOutbox(source_key="hand:k2", work_order_id=wo["WO-A"].id, work_day=date(2026, 10, 9), qty=320,
                  defect_qty=3, status=OutboxStatus.SENT, created_at=local(10, 9, 15)),
        KisOutbox(source_key="hand:k3", work_order_id=wo["WO-B"].id, work_day=date(2026, 10, 18), qty=2050,
                  defect_qty=10, status=OutboxStatus.REJECTED, created_at=local(10, 18, 15)),
        KisOutbox(source_key="hand:k4", work_order_id=wo["WO-C"].id, work_day=date(2026, 11, 2), qty=200,
                  defect_qty=0, status=OutboxStatus.PENDING, created_at=local(11, 2, 15)),
    ])
    uow.flush()
