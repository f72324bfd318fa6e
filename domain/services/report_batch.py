"""report_work's rule for many reports at once, on work orders already loaded: for builders (the demo plant)
that replay thousands of reports and cannot afford report_work's per-report queries and row locks.

It is the same rule, not a copy: the operation is chosen by `_choose_operation` (workshop, done), bounded by
`capacity`, closed by `_refresh_done` and the order moved by `advance_after_report`, all from the services.
Nothing here reads the database: the caller loads the work orders with their operations, lines and orders,
and inserts the returned rows in bulk. Not for chat: no row lock, no duplicate check by source key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import DomainError
from domain.models import Person, WorkOrder
from domain.policy import PlantPolicy
from domain.services.reporting import (
    MAX_QTY_PER_REPORT,
    _choose_operation,
    _done_message,
    _over_message,
    _refresh_done,
    capacity,
)
from domain.services.stages import advance_after_report
from domain.uow import UnitOfWork
from domain.vocab import OperationStatus, WorkOrderStatus


@dataclass(frozen=True)
class CountedReport:
    """A counted report's rows: `report` for WorkReport, `points` for its PointsEntry (add work_report_id)."""

    report: dict[str, Any]
    points: dict[str, Any]


def count_report(
    uow: UnitOfWork,
    policy: PlantPolicy,
    wo: WorkOrder,
    person: Person,
    *,
    operation_name: str,
    good_qty: int,
    defect_qty: int,
    source_key: str,
    now: datetime,
) -> CountedReport:
    """Count one report on a loaded work order as report_work would, or raise its DomainError."""
    if good_qty < 0 or defect_qty < 0 or good_qty + defect_qty <= 0:
        raise DomainError("数量必须大于0：良品和不良品都不能为负数，且不能同时为0。")
    if good_qty > MAX_QTY_PER_REPORT or defect_qty > MAX_QTY_PER_REPORT:
        raise DomainError("数量过大，请核对后重新填写。")
    if wo.status in (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED, WorkOrderStatus.VOIDED):
        raise DomainError(f"工单 {wo.code} {WorkOrderStatus(wo.status).label}，不能再报工。")
    op = _choose_operation(wo, person, operation_name)
    if op.status == OperationStatus.DONE:
        raise DomainError(_done_message(wo, op))
    cap = capacity(wo, op, policy)
    first = op.seq == wo.operations[0].seq
    taken = good_qty if first else good_qty + defect_qty
    if taken > cap.limit:
        raise DomainError(_over_message(wo, op, cap, taken))
    op.good_qty += good_qty
    op.defect_qty += defect_qty
    if op.started_at is None:
        op.started_at = now
    if wo.started_at is None:
        wo.started_at = now
    if wo.status == WorkOrderStatus.PLANNED:
        wo.status = WorkOrderStatus.IN_PROGRESS
    _refresh_done(wo, now)
    advance_after_report(uow, wo, op, now)
    work_day = policy.work_day(now)
    points = policy.points_for(good_qty)
    report = dict(source_key=source_key, work_order_id=wo.id, operation_id=op.id, operator_id=person.id,
                  good_qty=good_qty, defect_qty=defect_qty, points=points, reported_at=now, work_day=work_day)
    entry = dict(person_id=person.id, points=points, reason=f"报工 {wo.code} {op.name}", work_day=work_day,
                 created_at=now)
    return CountedReport(report, entry)
