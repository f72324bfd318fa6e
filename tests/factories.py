"""Small, explicit plants for tests (the big demo plant lives in domain/demo/)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.models import Customer, Operation, Person, Product, SalesOrder, SalesOrderLine, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import Stage

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
TODAY = date(2026, 11, 25)
TZ = ZoneInfo("Asia/Shanghai")  # the plant's (PlantPolicy's default)
ROUTE = (("注塑", "注塑车间"), ("修边", "后加工车间"), ("质检", "质检部"), ("包装", "后加工车间"))

PEOPLE = (
    ("w1", "张三", "worker", "注塑车间"),
    ("w2", "王二", "worker", "注塑车间"),
    ("t1", "小李", "worker", "后加工车间"),
    ("q1", "钱七", "worker", "质检部"),
    ("lead", "李四", "team_lead", "后加工车间"),
    ("sup", "王五", "supervisor", "注塑车间"),
    ("boss", "陈总", "executive", None),
    ("admin", "管理员", "admin", None),
)


def add_people(uow: UnitOfWork) -> None:
    for userid, name, roles, workshop in PEOPLE:
        uow.session.add(Person(userid=userid, name=name, roles_csv=roles, workshop=workshop))
    uow.flush()


def add_order(
    uow: UnitOfWork,
    *,
    bill_no: str = "SEORD000001",
    customer: str = "美的集团",
    qty: int = 1000,
    wo_code: str = "WO20261125-01",
    due: date = TODAY + timedelta(days=5),
    route: tuple[tuple[str, str], ...] = ROUTE,
    stage: Stage = Stage.SCHEDULED,
) -> WorkOrder:
    session = uow.session
    cust = session.query(Customer).filter_by(name=customer).one_or_none()
    if cust is None:
        cust = Customer(number=f"C{abs(hash(customer)) % 10000:04d}", name=customer)
        session.add(cust)
    product = Product(item_number=f"3.01.{bill_no[-4:]}", name="电饭煲上盖", model="ABS 白色")
    order = SalesOrder(
        bill_no=bill_no, customer=cust, order_date=TODAY - timedelta(days=3), stage=stage,
        created_at=NOW, updated_at=NOW,
    )
    line = SalesOrderLine(order=order, entry_id=1, product=product, qty=qty, due_date=due)
    wo = WorkOrder(
        code=wo_code, line=line, product=product, planned_qty=qty, daily_plan_qty=qty,
        planned_start=NOW - timedelta(hours=2), planned_finish=NOW + timedelta(days=1),
        mould="M-001", machine="P01", workshop="注塑车间",
    )
    for seq, (name, workshop) in enumerate(route, 1):
        wo.operations.append(Operation(seq=seq, name=name, workshop=workshop))
    session.add_all([order, line, wo])
    uow.flush()
    return wo


def small_plant(uow: UnitOfWork) -> WorkOrder:
    add_people(uow)
    return add_order(uow)
