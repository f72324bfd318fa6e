"""A shift's plan and output per press: the figure the plan-behind rule, the handover card and the board
share, so all three say the same number.

A work order plans for a shift when its planned span overlaps the shift; its share is its day plan (never
more than the whole work order) times the shift's part of the production day's working minutes (a 12-hour
shift of a two-shift day carries half). Output is the good pieces reported on first operations in that shift.
On a one-shift plant the shift is the day, exactly as before shifts were recorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from domain.models import Operation, WorkOrder, WorkReport
from domain.plant_calendar import PlantCalendar, Shift, plan_share
from domain.points import FALLBACK_DAY_MINUTES
from domain.uow import UnitOfWork
from domain.vocab import WorkOrderStatus

COUNTED = (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.DONE)
NO_MACHINE = "-"


@dataclass(frozen=True)
class PressShift:
    """One press in one shift: what the shift should have made there, and what it made."""

    machine: str  # NO_MACHINE for work orders planned on no press
    workshop: str
    planned: int
    good: int
    defect: int
    work_orders: tuple[str, ...]  # the codes of the work orders planned or reported there

    @property
    def pct(self) -> float | None:
        return 100 * self.good / self.planned if self.planned else None


def _report_in_shift(calendar: PlantCalendar, shift: Shift) -> ColumnElement[bool]:
    """Reports of the shift: its production day, and its name (a one-shift plant: the whole day, including
    reports recorded before shifts were)."""
    on_day = WorkReport.work_day == shift.day
    if not calendar.multi_shift:
        return on_day
    return and_(on_day, WorkReport.shift == shift.name)


def press_output(uow: UnitOfWork, calendar: PlantCalendar, shift: Shift, *,
                 workshop: str | None = None) -> list[PressShift]:
    """Every press with a plan or a report in the shift, ordered by workshop and press."""
    day_start = calendar.day_window(shift.day)[0]
    # A work order finished early plans nothing for the rest of its span; on a one-shift plant "early"
    # means before the production day (as the day's plan always counted), else before this shift.
    since = shift.start if calendar.multi_shift else day_start
    running = and_(WorkOrder.planned_start < shift.end, WorkOrder.planned_finish > shift.start,
                   WorkOrder.status.in_(COUNTED),
                   or_(WorkOrder.finished_at.is_(None), WorkOrder.finished_at >= since))
    if workshop is not None:
        running = and_(running, WorkOrder.workshop == workshop)
    share = plan_share(calendar, shift) if shift.working else 0.0
    day_plan = case((WorkOrder.daily_plan_qty < WorkOrder.planned_qty, WorkOrder.daily_plan_qty),
                    else_=WorkOrder.planned_qty)
    planned: dict[tuple[str, str], float] = defaultdict(float)
    codes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for machine, ws, code, qty in uow.session.execute(
            select(WorkOrder.machine, WorkOrder.workshop, WorkOrder.code, day_plan).where(running)):
        key = (ws, machine or NO_MACHINE)
        planned[key] += (qty or 0) * share
        codes[key].add(code)
    done_q = (select(WorkOrder.machine, WorkOrder.workshop, WorkOrder.code,
                     func.coalesce(func.sum(WorkReport.good_qty), 0), func.coalesce(func.sum(WorkReport.defect_qty), 0))
              .join(WorkReport, WorkReport.work_order_id == WorkOrder.id)
              .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
              .where(_report_in_shift(calendar, shift))
              .group_by(WorkOrder.machine, WorkOrder.workshop, WorkOrder.code))
    if workshop is not None:
        done_q = done_q.where(WorkOrder.workshop == workshop)
    good: dict[tuple[str, str], int] = defaultdict(int)
    defect: dict[tuple[str, str], int] = defaultdict(int)
    for machine, ws, code, g, d in uow.session.execute(done_q):
        key = (ws, machine or NO_MACHINE)
        good[key] += int(g)
        defect[key] += int(d)
        codes[key].add(code)
    keys = sorted(set(planned) | set(good))
    return [PressShift(m, ws, round(planned.get((ws, m), 0.0)), good.get((ws, m), 0), defect.get((ws, m), 0),
                       tuple(sorted(codes[(ws, m)]))) for ws, m in keys]


def workshop_output(presses: list[PressShift]) -> dict[str, tuple[int, int]]:
    """(planned, good) per workshop, from the presses' figures."""
    out: dict[str, tuple[int, int]] = {}
    for p in presses:
        planned, good = out.get(p.workshop, (0, 0))
        out[p.workshop] = (planned + p.planned, good + p.good)
    return out


def standard_rate(calendar: PlantCalendar, daily_plan_qty: int, day: date) -> float:
    """A work order's standard rate, in pieces a working minute: its daily plan over the production day's
    working minutes, the rate points count standard minutes at (domain/points.py). 0 with no daily plan."""
    if daily_plan_qty <= 0:
        return 0.0
    return daily_plan_qty / (calendar.day_minutes(day) or FALLBACK_DAY_MINUTES)


def operation_shift_qty(uow: UnitOfWork, calendar: PlantCalendar, shift: Shift, operation_id: int) -> int:
    """The pieces (good and defect) reported on one operation in the shift, by anyone. An undone report's
    quantities are 0, so it counts nothing."""
    total = uow.session.scalar(
        select(func.coalesce(func.sum(WorkReport.good_qty + WorkReport.defect_qty), 0))
        .where(WorkReport.operation_id == operation_id, _report_in_shift(calendar, shift)))
    return int(total or 0)


def press_minutes_elsewhere(uow: UnitOfWork, calendar: PlantCalendar, shift: Shift, *, machine: str,
                            work_order_id: int) -> float:
    """Standard minutes the press spent in the shift on its other work orders: the pieces (good and defect)
    reported at their first operation (the moulding, the step the press does), each at its work order's
    standard rate. One press moulds one job at a time, so these minutes are not this work order's."""
    first_seq = (select(Operation.work_order_id, func.min(Operation.seq).label("seq"))
                 .group_by(Operation.work_order_id).subquery())
    rows = uow.session.execute(
        select(WorkOrder.daily_plan_qty, func.sum(WorkReport.good_qty + WorkReport.defect_qty))
        .join(Operation, Operation.id == WorkReport.operation_id)
        .join(first_seq, and_(first_seq.c.work_order_id == Operation.work_order_id, first_seq.c.seq == Operation.seq))
        .join(WorkOrder, WorkOrder.id == Operation.work_order_id)
        .where(WorkOrder.machine == machine, WorkOrder.id != work_order_id, _report_in_shift(calendar, shift))
        .group_by(WorkOrder.id, WorkOrder.daily_plan_qty))
    minutes = 0.0
    for daily, pieces in rows:
        rate = standard_rate(calendar, int(daily or 0), shift.day)
        if rate > 0:
            minutes += int(pieces or 0) / rate
    return minutes


@dataclass(frozen=True)
class PlausibleOutput:
    """What a press could have made for one work order in the shift so far, at its standard rate."""

    made: int  # rate × the shift's working minutes since `since`, rounded down
    minutes: float
    since: datetime


def plausible_output(calendar: PlantCalendar, shift: Shift, *, rate: float, since: datetime,
                     now: datetime, busy_minutes: float = 0.0) -> PlausibleOutput:
    """since: the moment the shift's count starts (its start, or the work order's start if later). Breaks,
    rest days and the time after the shift's end add no minutes (calendar.working_minutes). busy_minutes:
    the shift's minutes the press spent on other work orders (press_minutes_elsewhere), which this one
    cannot have had."""
    begin = max(since, shift.start)
    end = min(now, shift.end)
    minutes = calendar.working_minutes(begin, end)
    if busy_minutes > 0:
        minutes = max(0.0, min(minutes, calendar.working_minutes(shift.start, end) - busy_minutes))
    # The float product of a whole day's rate and minutes may fall a hair under the plan: counted as reached.
    return PlausibleOutput(int(rate * minutes + 1e-6), minutes, begin)
