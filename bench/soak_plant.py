"""The soak's plant: people in four workshops (with the leads and managers notices and alert cards go to) and
open work orders starting now, so no 未开工 alert fires on its own and every alert card is one the soak caused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.db import make_engine, make_session_factory
from domain.models import Customer, Operation, Person, Product, SalesOrder, SalesOrderLine, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import Stage

ROUTE = (("注塑", "注塑车间"), ("修边", "后加工车间"), ("质检", "质检部"), ("包装", "后加工车间"))
PEOPLE = (
    # userid, name, roles, workshop
    ("w1", "张三", "worker", "注塑车间"),
    ("w2", "王二", "worker", "注塑车间"),
    ("t1", "小李", "worker", "后加工车间"),
    ("t2", "小周", "worker", "后加工车间"),
    ("q1", "钱七", "worker", "质检部"),
    ("lead", "李四", "team_lead", "后加工车间"),
    ("qlead", "吴九", "team_lead", "质检部"),
    ("sup", "王五", "supervisor", "注塑车间"),
    ("sup2", "孙八", "supervisor", "后加工车间"),
    ("ops", "赵六", "ops_manager", None),
    ("boss", "陈总", "executive", None),
    ("admin", "管理员", "admin", None),
)
WORKERS = {"注塑车间": ("w1", "w2"), "后加工车间": ("t1", "t2"), "质检部": ("q1",)}


@dataclass(frozen=True)
class PlantOrder:
    wo_code: str
    bill_no: str
    planned_qty: int


def exception_recipients(workshop: str | None) -> set[str]:
    """Who the 现场异常 card goes to by default (alerts/policy.py DEFAULT_ROUTE): the workshop's supervisors and
    the operations managers; worked out here from the plant, not read back from the bot."""
    return {u for u, _, roles, shop in PEOPLE
            if (roles == "supervisor" and shop == workshop) or roles == "ops_manager"}


def workshop_of(userid: str) -> str | None:
    return next(shop for u, _, _, shop in PEOPLE if u == userid)


def seed(db_url: str, orders: int, planned_qty: int, now: datetime | None = None) -> list[PlantOrder]:
    now = now or datetime.now(UTC)
    day = now.date()
    out: list[PlantOrder] = []
    engine = make_engine(db_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        session = uow.session
        for userid, name, roles, workshop in PEOPLE:
            session.add(Person(userid=userid, name=name, roles_csv=roles, workshop=workshop))
        customer = Customer(number="C0001", name="美的集团")
        session.add(customer)
        for i in range(1, orders + 1):
            bill, code = f"SEORD9{i:05d}", f"WO{day:%Y%m%d}-S{i:02d}"
            product = Product(item_number=f"3.01.{9000 + i}", name="电饭煲上盖", model="ABS 白色")
            order = SalesOrder(bill_no=bill, customer=customer, order_date=day - timedelta(days=3),
                               stage=Stage.SCHEDULED, created_at=now, updated_at=now)
            line = SalesOrderLine(order=order, entry_id=1, product=product, qty=planned_qty, due_date=day + timedelta(days=5))
            wo = WorkOrder(code=code, line=line, product=product, planned_qty=planned_qty, daily_plan_qty=planned_qty,
                           planned_start=now, planned_finish=now + timedelta(days=1), mould=f"M-{i:03d}",
                           machine=f"P{i:02d}", workshop="注塑车间")
            for seq, (op_name, workshop) in enumerate(ROUTE, 1):
                wo.operations.append(Operation(seq=seq, name=op_name, workshop=workshop))
            session.add_all([order, line, wo])
            out.append(PlantOrder(code, bill, planned_qty))
        uow.commit()
    engine.dispose()
    return out
