"""The one-screen daily summary managers get at shift start: yesterday's output and plan completion, and
what is still open now.

"Yesterday" is a production day. On a plant of several shifts its plan completion is the sum of its shifts'
figures (domain/services/shift_output.py: the number the plan-behind alerts, the handover and the board
show), so a night shift's plan and output count on the day the night began; a one-shift plant's day is the
alerts' day plan (alerts/engine.py), as always.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from alerts.engine import _workshop_days as workshop_days
from alerts.policy import AlertPolicy
from alerts.rules import RULE_LABELS
from domain.models import Alert, ShopException
from domain.plant_calendar import PlantCalendar
from domain.services.shift_output import press_output, workshop_output
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, ExceptionStatus
from reports import fmt
from reports.production import QualityRow, quality_between


@dataclass(frozen=True)
class PlanDay:
    workshop: str
    planned: int
    done: int

    @property
    def pct(self) -> float | None:
        return 100 * self.done / self.planned if self.planned else None


@dataclass(frozen=True)
class ShiftPlan:
    """One shift of the day, all workshops together."""

    shift: str
    planned: int
    done: int

    @property
    def pct(self) -> float | None:
        return 100 * self.done / self.planned if self.planned else None


@dataclass(frozen=True)
class DailySummary:
    day: date
    output: QualityRow  # the day's moulding and finished quantities, all products together
    plan: list[PlanDay]
    open_alerts: list[tuple[str, int]]  # (rule label, count), most first
    open_exceptions: int
    shifts: list[ShiftPlan] = field(default_factory=list)  # a plant of several shifts: each shift's figure

    @property
    def planned(self) -> int:
        return sum(p.planned for p in self.plan)

    @property
    def done(self) -> int:
        return sum(p.done for p in self.plan)

    @property
    def plan_pct(self) -> float | None:
        return 100 * self.done / self.planned if self.planned else None

    @property
    def open_alert_count(self) -> int:
        return sum(n for _, n in self.open_alerts)


def previous_production_day(calendar: PlantCalendar, moment: datetime) -> date:
    """The last production day finished at `moment`: at 08:00 on a 2x12 plant the night shift just ended
    closes yesterday; at 07:30 that night is still running, so the finished day is the one before."""
    return calendar.production_day(moment) - timedelta(days=1)


def shift_plans(uow: UnitOfWork, calendar: PlantCalendar, day: date) -> tuple[list[PlanDay], list[ShiftPlan]]:
    """The production day's plan and output per workshop and per shift: the sum of its shifts' figures."""
    by_workshop: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    shifts: list[ShiftPlan] = []
    for shift in calendar.shifts(day):
        figures = workshop_output(press_output(uow, calendar, shift))
        for workshop, (planned, good) in figures.items():
            by_workshop[workshop][0] += planned
            by_workshop[workshop][1] += good
        shifts.append(ShiftPlan(shift.name, sum(p for p, _ in figures.values()), sum(g for _, g in figures.values())))
    return [PlanDay(ws, planned, done) for ws, (planned, done) in by_workshop.items()], shifts


def daily_summary(uow: UnitOfWork, day: date, policy: AlertPolicy) -> DailySummary:
    calendar = policy.plant
    shifts: list[ShiftPlan] = []
    if calendar.multi_shift:
        plan, shifts = shift_plans(uow, calendar, day)
    else:
        # The day's plan completion is the alerts' (alerts/engine.py): today's plan of the running work orders
        # against what moulding made, here judged for a whole finished day.
        plan = [PlanDay(d.workshop, d.planned, d.done)
                for d in workshop_days(uow, policy, datetime.combine(day, time(12), tzinfo=policy.tz))]
    one_day = quality_between(uow, day, day)
    open_alerts = uow.session.execute(
        select(Alert.rule, func.count()).where(Alert.status != AlertStatus.CLOSED).group_by(Alert.rule)).all()
    open_exceptions = uow.session.scalar(
        select(func.count()).select_from(ShopException).where(ShopException.status != ExceptionStatus.CLOSED))
    return DailySummary(
        day=day,
        output=QualityRow("", "合计", "", sum(r.moulded_good for r in one_day), sum(r.moulded_defect for r in one_day),
                          sum(r.later_defect for r in one_day), sum(r.finished_good for r in one_day)),
        plan=sorted(plan, key=lambda p: p.workshop),
        open_alerts=sorted(((RULE_LABELS.get(rule, rule), int(n)) for rule, n in open_alerts),
                           key=lambda x: (-x[1], x[0])),
        open_exceptions=int(open_exceptions or 0),
        shifts=shifts,
    )


def summary_rows(s: DailySummary) -> list[tuple[str, str]]:
    """At most six rows: WeCom's text_notice card shows no more."""
    alerts = "、".join(f"{label} {n}" for label, n in s.open_alerts[:2])
    return [
        ("注塑良品", f"{fmt.num(s.output.moulded_good)} 件"),
        ("注塑不良率", fmt.pct(s.output.moulding_defect_pct, 2)),
        ("完工入库", f"{fmt.num(s.output.finished_good)} 件"),
        ("计划完成", f"{fmt.num(s.done)} / {fmt.num(s.planned)} 件"),
        ("未关闭预警", f"{s.open_alert_count} 条" + (f"（{alerts}）" if alerts else "")),
        ("未关闭异常", f"{s.open_exceptions} 起"),
    ]


def shift_line(s: DailySummary) -> str:
    """Each shift's plan completion on one line (empty on a one-shift plant): 白班 完成 … ；夜班 …"""
    return "；".join(f"{x.shift} 完成 {fmt.num(x.done)} / 计划 {fmt.num(x.planned)} 件（{fmt.pct(x.pct, 0)}）"
                    for x in s.shifts)


def summary_text(s: DailySummary) -> str:
    lines = [f"{s.day.isoformat()} 生产简报：计划完成率 {fmt.pct(s.plan_pct, 0)}"]
    lines += [f"  {k}：{v}" for k, v in summary_rows(s)]
    lines += [f"  {p.workshop}：完成 {fmt.num(p.done)} / 计划 {fmt.num(p.planned)} 件（{fmt.pct(p.pct, 0)}）"
              for p in s.plan]
    lines += [f"  {x.shift}：完成 {fmt.num(x.done)} / 计划 {fmt.num(x.planned)} 件（{fmt.pct(x.pct, 0)}）"
              for x in s.shifts]
    return "\n".join(lines)
