"""The alert rules as pure functions: plain facts in, findings out. No database, no clock of their own.

A finding names its rule and subject; the engine keeps one open alert per (rule, subject), fires what is
found and clears what is no longer found, so a condition that stays true never repeats itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from alerts.policy import AlertPolicy
from domain.plant_calendar import Shift

LATE_START = "late_start"
PLAN_BEHIND = "plan_behind"
DEFECT_STREAK = "defect_streak"
EXCEPTION = "exception"
REPAIR_UNANSWERED = "repair_unanswered"
KIS_PULL_FAILED = "kis_pull_failed"
KIS_PUSH_FAILED = "kis_push_failed"
LATE_FORECAST = "late_forecast"  # forecast/warnings.py

RULE_LABELS = {
    LATE_START: "超计划时间未开工",
    PLAN_BEHIND: "当日计划完成率低于70%",
    DEFECT_STREAK: "连续两单不良率超标",
    EXCEPTION: "现场异常",
    REPAIR_UNANSWERED: "维修工单未响应",
    KIS_PULL_FAILED: "KIS 订单同步失败",
    KIS_PUSH_FAILED: "KIS 完工回写失败",
    LATE_FORECAST: "交期预警",
    "handover_unacked": "交接班未确认",  # alerts/handover.py
}


def span(minutes: float) -> str:
    """A waiting time as a person says it: 45 分钟, 3 小时 20 分钟, 2 天 5 小时."""
    m = int(minutes)
    if m < 60:
        return f"{m} 分钟"
    if m < 24 * 60:
        return f"{m // 60} 小时 {m % 60} 分钟" if m % 60 else f"{m // 60} 小时"
    return f"{m // 1440} 天 {m % 1440 // 60} 小时" if m % 1440 >= 60 else f"{m // 1440} 天"


def plant_closed(now: datetime, policy: AlertPolicy) -> bool:
    """A rest day or holiday: nobody is on the floor, so clock-driven rules (late start, plan checkpoints)
    give no verdict, and escalation and the shift-end reminder wait for the next working day. On a plant of
    several shifts the day is the production day (a Friday night shift still runs at 02:00 on Saturday)."""
    plant = policy.plant
    if plant.multi_shift:
        return not plant.is_work_day(plant.production_day(now))
    return not policy.calendar.is_work_day(policy.local(now).date())


def late_clock_start(planned_start: datetime, policy: AlertPolicy) -> datetime:
    """When a work order can first be late: its planned start, or, planned on a closed day, the start of the
    next working shift (nobody could have started it before then)."""
    plant = policy.plant
    if plant.multi_shift:
        if plant.is_work_day(plant.production_day(planned_start)):
            return planned_start
        first = plant.next_shift(planned_start)
        return first.start if first is not None else planned_start
    cal = policy.calendar
    day = policy.local(planned_start).date()
    if cal.is_work_day(day):
        return planned_start
    for _ in range(3 * 366):  # a calendar always has working days; parse_rest_days refuses seven rest days
        day += timedelta(days=1)
        if cal.is_work_day(day):
            return cal.shift(day)[0]
    return planned_start


@dataclass(frozen=True)
class Finding:
    rule: str
    subject_key: str
    title: str
    workshop: str | None
    facts: Mapping[str, Any] = field(default_factory=dict)


# --- 超计划时间未开工 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnstartedWorkOrder:
    code: str
    bill_no: str
    product: str
    workshop: str
    machine: str | None
    planned_start: datetime
    reported: bool  # any report on any operation


def late_starts(wos: Iterable[UnstartedWorkOrder], now: datetime, policy: AlertPolicy) -> list[Finding]:
    """Unstarted work orders past their start (see late_clock_start) by more than the grace period. The
    title counts from the planned start itself, as a person would. On a closed day the engine fires none."""
    out = []
    for wo in wos:
        if wo.reported or now - late_clock_start(wo.planned_start, policy) <= policy.start_grace:
            continue
        late_by = now - wo.planned_start
        out.append(Finding(
            LATE_START, f"wo:{wo.code}", f"{wo.code} 超过计划开工时间 {span(late_by.total_seconds() / 60)} 未开工",
            wo.workshop,
            {"工单": wo.code, "订单": wo.bill_no, "产品": wo.product, "机台": wo.machine or "-",
             "计划开工": policy.local(wo.planned_start).strftime("%m-%d %H:%M")},
        ))
    return out


# --- 当日计划完成率低于70% ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopDay:
    workshop: str
    day: date
    planned: int  # today's planned quantity of the work orders running today
    done: int  # good pieces reported today on those work orders' first operation


def last_checkpoint(now: datetime, policy: AlertPolicy) -> time | None:
    """The latest checkpoint of today's shift already passed; none on a closed day (there is no shift)."""
    if plant_closed(now, policy):
        return None
    local = policy.local(now).time()
    passed = [c for c in policy.checkpoints if c <= local]
    return passed[-1] if passed else None


def expected_by(checkpoint: time, planned: int, policy: AlertPolicy, day: date) -> float:
    """The share of the day's plan the shift should have made by a checkpoint (a straight line)."""
    shift_start, shift_end = policy.shift_hours(day)
    start = shift_start.hour * 60 + shift_start.minute
    end = shift_end.hour * 60 + shift_end.minute
    at = checkpoint.hour * 60 + checkpoint.minute
    share = min(max((at - start) / (end - start), 0.0), 1.0) if end > start else 1.0
    return planned * share


def plan_behind(days: Iterable[WorkshopDay], now: datetime, policy: AlertPolicy) -> tuple[list[Finding], bool]:
    """Findings at the latest passed checkpoint, and whether any checkpoint has passed (else: no verdict)."""
    checkpoint = last_checkpoint(now, policy)
    if checkpoint is None:
        return [], False
    out = []
    for d in days:
        expected = expected_by(checkpoint, d.planned, policy, d.day)
        if expected <= 0:
            continue
        pct = 100 * d.done / expected
        if pct < policy.plan_threshold_pct:
            out.append(Finding(
                PLAN_BEHIND, f"plan:{d.workshop}:{d.day.isoformat()}",
                f"{d.workshop} 当日计划完成率 {pct:.0f}%（低于 {policy.plan_threshold_pct:.0f}%）", d.workshop,
                {"车间": d.workshop, "检查点": checkpoint.strftime("%H:%M"), "应完成": f"{expected:.0f} 件",
                 "实际完成": f"{d.done} 件", "完成率": f"{pct:.0f}%", "当日计划": f"{d.planned} 件"},
            ))
    return out, True


# --- 班次计划完成率低于70% (a plant of several shifts) ------------------------------------------------------


@dataclass(frozen=True)
class WorkshopShift:
    """A workshop in one shift: the shift's share of the day plan and its output (shift_output's figure)."""

    workshop: str
    shift: Shift
    planned: int
    done: int


def shift_checkpoints(shift: Shift, clocks: Sequence[time]) -> tuple[datetime, ...]:
    """When a shift's plan is checked: the configured clock times that fall inside it (after its start, up to
    its end). A shift none falls in (the night shift, with the day's 11:00/15:00/19:00) is checked half-way
    and one hour before its end, so every shift is judged twice before it hands over. None on a rest day."""
    if not shift.working:
        return ()
    tz = shift.start.tzinfo
    first = shift.start.date()
    found = sorted({t for d in (first, first + timedelta(days=1)) for c in clocks
                    if shift.start < (t := datetime.combine(d, c, tzinfo=tz)) <= shift.end})
    if not found:
        half = shift.start + (shift.end - shift.start) / 2
        found = sorted({half, *([shift.end - timedelta(hours=1)] if shift.end - timedelta(hours=1) > half else [])})
    return tuple(found)


def shift_checkpoint(shift: Shift, now: datetime, clocks: Sequence[time]) -> datetime | None:
    """The latest checkpoint of a shift already passed; None before its first (no verdict yet)."""
    passed = [c for c in shift_checkpoints(shift, clocks) if c <= now]
    return passed[-1] if passed else None


def shift_share_by(shift: Shift, at: datetime) -> float:
    """The part of a shift's plan due by a moment: its working minutes so far over all of them (breaks out)."""
    total = shift.minutes
    if total <= 0:
        return 0.0
    done = sum(max((min(b, at) - a).total_seconds(), 0.0) for a, b in shift.intervals) / 60
    return min(done / total, 1.0)


def shift_plan_key(workshop: str, shift: Shift) -> str:
    return f"plan:{workshop}:{shift.day.isoformat()}:{shift.name}"


def shift_plan_behind(items: Iterable[WorkshopShift], now: datetime, policy: AlertPolicy) -> list[Finding]:
    """Per workshop and shift, judged at the shift's latest passed checkpoint against that shift's plan."""
    out = []
    for d in items:
        checkpoint = shift_checkpoint(d.shift, now, policy.checkpoints)
        if checkpoint is None:
            continue
        expected = d.planned * shift_share_by(d.shift, checkpoint)
        if expected <= 0:
            continue
        pct = 100 * d.done / expected
        if pct < policy.plan_threshold_pct:
            out.append(Finding(
                PLAN_BEHIND, shift_plan_key(d.workshop, d.shift),
                f"{d.workshop} {d.shift.name}计划完成率 {pct:.0f}%（低于 {policy.plan_threshold_pct:.0f}%）",
                d.workshop,
                # 班次 before 班次计划: a card shows six rows, and the shift's own plan is the one left out.
                {"车间": d.workshop, "班次": f"{d.shift.label} {d.shift.hours_text}",
                 "检查点": policy.local(checkpoint).strftime("%H:%M"), "应完成": f"{expected:.0f} 件",
                 "实际完成": f"{d.done} 件", "完成率": f"{pct:.0f}%", "班次计划": f"{d.planned} 件"},
            ))
    return out


# --- 连续两单不良率超标 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderQuality:
    """One work order's moulding result, in the order the work orders ran on the same scope key."""

    scope_key: str  # the mould, product or machine compared
    code: str
    workshop: str
    good: int
    defect: int

    @property
    def rate_pct(self) -> float:
        total = self.good + self.defect
        return 100 * self.defect / total if total else 0.0


def defect_streaks(runs: Mapping[str, Sequence[OrderQuality]], policy: AlertPolicy) -> list[Finding]:
    """A scope key whose last two work orders both ran over the defect limit."""
    scope_label = {"mould": "模具", "product": "产品", "machine": "机台"}[policy.defect_scope]
    out = []
    for key, run in runs.items():
        last_two = [q for q in run if q.good + q.defect > 0][-2:]
        if len(last_two) < 2 or not all(q.rate_pct > policy.defect_limit_pct for q in last_two):
            continue
        prev, last = last_two
        out.append(Finding(
            DEFECT_STREAK, f"defect:{policy.defect_scope}:{key}",
            f"{scope_label} {key} 连续两单不良率超标（>{policy.defect_limit_pct:g}%）", last.workshop,
            {scope_label: key, "前一单": f"{prev.code} {prev.rate_pct:.1f}%", "本单": f"{last.code} {last.rate_pct:.1f}%",
             "上限": f"{policy.defect_limit_pct:g}%", "工单": last.code},
        ))
    return out


# --- 现场异常 / 维修 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenException:
    id: int
    type: str
    workshop: str | None
    work_order: str | None
    machine: str | None
    reporter: str
    description: str
    opened_at: datetime


def exceptions_open(items: Iterable[OpenException], policy: AlertPolicy) -> list[Finding]:
    return [
        Finding(EXCEPTION, f"exc:{e.id}", f"异常 #{e.id} {e.type}", e.workshop,
                {"类型": e.type, "工单": e.work_order or "-", "机台": e.machine or "-", "报告人": e.reporter,
                 "说明": e.description[:60] or "-", "时间": policy.local(e.opened_at).strftime("%m-%d %H:%M")})
        for e in items
    ]


@dataclass(frozen=True)
class WaitingTicket:
    id: int
    machine: str | None
    workshop: str | None
    technician: str | None  # name of the technician asked, None when nobody free was found
    dispatched_at: datetime | None
    opened_at: datetime


def repairs_unanswered(tickets: Iterable[WaitingTicket], now: datetime, policy: AlertPolicy) -> list[Finding]:
    """Open tickets nobody accepted within the answer time of being opened; re-dispatching does not clear it."""
    out = []
    for t in tickets:
        since = t.opened_at
        if now - since <= policy.repair_answer_within:
            continue
        who = t.technician or "（无空闲技术员）"
        out.append(Finding(
            REPAIR_UNANSWERED, f"repair:{t.id}",
            f"维修工单 #{t.id} 超过 {span(policy.repair_answer_within.total_seconds() / 60)} 未接单", t.workshop,
            {"维修单": f"#{t.id}", "机台": t.machine or "-", "已派给": who,
             "等待": span((now - since).total_seconds() / 60)},
        ))
    return out


# --- KIS 同步失败 ------------------------------------------------------------------------------------------

# The sync_state rows of the KIS jobs (kis/state.py names them), with the rule and subject each fails under.
KIS_JOBS: dict[str, tuple[str, str, str]] = {
    "kis_pull": (KIS_PULL_FAILED, "kis:pull", "订单同步"),
    "kis_push": (KIS_PUSH_FAILED, "kis:push", "完工回写"),
}
# Rows KIS refused to import: an event of one push (kis/alerting.py), not a state, closed by an admin.
KIS_PUSH_REJECTED = "kis:push:rejected"


@dataclass(frozen=True)
class SyncRun:
    """The last recorded outcome of a KIS job."""

    job: str  # a key of KIS_JOBS
    ok: bool | None  # None: never finished a run
    at: datetime | None  # when the last run started
    reason: str  # the failure's reason (or the success's summary)
    failures: int  # failed runs in a row


def kis_sync_failures(runs: Iterable[SyncRun], policy: AlertPolicy) -> list[Finding]:
    """A job whose last run failed. It stays one finding however often it fails again (the facts count the
    failures); the next successful run makes it disappear."""
    out = []
    for run in runs:
        if run.ok is not False or run.job not in KIS_JOBS:
            continue
        rule, subject, job = KIS_JOBS[run.job]
        reason = run.reason or "未说明原因"
        out.append(Finding(
            rule, subject, f"{RULE_LABELS[rule]}：{reason}"[:200], None,
            {"任务": job, "原因": reason[:300], "连续失败": f"{run.failures} 次",
             "时间": policy.local(run.at).strftime("%m-%d %H:%M") if run.at else "-"},
        ))
    return out
