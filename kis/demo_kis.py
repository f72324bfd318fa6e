"""A demo KIS, written from the demo plant's own orders, so `kis pull` and `kis push` can be tried end to end.

It differs from FactoryBot in the ways a real night brings: orders audited since the last pull (each with a
production task), one order changed and audited again, one voided; and one item disabled in KIS, so the
simulated KIS job refuses its completions.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyodbc
from sqlalchemy import and_, func, select

from domain.models import (
    Customer,
    Operation,
    Person,
    Product,
    SalesOrder,
    SalesOrderLine,
    WorkOrder,
    WorkReport,
)
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, Stage, WorkOrderStatus
from kis.shaped_db import AUDITOR_ID, KisBook, Line, Order, Task, create_kis_tables

DEPARTMENTS = ((1, "01", "注塑车间"), (2, "02", "后加工车间"), (3, "03", "质检部"))
# (customer name, item number, quantity) of the orders audited in KIS since FactoryBot last looked.
NEW_ORDERS = (("美的集团", "3.01.0012", 6000), ("公牛集团", "3.03.0105", 20000),
              ("飞利浦(中国)投资有限公司", "3.04.0201", 3000))
CUSTOMER_BASE, ITEM_BASE, ORDER_BASE, EMP_BASE, TASK_BASE = 1000, 2000, 10000, 3000, 50000


def conn_str(path: Path) -> str:
    return f"Driver=SQLite3;Database={path.resolve()}"


def build_demo_kis(uow: UnitOfWork, path: Path, *, staging_table: str, tz: ZoneInfo, now: datetime) -> str:
    s = uow.session
    customers = list(s.scalars(select(Customer).order_by(Customer.number)))
    products = list(s.scalars(select(Product).order_by(Product.item_number)))
    orders = list(s.scalars(select(SalesOrder).order_by(SalesOrder.bill_no)))
    if not orders:
        return "FactoryBot 中还没有订单：请先运行 factorybot demo-data（或 factorybot demo）载入演示工厂。"
    cust_id = {c.id: CUSTOMER_BASE + i for i, c in enumerate(customers, start=1)}
    item_id = {p.id: ITEM_BASE + i for i, p in enumerate(products, start=1)}
    local_now = now.astimezone(tz).replace(tzinfo=None, microsecond=0)
    today = local_now.date()
    started = set(s.scalars(select(SalesOrderLine.order_id).join(WorkOrder, WorkOrder.line_id == SalesOrderLine.id)
                            .where(WorkOrder.started_at.is_not(None))))

    voided = _order_to_void(uow, now)
    changed = next((o for o in reversed(orders) if o.status == OrderStatus.OPEN and o.stage == Stage.SCHEDULED
                    and o is not voided), None)
    kis_orders: list[Order] = []
    for n, o in enumerate(orders, start=1):
        audited = o.stage != Stage.RECEIVED or o.status != OrderStatus.OPEN
        status = {OrderStatus.CLOSED: 3, OrderStatus.VOIDED: 1}.get(OrderStatus(o.status), 2 if o.id in started else 1)
        check = o.created_at.astimezone(tz).replace(tzinfo=None, microsecond=0) + timedelta(hours=1)
        lines = [Line(ln.entry_id, item_id[ln.product_id], ln.qty, ln.due_date) for ln in o.lines]
        if o is changed:
            first = lines[0]
            lines[0] = Line(first.entry_id, first.item_id, first.qty + 1000, first.due + timedelta(days=2))
            check = local_now - timedelta(minutes=30)
        kis_orders.append(Order(
            ORDER_BASE + n, o.bill_no, o.order_date, cust_id[o.customer_id], lines, status=status if audited else 0,
            check_date=check if audited else None, cancelled=o.status == OrderStatus.VOIDED or o is voided,
        ))

    by_name = {c.name: c for c in customers}
    by_number = {p.item_number: p for p in products}
    last_bill = max(int(o.bill_no[5:]) for o in orders if o.bill_no[5:].isdigit())
    tasks: list[Task] = []
    for k, (cust, item, qty) in enumerate(NEW_ORDERS, start=1):
        if cust not in by_name or item not in by_number:
            continue
        inter_id = ORDER_BASE + len(orders) + k
        audited_at = local_now - timedelta(hours=len(NEW_ORDERS) - k + 1)
        start = datetime.combine(today + timedelta(days=1), datetime.min.time())
        days = max(1, math.ceil(qty / 5000))
        kis_orders.append(Order(inter_id, f"SEORD{last_bill + k:06d}", today, cust_id[by_name[cust].id],
                                [Line(1, item_id[by_number[item].id], qty, today + timedelta(days=14))],
                                check_date=audited_at))
        tasks.append(Task(TASK_BASE + k, f"WORK{k:06d}", item_id[by_number[item].id], qty, inter_id, start,
                          start + timedelta(days=days), department_id=1, check_date=audited_at))

    disabled = _item_to_disable(uow, now, tz)
    cnxn = pyodbc.connect(conn_str(path), autocommit=False)
    try:
        create_kis_tables(cnxn, staging_table)
        book = KisBook(cnxn)
        book.users([(AUDITOR_ID, "王会计")])
        book.departments(DEPARTMENTS)
        people = s.scalars(select(Person).order_by(Person.userid)).all()
        dept = {name: i for i, _, name in DEPARTMENTS}
        book.employees([(EMP_BASE + i, p.userid, p.name, dept.get(p.workshop or "")) for i, p in enumerate(people, 1)])
        book.customers([(cust_id[c.id], c.number, c.name) for c in customers])
        book.items([(item_id[p.id], p.item_number, p.name, p.model) for p in products])
        book.orders(kis_orders)
        book.tasks(tasks)
        if disabled is not None:
            book.update("t_ICItem", {"FItemID": item_id[disabled.id]}, FDeleted=1)
    finally:
        cnxn.close()

    open_count = sum(1 for o in kis_orders if o.status in (1, 2) and not o.cancelled)
    out = [f"已生成演示 KIS 数据库 {path}（SQLite，经 ODBC 驱动 SQLite3 访问）：",
           f"  客户 {len(customers)}，物料 {len(products)}，销售订单 {len(kis_orders)} 单（已审核未关闭 {open_count} 单），"
           f"生产任务单 {len(tasks)} 张，完工回写中间表 {staging_table}",
           f"  与 FactoryBot 的差异：新审核订单 {len(tasks)} 单（各带一张生产任务单）"]
    if changed is not None:
        out.append(f"  变更 1 单：{changed.bill_no} 第 1 行数量 +1000、交期推后 2 天（已重新审核）")
    if voided is not None:
        out.append(f"  作废 1 单：{voided.bill_no}")
    if disabled is not None:
        out.append(f"  物料 {disabled.item_number} {disabled.name} 在 KIS 中已禁用：它的完工回写会被 KIS 拒绝")
    out += ["下一步：", f'  export KIS_ODBC="{conn_str(path)}"', "  factorybot kis pull",
            "  factorybot kis push", "  factorybot kis demo-import   # 模拟 KIS 端入库作业", "  factorybot kis push"]
    return "\n".join(out)


def _order_to_void(uow: UnitOfWork, now: datetime) -> SalesOrder | None:
    """An open order whose work should have started but has not: the customer cancelled it."""
    reported = select(WorkReport.id).where(WorkReport.work_order_id == WorkOrder.id).exists()
    return uow.session.scalar(
        select(SalesOrder).join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
        .join(WorkOrder, WorkOrder.line_id == SalesOrderLine.id)
        .where(SalesOrder.status == OrderStatus.OPEN, WorkOrder.status == WorkOrderStatus.PLANNED,
               WorkOrder.planned_start < now, ~reported)
        .order_by(SalesOrder.bill_no).limit(1))


def _item_to_disable(uow: UnitOfWork, now: datetime, tz: ZoneInfo) -> Product | None:
    """An item finished in the last three days, so the first write-back has a refusal to show."""
    today = now.astimezone(tz).date()
    last_seq = (select(Operation.work_order_id, func.max(Operation.seq).label("seq"))
                .group_by(Operation.work_order_id).subquery())
    return uow.session.scalar(
        select(Product).join(WorkOrder, WorkOrder.product_id == Product.id)
        .join(WorkReport, WorkReport.work_order_id == WorkOrder.id)
        .join(Operation, Operation.id == WorkReport.operation_id)
        .join(last_seq, and_(last_seq.c.work_order_id == Operation.work_order_id, last_seq.c.seq == Operation.seq))
        .where(WorkReport.work_day >= today - timedelta(days=3), WorkReport.work_day < today,
               WorkReport.good_qty > 0, Product.item_number.not_in([item for _, item, _ in NEW_ORDERS]))
        .order_by(Product.item_number).limit(1))
