"""Plan completion, and good and defect quantities by product and mould, from the floor's reports.

Moulding is a work order's first operation (as in the alerts' defect rule, alerts/engine.py); finished pieces
are the good pieces its last operation reported (as in domain/services/orders.py, where they are the line's
done quantity). All quantities are counted by the report's production day (WorkReport.work_day).

A work order's planned finish is an end moment: it is due on the production day it closes (due_day). On a
2x12 plant KIS's due date D is planned to finish at D+1 08:00, the end of D's production day, so it is due
on D, filed in D's month, and on time when it finished within D's production day (its night included).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, select

from domain.models import Operation, Product, WorkOrder, WorkReport
from domain.plant_calendar import PlantCalendar
from domain.uow import UnitOfWork
from domain.vocab import WorkOrderStatus
from reports.month import Month

_FINISHED = (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED)
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class PlanCompletion:
    """Work orders planned to finish in the month: how many finished by their planned day, how much was made."""

    work_orders: int
    finished_on_time: int
    planned_qty: int
    done_qty: int  # finished pieces by the month's last day, each work order counted up to its plan

    @property
    def qty_pct(self) -> float | None:
        return 100 * self.done_qty / self.planned_qty if self.planned_qty else None

    @property
    def on_time_pct(self) -> float | None:
        return 100 * self.finished_on_time / self.work_orders if self.work_orders else None


@dataclass(frozen=True)
class QualityRow:
    item_number: str
    product: str
    mould: str
    moulded_good: int
    moulded_defect: int
    later_defect: int  # scrapped by the operations after moulding (修边, 质检, 包装…)
    finished_good: int

    @property
    def moulded(self) -> int:
        return self.moulded_good + self.moulded_defect

    @property
    def defects(self) -> int:
        return self.moulded_defect + self.later_defect

    @property
    def moulding_defect_pct(self) -> float | None:
        """注塑不良率: the alerts' defect rate, defects over what moulding reported."""
        return 100 * self.moulded_defect / self.moulded if self.moulded else None

    @property
    def defect_pct(self) -> float | None:
        """综合不良率: everything scrapped at any operation, over what was moulded."""
        return 100 * self.defects / self.moulded if self.moulded else None


def total_quality(rows: list[QualityRow]) -> QualityRow:
    return QualityRow("", "合计", "", sum(r.moulded_good for r in rows), sum(r.moulded_defect for r in rows),
                      sum(r.later_defect for r in rows), sum(r.finished_good for r in rows))


@dataclass(frozen=True)
class ParetoBar:
    label: str
    defects: int
    cumulative_pct: float


def defect_pareto(rows: list[QualityRow], top: int = 15) -> list[ParetoBar]:
    """Defects by product and mould, largest first; the tail beyond `top` is one 其他 bar."""
    ranked = sorted((r for r in rows if r.defects), key=lambda r: (-r.defects, r.item_number, r.mould))
    total = sum(r.defects for r in ranked)
    bars: list[tuple[str, int]] = [(f"{r.product} {r.mould}".strip(), r.defects) for r in ranked[:top]]
    rest = sum(r.defects for r in ranked[top:])
    if rest:
        bars.append((f"其他 {len(ranked) - top} 项", rest))
    out, running = [], 0
    for label, defects in bars:
        running += defects
        out.append(ParetoBar(label, defects, 100 * running / total))
    return out


def _last_operation() -> Select[int, int]:
    return select(Operation.work_order_id.label("wo_id"), func.max(Operation.seq).label("seq")).group_by(
        Operation.work_order_id)


def due_day(calendar: PlantCalendar, planned_finish: datetime) -> date:
    """The production day a work order planned to finish at `planned_finish` is due: on a plant of several
    shifts an end at a production day's boundary (08:00) closes the day before; a one-shift plant's is the
    calendar date of the moment, as it always was."""
    if calendar.multi_shift:
        return calendar.production_day(planned_finish - _INSTANT)
    return calendar.production_day(planned_finish)


def _due_in(calendar: PlantCalendar, month: Month) -> tuple[ColumnElement[bool], ...]:
    """Work orders due (due_day) in the month, as a query's conditions."""
    if calendar.multi_shift:
        start, end = calendar.day_window(month.first)[0], calendar.day_window(month.last)[1]
        return WorkOrder.planned_finish > start, WorkOrder.planned_finish <= end
    start, end = month.utc_bounds(calendar.tz)
    return WorkOrder.planned_finish >= start, WorkOrder.planned_finish < end


def plan_completion(uow: UnitOfWork, month: Month, calendar: PlantCalendar) -> PlanCompletion:
    planned = (*_due_in(calendar, month), WorkOrder.status != WorkOrderStatus.VOIDED)
    orders = uow.session.execute(
        select(WorkOrder.id, WorkOrder.planned_qty, WorkOrder.status, WorkOrder.finished_at, WorkOrder.planned_finish)
        .where(*planned)
    ).all()
    last = _last_operation().subquery()
    done = dict(uow.session.execute(
        select(WorkReport.work_order_id, func.sum(WorkReport.good_qty))
        .join(Operation, Operation.id == WorkReport.operation_id)
        .join(last, and_(last.c.wo_id == Operation.work_order_id, last.c.seq == Operation.seq))
        .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
        .where(*planned, WorkReport.work_day <= month.last)
        .group_by(WorkReport.work_order_id)
    ).all())

    def on_time(status: str, finished: datetime | None, planned_finish: datetime) -> bool:
        return (status in _FINISHED and finished is not None
                and calendar.production_day(finished) <= due_day(calendar, planned_finish))

    return PlanCompletion(
        work_orders=len(orders),
        finished_on_time=sum(1 for _, _, status, fin, pf in orders if on_time(status, fin, pf)),
        planned_qty=sum(qty for _, qty, *_ in orders),
        done_qty=sum(min(qty, int(done.get(wo_id, 0))) for wo_id, qty, *_ in orders),
    )


def quality(uow: UnitOfWork, month: Month) -> list[QualityRow]:
    """Per product and mould, what the month's reports counted; the most moulded first."""
    return quality_between(uow, month.first, month.last)


def quality_between(uow: UnitOfWork, first: date, last_day: date) -> list[QualityRow]:
    last = _last_operation().subquery()
    rows = uow.session.execute(
        select(Product.item_number, Product.name, WorkOrder.mould, Operation.seq, last.c.seq,
               func.sum(WorkReport.good_qty), func.sum(WorkReport.defect_qty))
        .select_from(WorkReport)
        .join(Operation, Operation.id == WorkReport.operation_id)
        .join(last, last.c.wo_id == Operation.work_order_id)
        .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(WorkReport.work_day >= first, WorkReport.work_day <= last_day)
        .group_by(Product.item_number, Product.name, WorkOrder.mould, Operation.seq, last.c.seq)
    ).all()
    acc: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for item, name, mould, seq, last_seq, good, defect in rows:
        cell = acc[(item, name, mould or "")]
        if seq == 1:
            cell[0] += int(good)
            cell[1] += int(defect)
        else:
            cell[2] += int(defect)
        if seq == last_seq:
            cell[3] += int(good)
    out = [QualityRow(item, name, mould, *cell) for (item, name, mould), cell in acc.items()]
    return sorted(out, key=lambda r: (-r.moulded, r.item_number, r.mould))
