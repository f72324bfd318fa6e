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
    if op.name == QC_OPERATION:
        advance(order, Stage.QC, now)
    work_orders = [w for line in order.lines for w in line.work_orders]
    live = [w for w in work_orders if w.status != WorkOrderStatus.VOIDED]
    if live and all(w.status in (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED) for w in live):
        advance(order, Stage.STOCKED, now)


def derived_stage(order: SalesOrder) -> Stage:
    """What the stage should be from the work orders alone (used by the demo generator and checks)."""
    work_orders = [w for line in order.lines for w in line.work_orders if w.status != WorkOrderStatus.VOIDED]
    if not work_orders:
        return Stage(order.stage)
    if all(w.status == WorkOrderStatus.DONE for w in work_orders):
        return Stage.STOCKED
    ops = [o for w in work_orders for o in w.operations]
    if any(o.name == QC_OPERATION and o.status != OperationStatus.PENDING for o in ops):
        return Stage.QC
    if any(o.status != OperationStatus.PENDING for o in ops):
        return Stage.PRODUCTION
    return Stage.SCHEDULED
