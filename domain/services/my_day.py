"""A worker's own figures: today's reports (undone and corrected ones as such) and points, this month's points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from domain.models import Operation, PointsEntry, ReportCorrection, WorkOrder, WorkReport
from domain.services.people import active_person
from domain.uow import UnitOfWork


@dataclass(frozen=True)
class ReportLine:
    reported_at: datetime
    work_order_code: str
    operation: str
    good_qty: int
    defect_qty: int
    points: int
    report_id: int = 0
    undone: bool = False
    # As first reported, when a lead's 更正 or an undo changed it (None: as reported).
    original: tuple[int, int] | None = None


@dataclass(frozen=True)
class DaySummary:
    name: str
    day: date
    reports: tuple[ReportLine, ...]
    good_total: int
    defect_total: int
    points_today: int
    points_month: int


def _originals(uow: UnitOfWork, report_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Each changed report's quantities as first reported: the old ones of its first correction."""
    out: dict[int, tuple[int, int]] = {}
    for part in range(0, len(report_ids), 500):
        for rid, good, defect in uow.session.execute(
                select(ReportCorrection.work_report_id, ReportCorrection.old_good, ReportCorrection.old_defect)
                .where(ReportCorrection.work_report_id.in_(report_ids[part:part + 500]))
                .order_by(ReportCorrection.id)):
            out.setdefault(rid, (good, defect))
    return out


def day_summary(uow: UnitOfWork, userid: str, *, day: date) -> DaySummary:
    person = active_person(uow, userid)
    rows = uow.session.execute(
        select(WorkReport.reported_at, WorkOrder.code, Operation.name, WorkReport.good_qty, WorkReport.defect_qty,
               WorkReport.points, WorkReport.id, WorkReport.undone_at.is_not(None))
        .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
        .join(Operation, Operation.id == WorkReport.operation_id)
        .where(WorkReport.operator_id == person.id, WorkReport.work_day == day)
        .order_by(WorkReport.reported_at, WorkReport.id)
    ).all()
    originals = _originals(uow, [row[6] for row in rows])
    lines = tuple(ReportLine(*row[:7], undone=bool(row[7]), original=originals.get(row[6])) for row in rows)
    def points_since(first: date) -> int:
        total = uow.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.person_id == person.id, PointsEntry.work_day >= first, PointsEntry.work_day <= day
            )
        )
        return int(total or 0)

    return DaySummary(
        name=person.name,
        day=day,
        reports=lines,
        good_total=sum(r.good_qty for r in lines),
        defect_total=sum(r.defect_qty for r in lines),
        points_today=points_since(day),
        points_month=points_since(day.replace(day=1)),
    )
