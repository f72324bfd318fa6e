"""Which work orders get a printed QR label (a 流转卡 sticker), and what the label says."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from domain.errors import DomainError, NotFound
from domain.models import SalesOrder, SalesOrderLine, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, WorkOrderStatus

# A label travels with the parts and invites reports; these can never take one again.
_DEAD_WORK_ORDER = {WorkOrderStatus.CLOSED: "已关闭", WorkOrderStatus.VOIDED: "已作废"}
_DEAD_ORDER = {OrderStatus.CLOSED: "所属订单已关闭", OrderStatus.VOIDED: "所属订单已作废"}


@dataclass(frozen=True)
class LabelData:
    code: str
    bill_no: str
    customer: str
    product_name: str
    item_number: str
    model: str | None
    planned_qty: int
    route: tuple[str, ...]
    mould: str | None
    machine: str | None
    workshop: str
    due_date: date
    planned_start: date  # the plant-day, not the UTC date
    printed_on: date  # tells a fresh label from an old one when a traveller is reprinted

    @property
    def route_text(self) -> str:
        return "→".join(self.route)


def _load() -> Select[WorkOrder]:
    return select(WorkOrder).options(
        selectinload(WorkOrder.operations),
        selectinload(WorkOrder.line).selectinload(SalesOrderLine.order),
    )


def _by_codes(uow: UnitOfWork, codes: list[str]) -> list[WorkOrder]:
    found = {
        wo.code.upper(): wo
        for wo in uow.session.scalars(_load().where(func.upper(WorkOrder.code).in_(codes)))
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(f"没有找到工单 {'、'.join(missing)}，请核对工单号。")
    return [found[c] for c in codes]


def _by_order(uow: UnitOfWork, bill_no: str) -> list[WorkOrder]:
    bill = bill_no.strip().upper()
    order_id = uow.session.scalar(select(SalesOrder.id).where(func.upper(SalesOrder.bill_no) == bill))
    if order_id is None:
        raise NotFound(f"没有找到订单 {bill_no.strip()}，请核对单号。")
    wos = uow.session.scalars(
        _load().join(WorkOrder.line).where(SalesOrderLine.order_id == order_id)
        .order_by(SalesOrderLine.entry_id, WorkOrder.code)
    ).all()
    if not wos:
        raise DomainError(f"订单 {bill_no.strip()} 还没有排产工单，没有可打印的标签。")
    return list(wos)


def _by_day(uow: UnitOfWork, day: date, tz: tzinfo) -> list[WorkOrder]:
    # The plant-day in local time, as a UTC range the stored naive-UTC column can be compared with.
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    wos = uow.session.scalars(
        _load().where(WorkOrder.planned_start >= start, WorkOrder.planned_start < end)
        .order_by(WorkOrder.planned_start, WorkOrder.code)
    ).all()
    if not wos:
        raise DomainError(f"{day.isoformat()} 没有计划开工的工单，没有可打印的标签。")
    return list(wos)


def _refuse_dead(wos: Iterable[WorkOrder]) -> None:
    dead = []
    for wo in wos:
        why = _DEAD_WORK_ORDER.get(WorkOrderStatus(wo.status)) or _DEAD_ORDER.get(OrderStatus(wo.line.order.status))
        if why:
            dead.append(f"{wo.code}（{why}）")
    if dead:
        raise DomainError(f"以下工单不能打印标签：{'、'.join(dead)}。请只选择仍在生产的工单。")


def _label(wo: WorkOrder, tz: tzinfo, today: date) -> LabelData:
    line = wo.line
    return LabelData(
        code=wo.code,
        bill_no=line.order.bill_no,
        customer=line.order.customer.name,
        product_name=wo.product.name,
        item_number=wo.product.item_number,
        model=wo.product.model,
        planned_qty=wo.planned_qty,
        route=tuple(op.name for op in wo.operations),
        mould=wo.mould,
        machine=wo.machine,
        workshop=wo.workshop,
        due_date=line.due_date,
        planned_start=wo.planned_start.astimezone(tz).date(),
        printed_on=today,
    )


def select_work_orders(
    uow: UnitOfWork,
    *,
    codes: Iterable[str] = (),
    bill_no: str | None = None,
    planned_day: date | None = None,
    tz: tzinfo,
    today: date,
) -> list[LabelData]:
    """Labels for the union of the selectors: codes in the order given, then the order's, then the day's.

    Each work order appears once. Refuses, naming them, unknown codes and orders, an empty selection, and
    closed or voided work orders (or ones under a closed or voided order).
    """
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    if not wanted and not bill_no and planned_day is None:
        raise DomainError("请指定要打印标签的工单号、订单号或计划开工日期。")
    picked: list[WorkOrder] = []
    if wanted:
        picked += _by_codes(uow, wanted)
    if bill_no:
        picked += _by_order(uow, bill_no)
    if planned_day is not None:
        picked += _by_day(uow, planned_day, tz)
    unique = list({wo.id: wo for wo in picked}.values())  # dicts keep first-seen order
    _refuse_dead(unique)
    return [_label(wo, tz, today) for wo in unique]
