"""What would close the gap, computed from the data: another press that has run the mould and is free
before the due date, or the overtime it would take on the current press."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from forecast.calendar import ShiftCalendar
from forecast.policy import ForecastPolicy
from forecast.projection import WorkOrderProjection

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Suggestion:
    text: str
    machine: str | None = None  # the press to move the mould to
    ready: datetime | None = None  # when that press would finish the work order
    overtime_hours: float | None = None  # or: overtime that closes the gap on the current press
    # False when it asks for nothing to change ("保持进度"): a warning card then leaves its 建议 row out.
    acts: bool = True


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def free_after(cal: ShiftCalendar, busy: Iterable[Interval], start: datetime, hours: float,
               limit: datetime) -> tuple[datetime, datetime] | None:
    """(first free moment, moment `hours` of free working time are used up) on a press, if before `limit`.
    Working time is the calendar's: every shift of the day, without its breaks."""
    intervals = _merged(busy)
    first: datetime | None = None
    for begin, end in cal.intervals(start, limit):
        pieces = [(begin, end)]
        for a, b in intervals:
            pieces = [p for lo, hi in pieces for p in ((lo, min(hi, a)), (max(lo, b), hi)) if p[0] < p[1]]
        for lo, hi in pieces:
            first = first or lo
            available = (hi - lo).total_seconds() / 3600
            if hours <= available:
                return first, lo + timedelta(hours=hours)
            hours -= available
    return None


def move_to_press(wo: WorkOrderProjection, due: date, now: datetime, policy: ForecastPolicy,
                  presses: Iterable[str], busy: Mapping[str, list[Interval]]) -> Suggestion | None:
    """The press (other than its own) that has run this mould and can finish it earliest before the due date."""
    f, cal = wo.facts, policy.calendar
    if not wo.moulding_left or wo.plan_per_hour <= 0 or not f.mould:
        return None
    need = policy.changeover_hours + wo.moulding_left / wo.plan_per_hour
    limit = cal.end_of(due)
    best: tuple[datetime, str, datetime] | None = None
    for press in sorted(set(presses) - {f.machine}):
        slot = free_after(cal, busy.get(press, []), now, need, limit)
        if slot is None:
            continue
        first, done = slot
        finish = cal.add_work_hours(done, policy.finishing_hours if f.has_downstream else 0.0)
        if finish <= limit and (best is None or finish < best[0]):
            best = (finish, press, first)
    if best is None:
        return None
    finish, press, first = best
    return Suggestion(f"模具 {f.mould} 转 {press}：{cal.local(first):%m-%d} 起有空，可于 {cal.local(finish):%m-%d} 完工",
                      machine=press, ready=finish)


def overtime(wo: WorkOrderProjection, due: date, now: datetime, policy: ForecastPolicy) -> Suggestion:
    """Overtime on its own press, at its current speed (the planned speed once a stopped press restarts)."""
    f, cal = wo.facts, policy.calendar
    per_hour = wo.rate.per_hour if wo.rate.per_hour > 0 else wo.plan_per_hour
    if not wo.moulding_left:
        return Suggestion("注塑已完成，请催后工序（修边/质检/包装）尽快完成")
    if per_hour <= 0:
        return Suggestion("无可参考的速度，请与客户协商交期")
    finishing = policy.finishing_hours if f.has_downstream else 0.0
    need = wo.moulding_left / per_hour + finishing
    limit = cal.end_of(due)
    available = cal.work_hours(wo.begin, limit)
    gap = need - available
    days = sum(1 for d in cal.work_days(cal.production_day(wo.begin), due) if cal.shift(d)[1] > cal.local(wo.begin))
    restart = "恢复生产后按计划速度" if wo.stopped else "按当前速度"
    # Hours are shown whole: a gap that rounds to 0 is no gap, and "约余 0 小时" or "加班约 0 小时" says nothing.
    if round(gap) <= 0:
        spare = f"交期前约余 {-gap:.0f} 小时" if round(-gap) > 0 else "可按期完工"
        return Suggestion(f"{restart}{spare}，请{'尽快恢复生产' if wo.stopped else '保持进度'}",
                          overtime_hours=0.0, acts=wo.stopped)
    if days == 0:
        return Suggestion("交期前已无班次，请与客户协商交期或分批出货", overtime_hours=gap)
    per_day = gap / days
    short = gap - policy.overtime_max_hours * days
    # A shortfall that rounds to 0 hours is none: the most overtime closes the gap.
    if per_day <= policy.overtime_max_hours or round(short) <= 0:
        per_day = min(per_day, policy.overtime_max_hours)
        return Suggestion(f"{'恢复后' if wo.stopped else ''}加班约 {gap:.0f} 小时可赶上（{days} 个工作日，每天约 {per_day:.1f} 小时）",
                          overtime_hours=gap)
    return Suggestion(f"每天加班 {policy.overtime_max_hours:g} 小时仍差约 {short:.0f} 小时，需转机或分批出货",
                      overtime_hours=gap)


def suggest(wo: WorkOrderProjection, due: date, now: datetime, policy: ForecastPolicy, presses: Iterable[str],
            busy: Mapping[str, list[Interval]]) -> Suggestion:
    return move_to_press(wo, due, now, policy, presses, busy) or overtime(wo, due, now, policy)


def press_busy(projections: Iterable[WorkOrderProjection]) -> dict[str, list[Interval]]:
    """When each press is taken by its live work orders: from now (or their planned start) to their moulding end.

    A stopped work order does not hold its press here; a press with an open breakdown is excluded by the caller.
    """
    busy: dict[str, list[Interval]] = {}
    for w in projections:
        f = w.facts
        if w.done or not f.machine or w.moulding_end is None or not w.moulding_left:
            continue
        busy.setdefault(f.machine, []).append((w.begin, w.moulding_end))
    return busy
