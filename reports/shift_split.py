"""The month's output split by shift and by crew (班次、班组): good, defect, defect rate and reports, from
each report's recorded shift and crew. Only for a plant with more than one shift or with crews: a one-shift
plant's report stays as it was.

Output is moulding's, a work order's first operation, as everywhere else in the report (注塑良品 and
注塑不良率 of the overview and the quality table, reports/production.py) and in the shift's plan figure
(domain/services/shift_output.py): adding up trimming, inspection and packing would count each piece once
per operation it passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from domain.models import Operation, WorkReport
from domain.plant_calendar import PlantCalendar
from domain.uow import UnitOfWork
from reports.month import Month

NO_SHIFT = "未记录班次"  # reported before shifts were recorded
NO_CREW = "未排班组"  # a shift no crew was rostered on


@dataclass(frozen=True)
class OutputRow:
    label: str
    reports: int
    good: int
    defect: int

    @property
    def defect_pct(self) -> float | None:
        """注塑不良率: moulding's defects over what it reported (good + defect)."""
        made = self.good + self.defect
        return 100 * self.defect / made if made else None


@dataclass(frozen=True)
class ShiftSplit:
    by_shift: list[OutputRow]
    by_crew: list[OutputRow]  # empty when no report of the month names a crew
    total: OutputRow

    @property
    def shown(self) -> bool:
        return bool(self.by_shift)


NO_SPLIT = ShiftSplit([], [], OutputRow("合计", 0, 0, 0))


def _grouped(uow: UnitOfWork, month: Month, column: Any) -> dict[str | None, OutputRow]:
    rows = uow.session.execute(
        select(column, func.count(), func.coalesce(func.sum(WorkReport.good_qty), 0),
               func.coalesce(func.sum(WorkReport.defect_qty), 0))
        .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
        .where(WorkReport.work_day >= month.first, WorkReport.work_day <= month.last).group_by(column))
    return {key: OutputRow(key or "", int(n), int(g), int(d)) for key, n, g, d in rows}


def _relabel(row: OutputRow, label: str) -> OutputRow:
    return OutputRow(label, row.reports, row.good, row.defect)


def shift_split(uow: UnitOfWork, month: Month, calendar: PlantCalendar) -> ShiftSplit:
    crews = _grouped(uow, month, WorkReport.crew)
    any_crew = any(key is not None for key in crews)
    if not calendar.multi_shift and not any_crew:
        return NO_SPLIT
    shifts = _grouped(uow, month, WorkReport.shift)
    # The calendar's order (白班 before 夜班), then shifts no longer in it, then reports without a shift.
    order = list(dict.fromkeys(s.name for p in calendar.spec.patterns for s in p.shifts))
    named = sorted((k for k in shifts if k is not None), key=lambda k: (order.index(k) if k in order else len(order), k))
    by_shift = [shifts[k] for k in named] + ([_relabel(shifts[None], NO_SHIFT)] if None in shifts else [])
    by_crew: list[OutputRow] = []
    if any_crew:
        known = [c.name for c in calendar.crews]  # the calendar's order (甲班, 乙班, …), not the code points'
        named_crews = sorted((k for k in crews if k is not None),
                             key=lambda k: (known.index(k) if k in known else len(known), k))
        by_crew = [crews[k] for k in named_crews]
        by_crew += [_relabel(crews[None], NO_CREW)] if None in crews else []
    total = OutputRow("合计", sum(r.reports for r in by_shift), sum(r.good for r in by_shift),
                      sum(r.defect for r in by_shift))
    return ShiftSplit(by_shift, by_crew, total)
