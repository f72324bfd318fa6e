"""How an order moves through 接单→评审→排产→领料→生产→质检→入库→出货."""

from __future__ import annotations

from datetime import datetime

from domain.models import Operation, SalesOrder, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import OperationStatus, Stage, WorkOrderStatus

QC_OPERATION = "质检"


def advance(order: SalesOrder, stage: Stage, now: datetime) -> bool:
    """Stages only move forward; returns whether the order moved."""
    if Stage(order.stage).rank >= stage.rank:
        return False
    order.stage = stage
    order.updated_at = now
    return True


def advance_after_report(uow: UnitOfWork, wo: WorkOrder, op: Operation, now: datetime) -> None:
    order = wo.line.order
    advance(order, Stage.PRODUCTION, now)
    # Any step can be the one that brings the last line into inspection (trimming finishing under a 质检
    # already begun), so every report asks.
    if all_at_qc(order):
        advance(order, Stage.QC, now)
    advance_when_made(order, now)


def _owed_work_orders(order: SalesOrder) -> list[WorkOrder]:
    """The live work orders of the lines still owed (all lines once every one is closed)."""
    lines = [ln for ln in order.lines if ln.closed_at is None] or list(order.lines)
    return [w for ln in lines for w in ln.work_orders if w.status != WorkOrderStatus.VOIDED]


def _at_qc(wo: WorkOrder) -> bool:
    """Made and in inspection: every step before 质检 done and 质检 begun (or the work order finished)."""
    if wo.status in (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED):
        return True
    ops = sorted(wo.operations, key=lambda o: o.seq)
    qc = next((i for i, o in enumerate(ops) if o.name == QC_OPERATION), None)
    return (qc is not None and ops[qc].status != OperationStatus.PENDING
            and all(o.status == OperationStatus.DONE for o in ops[:qc]))


def all_at_qc(order: SalesOrder) -> bool:
    """质检 is the order's stage only when no line it still owes is being made: the least advanced line
    decides, so a second line still moulding keeps the order in 生产."""
    work_orders = _owed_work_orders(order)
    return bool(work_orders) and all(_at_qc(w) for w in work_orders)


def advance_when_made(order: SalesOrder, now: datetime) -> bool:
    """入库 once every live work order is done or closed: by the last step reported in chat, or in KIS by
    product receipts (产品入库) covering the task or the task closed (结案)."""
    work_orders = [w for line in order.lines for w in line.work_orders]
    live = [w for w in work_orders if w.status != WorkOrderStatus.VOIDED]
    if live and all(w.status in (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED) for w in live):
        return advance(order, Stage.STOCKED, now)
    return False


def advance_when_shipped(order: SalesOrder, now: datetime) -> bool:
    """出货 once every line still owed (not closed) has shipped in full; the order's shipment is the last
    line's. Returns whether the order's shipment date was set or moved."""
    owed = [ln for ln in order.lines if ln.closed_at is None]
    days = [ln.shipped_at for ln in owed if ln.shipped_at is not None]
    if not owed or len(days) < len(owed):
        return False
    moved = order.shipped_at != max(days)
    order.shipped_at = max(days)
    advance(order, Stage.SHIPPED, now)
    return moved


def derived_stage(order: SalesOrder) -> Stage:
    """What the stage should be from the work orders alone (used by the demo generator and checks)."""
    work_orders = [w for line in order.lines for w in line.work_orders if w.status != WorkOrderStatus.VOIDED]
    if not work_orders:
        return Stage(order.stage)
    if all(w.status == WorkOrderStatus.DONE for w in work_orders):
        return Stage.STOCKED
    ops = [o for w in work_orders for o in w.operations]
    if all_at_qc(order) and any(o.name == QC_OPERATION and o.status != OperationStatus.PENDING for o in ops):
        return Stage.QC
    if any(o.status != OperationStatus.PENDING for o in ops):
        return Stage.PRODUCTION
    return Stage.SCHEDULED
