"""Order progress: by bill number, by customer, and a person's own open work."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import selectinload

from domain.errors import DomainError, NotFound
from domain.models import (
    Customer,
    Operation,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from domain.services import on_time
from domain.services.people import active_person
from domain.uow import UnitOfWork
from domain.vocab import (
    STAGE_ORDER,
    ExceptionStatus,
    OperationStatus,
    OrderStatus,
    Role,
    Stage,
    WorkOrderStatus,
)

BILL_NO_RE = re.compile(r"^[A-Za-z]{2,10}\d{3,}[A-Za-z0-9-]*$")
MAX_MATCHES = 10


@dataclass(frozen=True)
class OperationProgress:
    seq: int
    name: str
    workshop: str
    good_qty: int
    defect_qty: int
    target_qty: int
    status: str

    @property
    def status_label(self) -> str:
        return OperationStatus(self.status).label

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.good_qty / self.target_qty)) if self.target_qty else 0


@dataclass(frozen=True)
class WorkOrderProgress:
    code: str
    planned_qty: int
    status: str
    status_label: str
    machine: str | None
    mould: str | None
    workshop: str
    planned_start: str
    planned_finish: str
    operations: tuple[OperationProgress, ...]


@dataclass(frozen=True)
class LineProgress:
    entry_id: int
    item_number: str
    product_name: str
    model: str | None
    qty: int
    due_date: str
    done_qty: int
    work_orders: tuple[WorkOrderProgress, ...]


@dataclass(frozen=True)
class ExceptionInfo:
    id: int
    type: str
    status: str
    status_label: str
    work_order_code: str | None
    opened_at: str
    description: str


@dataclass(frozen=True)
class OrderProgress:
    bill_no: str
    customer: str
    order_date: str
    status: str
    stage: str
    stage_label: str
    stage_index: int
    stages: tuple[str, ...]
    due_date: str
    late: bool
    lines: tuple[LineProgress, ...]
    open_exceptions: tuple[ExceptionInfo, ...]
    days_late: int = 0  # how late, while late (on_time.order_delay)
    late_done: bool = False  # every late line is done: the delay is final

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OrderSummary:
    bill_no: str
    customer: str
    stage_label: str
    due_date: str
    qty: int
    done_qty: int
    late: bool
    days_late: int = 0
    late_done: bool = False


@dataclass(frozen=True)
class WorkOrderDetail:
    """One work order typed in chat, with the order it makes."""

    work_order: WorkOrderProgress
    kis_task_no: str | None
    product_name: str
    item_number: str
    line_qty: int
    line_due: str
    entry_id: int
    order: OrderSummary
    planned_start: datetime
    planned_finish: datetime


def _order_query() -> Any:
    return select(SalesOrder).options(
        selectinload(SalesOrder.lines)
        .selectinload(SalesOrderLine.work_orders)
        .selectinload(WorkOrder.operations)
    )


def order_progress(uow: UnitOfWork, bill_no: str, *, today: date, tz: tzinfo) -> OrderProgress:
    order = uow.session.scalar(_order_query().where(func.upper(SalesOrder.bill_no) == bill_no.strip().upper()))
    if order is None:
        raise NotFound(f"没有找到订单 {bill_no.strip()}，请核对单号。")
    wo_ids = [w.id for line in order.lines for w in line.work_orders]
    exceptions = (
        uow.session.scalars(
            select(ShopException)
            .where(ShopException.work_order_id.in_(wo_ids), ShopException.status != ExceptionStatus.CLOSED)
            .order_by(ShopException.opened_at)
        ).all()
        if wo_ids
        else []
    )
    return _progress(order, exceptions, today, tz)


def work_order_detail(uow: UnitOfWork, code: str, *, today: date, tz: tzinfo) -> WorkOrderDetail | None:
    """A work order by its code (WO20261202-04) or its KIS production-task number (WORK000201); None if
    neither is one."""
    wanted = code.strip().upper()
    wo = uow.session.scalar(
        select(WorkOrder).options(selectinload(WorkOrder.operations))
        .where(or_(func.upper(WorkOrder.code) == wanted, func.upper(WorkOrder.kis_icmo_bill_no) == wanted))
        .order_by(WorkOrder.id).limit(1))
    if wo is None:
        return None
    line = wo.line
    return WorkOrderDetail(
        work_order=_work_order(wo),
        kis_task_no=wo.kis_icmo_bill_no,
        product_name=line.product.name,
        item_number=line.product.item_number,
        line_qty=line.qty,
        line_due=line.due_date.isoformat(),
        entry_id=line.entry_id,
        order=_summary(line.order, today, tz),
        planned_start=wo.planned_start,
        planned_finish=wo.planned_finish,
    )


def find_by_number(uow: UnitOfWork, number: str, *, today: date, tz: tzinfo) -> OrderProgress | WorkOrderDetail:
    """What a number typed in chat is: an order's bill number, else a work order's code or KIS task number."""
    try:
        return order_progress(uow, number, today=today, tz=tz)
    except NotFound:
        detail = work_order_detail(uow, number, today=today, tz=tz)
    if detail is None:
        raise NotFound(f"没有找到单号为 {number.strip()} 的订单或工单，请核对单号。")
    return detail


def _progress(order: SalesOrder, exceptions: Any, today: date, tz: tzinfo) -> OrderProgress:
    lines = tuple(_line(line) for line in order.lines)
    due = min((line.due_date for line in order.lines), default=order.order_date)
    stage = Stage(order.stage)
    late, days_late, late_done = _lateness(order, today, tz)
    return OrderProgress(
        bill_no=order.bill_no,
        customer=order.customer.name,
        order_date=order.order_date.isoformat(),
        status=order.status,
        stage=stage.value,
        stage_label=stage.label,
        stage_index=stage.rank,
        stages=tuple(s.label for s in STAGE_ORDER),
        due_date=due.isoformat(),
        late=late, days_late=days_late, late_done=late_done,
        lines=lines,
        open_exceptions=tuple(
            ExceptionInfo(
                id=e.id,
                type=e.type,
                status=e.status,
                status_label=ExceptionStatus(e.status).label,
                work_order_code=e.work_order.code if e.work_order else None,
                opened_at=e.opened_at.isoformat(timespec="minutes"),
                description=e.description,
            )
            for e in exceptions
        ),
    )


def _line(line: SalesOrderLine) -> LineProgress:
    wos = tuple(_work_order(w) for w in line.work_orders if w.status != WorkOrderStatus.VOIDED)
    return LineProgress(
        entry_id=line.entry_id,
        item_number=line.product.item_number,
        product_name=line.product.name,
        model=line.product.model,
        qty=line.qty,
        due_date=line.due_date.isoformat(),
        done_qty=_line_done(line),
        work_orders=wos,
    )


def _line_done(line: SalesOrderLine) -> int:
    """Finished pieces: what the last operation of each live work order has passed."""
    return sum(
        w.operations[-1].good_qty for w in line.work_orders if w.operations and w.status != WorkOrderStatus.VOIDED
    )


def _work_order(wo: WorkOrder) -> WorkOrderProgress:
    # Every step is shown against the plan: that is the number the floor and the office talk about.
    ops = [
        OperationProgress(
            seq=op.seq,
            name=op.name,
            workshop=op.workshop,
            good_qty=op.good_qty,
            defect_qty=op.defect_qty,
            target_qty=wo.planned_qty,
            status=op.status,
        )
        for op in wo.operations
    ]
    status = WorkOrderStatus(wo.status)
    return WorkOrderProgress(
        code=wo.code,
        planned_qty=wo.planned_qty,
        status=status.value,
        status_label=status.label,
        machine=wo.machine,
        mould=wo.mould,
        workshop=wo.workshop,
        planned_start=wo.planned_start.isoformat(timespec="minutes"),
        planned_finish=wo.planned_finish.isoformat(timespec="minutes"),
        operations=tuple(ops),
    )


def _lateness(order: SalesOrder, today: date, tz: tzinfo) -> tuple[bool, int, bool]:
    """late, days_late and late_done of an order, from one reading of the one on-time rule
    (domain/services/on_time.py, read once: it loads the lines' work orders), as the board and the monthly report judge: a line finished into stock on
    time is not late while it waits to ship; a line done late counts to the day it was done (逾期 5 天完工),
    one still owed to today."""
    delay = on_time.order_delay(order, today, tz)
    return (False, 0, False) if delay is None else (True, delay.days, delay.done)


def _summary(order: SalesOrder, today: date, tz: tzinfo) -> OrderSummary:
    late, days_late, late_done = _lateness(order, today, tz)
    return OrderSummary(
        bill_no=order.bill_no,
        customer=order.customer.name,
        stage_label=Stage(order.stage).label,
        due_date=min((line.due_date for line in order.lines), default=order.order_date).isoformat(),
        qty=sum(line.qty for line in order.lines),
        done_qty=sum(_line_done(line) for line in order.lines),
        late=late, days_late=days_late, late_done=late_done,
    )


def looks_like_bill_no(text: str) -> bool:
    return bool(BILL_NO_RE.match(text.strip()))


def search_orders(
    uow: UnitOfWork, query: str, *, today: date, tz: tzinfo, limit: int | None = MAX_MATCHES
) -> tuple[list[OrderSummary], int]:
    """Open orders whose customer name or number contains `query`; returns (first matches, total count)."""
    q = query.strip()
    if len(q) < 2:
        raise DomainError("请输入至少两个字的客户名称，或完整的订单号。")
    base = (
        _order_query()
        .join(SalesOrder.customer)
        .where(
            SalesOrder.status == OrderStatus.OPEN,
            SalesOrder.stage != Stage.SHIPPED,
            # What was typed is matched literally: % and _ in a name are characters, not wildcards.
            or_(Customer.name.contains(q, autoescape=True), Customer.number.contains(q, autoescape=True)),
        )
    )
    orders = uow.session.scalars(base.order_by(SalesOrder.order_date, SalesOrder.bill_no)).unique().all()
    summaries = sorted((_summary(o, today, tz) for o in orders), key=lambda s: (not s.late, s.due_date))
    return (summaries if limit is None else summaries[:limit]), len(summaries)


def my_orders(uow: UnitOfWork, userid: str, *, today: date, tz: tzinfo) -> list[OrderSummary]:
    """Open orders the person has reported on; team leads and supervisors also see their workshop's."""
    person = active_person(uow, userid)
    reported = select(WorkReport.work_order_id).where(WorkReport.operator_id == person.id)
    conditions: list[ColumnElement[bool]] = [WorkOrder.id.in_(reported)]
    if person.workshop and person.has_role(Role.TEAM_LEAD, Role.SUPERVISOR):
        conditions.append(WorkOrder.workshop == person.workshop)
        conditions.append(WorkOrder.id.in_(select(Operation.work_order_id).where(Operation.workshop == person.workshop)))
    order_ids = (
        select(SalesOrderLine.order_id)
        .join(WorkOrder, WorkOrder.line_id == SalesOrderLine.id)
        .where(
            or_(*conditions),
            WorkOrder.status.in_([WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS]),
        )
    )
    orders = uow.session.scalars(
        _order_query().where(SalesOrder.id.in_(order_ids), SalesOrder.status == OrderStatus.OPEN)
    ).all()
    return sorted((_summary(o, today, tz) for o in orders), key=lambda s: (not s.late, s.due_date))[:MAX_MATCHES]
