"""Projection: when each work order, line and order will finish at the speed actually achieved, and how
that compares with the due date. Pure functions over plain facts; the store and the replay supply them.

The press is the bottleneck: a work order's moulding runs at its recent good-output rate (its own last
few full working days), then trimming, inspection and packing take `finishing_hours` for the last batch.
A work order not started yet takes its planned length from its planned start (or from now, if that has
passed). One that started within the current shift has no full day of its own yet and borrows the rate
its machine achieved with its mould, else its product's, else the plan's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from forecast.policy import ForecastPolicy

FINISHED = ("done", "closed")


class Risk(StrEnum):
    """按期 · 有风险 · 会逾期 (the words are in forecast/text.py)."""

    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    LATE = "late"

    @property
    def rank(self) -> int:
        return (Risk.ON_TIME, Risk.AT_RISK, Risk.LATE).index(self)


@dataclass(frozen=True)
class WorkOrderFacts:
    id: int
    code: str
    line_id: int
    status: str
    planned_qty: int
    daily_plan_qty: int
    planned_start: datetime
    planned_finish: datetime
    machine: str | None
    mould: str | None
    product_id: int
    workshop: str
    finished_at: datetime | None = None
    moulded: int = 0  # good pieces of the first operation, at the press
    has_downstream: bool = True  # trimming, inspection, packing… after moulding
    first_report_day: date | None = None  # production day of the first moulding report
    window_good: int = 0  # moulding output over the rate window (the last `rate_days` full working days)
    window_defect: int = 0
    exceptions: tuple[str, ...] = ()  # types of its open exceptions
    # Its press (or itself) moulded within the last `press_stopped_minutes`: not stopped, whatever the window.
    press_running: bool = False


@dataclass(frozen=True)
class LineFacts:
    id: int
    order_id: int
    bill_no: str
    customer: str
    entry_id: int
    product: str
    qty: int
    due: date


@dataclass(frozen=True)
class History:
    """Achieved moulding output per working hour, from recent production days of other work orders."""

    machine_mould: Mapping[tuple[str, str], float] = field(default_factory=dict)
    product: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rate:
    per_hour: float
    basis: str  # recent | machine_mould | product | plan
    days: int = 0  # full working days of its own behind a recent rate


@dataclass(frozen=True)
class WorkOrderProjection:
    facts: WorkOrderFacts
    rate: Rate
    plan_per_hour: float
    moulding_left: int
    begin: datetime  # when the remaining moulding starts: now, or the planned start if later
    finish: datetime | None  # None: stopped, no finish at the current speed
    finish_day: date | None  # the working day it is done on
    # For a stopped work order: the finish if it restarted now at its planned rate.
    earliest: datetime | None = None
    earliest_day: date | None = None
    moulding_end: datetime | None = None  # the press is free from then; finishing happens elsewhere

    @property
    def done(self) -> bool:
        return self.facts.status in FINISHED

    @property
    def started(self) -> bool:
        return self.facts.first_report_day is not None

    @property
    def stopped(self) -> bool:
        return self.finish is None


@dataclass(frozen=True)
class LineForecast:
    line: LineFacts
    work_orders: tuple[WorkOrderProjection, ...]
    finish: datetime | None  # None while one of its work orders is stopped
    finish_day: date | None
    earliest_day: date | None  # for a stopped line: if it restarted now at the planned rate
    slack_days: int  # due date minus (projected or earliest) finish day; negative: days late
    risk: Risk

    @property
    def done(self) -> bool:
        return all(w.done for w in self.work_orders)

    @property
    def stopped(self) -> bool:
        return self.finish is None

    @property
    def bottleneck(self) -> WorkOrderProjection:
        """The work order that finishes last: the one to act on."""
        live = [w for w in self.work_orders if not w.done] or list(self.work_orders)
        return max(live, key=lambda w: (w.finish is None, w.finish or w.earliest or w.begin))


@dataclass(frozen=True)
class OrderForecast:
    order_id: int
    bill_no: str
    customer: str
    lines: tuple[LineForecast, ...]

    @property
    def worst(self) -> LineForecast:
        """The line that decides the order: the worst of those still in work (or of all, once done)."""
        live = [ln for ln in self.lines if not ln.done] or list(self.lines)
        return max(live, key=lambda ln: (ln.risk.rank, -ln.slack_days, -ln.line.entry_id))

    @property
    def risk(self) -> Risk:
        return self.worst.risk

    @property
    def slack_days(self) -> int:
        return self.worst.slack_days

    @property
    def due(self) -> date:
        return self.worst.line.due

    @property
    def done(self) -> bool:
        return all(ln.done for ln in self.lines)

    @property
    def ship_day(self) -> date | None:
        """The order ships with its slowest line; unknown while a line is stopped."""
        days = [ln.finish_day for ln in self.lines]
        return None if any(d is None for d in days) else max(d for d in days if d is not None)


def _rate(days: int, started: bool, window_good: int, daily: int, hours: float, recent_hours: float,
          machine: str | None, mould: str | None, product_id: int, history: History,
          press_running: bool = False) -> Rate:
    """`hours`: a production day's working hours (the plan's day); `recent_hours`: the working hours of the
    `days` window days the work order was moulding on (a night shift, a make-up day count; breaks do not).
    A window with no output says 停机 only if the press is not moulding now (`press_running`)."""
    plan = Rate(daily / hours, "plan")
    if not started:
        return plan  # no reports yet: the plan is all there is
    if days and recent_hours > 0 and (window_good > 0 or not press_running):
        return Rate(window_good / recent_hours, "recent", days)
    if machine and mould and (machine, mould) in history.machine_mould:
        return Rate(history.machine_mould[(machine, mould)], "machine_mould")
    if product_id in history.product:
        return Rate(history.product[product_id], "product")
    return plan


def _finish_hours(now_at: float, planned_from: float | None, planned_to: float | None, left: int, per_hour: float,
                  plan: float, finishing: float) -> tuple[float, float | None, float | None, float | None]:
    """(begin, moulding end, finish, earliest restart finish) in shift hours. planned_from is None once started."""
    at = now_at if planned_from is None else max(now_at, planned_from)
    if left > 0 and per_hour <= 0:
        return at, None, None, (at + left / plan + finishing) if plan > 0 else None
    moulded = at + (left / per_hour if left else 0.0)
    finish = moulded + finishing
    if planned_from is not None and planned_to is not None:
        # Not started: the plan's own length already covers the steps after moulding; only a start later
        # than planned moves it.
        finish = max(at + planned_to - planned_from, moulded)
    return at, moulded, finish, None


class Projector:
    """Projections as of one moment. What thousands of work orders share (the clock, the rate window, the
    positions of common plan times) is worked out once; each work order is then a little arithmetic."""

    def __init__(self, now: datetime, policy: ForecastPolicy, history: History = History()) -> None:
        cal = policy.calendar
        self.now, self.policy, self.history, self.cal = cal.local(now), policy, history, cal
        self.hours = cal.hours_per_day
        self.window = cal.last_work_days(cal.last_full_day(now), policy.rate_days)
        # Working hours of the last k window days (the days a work order that began within the window ran).
        self._recent = [0.0]
        for d in reversed(self.window):
            self._recent.append(self._recent[-1] + cal.day_hours(d))
        self.clock = cal.clock(now)
        self.now_at = self.clock.position(now)
        self._positions: dict[datetime, float | None] = {}
        self._limits: dict[date, float | None] = {}

    def _at(self, moment: datetime) -> float | None:
        if moment not in self._positions:
            self._positions[moment] = self.clock.position(moment)
        return self._positions[moment]

    def rate_days(self, first_report_day: date | None) -> int:
        """Full working days of the rate window on which the work order was already moulding."""
        if first_report_day is None:
            return 0
        return sum(1 for d in self.window if d >= first_report_day)

    def rate(self, f: WorkOrderFacts) -> Rate:
        days = self.rate_days(f.first_report_day)
        return _rate(days, f.first_report_day is not None, f.window_good, f.daily_plan_qty, self.hours,
                     self._recent[days], f.machine, f.mould, f.product_id, self.history, f.press_running)

    def _hours(self, f: WorkOrderFacts, per_hour: float) -> tuple[float, float | None, float | None,
                                                                   float | None] | None:
        """(begin, moulding end, finish, earliest restart finish) in shift hours; None off the clock."""
        started = f.first_report_day is not None
        planned_from = None if started else self._at(f.planned_start)
        planned_to = None if started else self._at(f.planned_finish)
        if self.now_at is None or (not started and planned_from is None):
            return None
        return _finish_hours(self.now_at, planned_from, planned_to, max(0, f.planned_qty - f.moulded), per_hour,
                             f.daily_plan_qty / self.hours,
                             self.policy.finishing_hours if f.has_downstream else 0.0)

    def surely_on_time(self, f: WorkOrderFacts, due: date) -> bool:
        started = f.first_report_day is not None
        return self.finishes_early(
            f.status in FINISHED, started, self.rate_days(f.first_report_day), f.window_good, f.moulded,
            f.planned_qty, f.daily_plan_qty, f.has_downstream, None if started else self._at(f.planned_start),
            None if started else self._at(f.planned_finish), f.machine, f.mould, f.product_id, due)

    def finishes_early(self, done: bool, started: bool, rate_days: int, window_good: int, moulded: int,
                       planned_qty: int, daily: int, has_downstream: bool, planned_from: float | None,
                       planned_to: float | None, machine: str | None, mould: str | None, product_id: int,
                       due: date) -> bool:
        """Cheaply, from plain values: will this work order finish `at_risk_days` before its due date?
        False when unsure. The same arithmetic as `project`, without building any dates. (Positional: it
        runs once per open work order in every alert round.)"""
        if done:
            return True
        if self.now_at is None or (not started and planned_from is None):
            return False
        rate = _rate(rate_days, started, window_good, daily, self.hours, self._recent[min(rate_days, len(self.window))],
                     machine, mould, product_id, self.history)
        _, _, finish, _ = _finish_hours(self.now_at, planned_from, planned_to, max(0, planned_qty - moulded),
                                        rate.per_hour, daily / self.hours,
                                        self.policy.finishing_hours if has_downstream else 0.0)
        limit = self._limits.get(due)
        if limit is None:
            limit = self._limits[due] = self.clock.day_end(due - timedelta(days=self.policy.at_risk_days))
        return finish is not None and limit is not None and finish <= limit

    def project(self, f: WorkOrderFacts) -> WorkOrderProjection:
        cal, clock = self.cal, self.clock
        plan = f.daily_plan_qty / self.hours
        if f.status in FINISHED:
            done = f.finished_at or self.now
            return WorkOrderProjection(f, Rate(0.0, "recent"), plan, 0, self.now, done, cal.finish_day(done))
        rate = self.rate(f)
        left = max(0, f.planned_qty - f.moulded)
        hours = self._hours(f, rate.per_hour)
        if hours is None:
            return self._walk(f, rate, plan, left)
        at, moulded, finish, earliest = hours
        begin = self.now if f.first_report_day is not None else max(self.now, cal.local(f.planned_start))
        if finish is None:
            if earliest is None:
                return WorkOrderProjection(f, rate, plan, left, begin, None, None)
            return WorkOrderProjection(f, rate, plan, left, begin, None, None, clock.moment(earliest),
                                       clock.finish_day(earliest))
        assert moulded is not None
        finish_at, moulding_end = clock.moment(finish), clock.moment(moulded)
        if finish_at is None or moulding_end is None:
            return self._walk(f, rate, plan, left)
        return WorkOrderProjection(f, rate, plan, left, begin, finish_at, clock.finish_day(finish),
                                   moulding_end=moulding_end)

    def _walk(self, f: WorkOrderFacts, rate: Rate, plan: float, left: int) -> WorkOrderProjection:
        """The same projection walking the calendar day by day, for moments the clock does not cover."""
        cal = self.cal
        begin = self.now if f.first_report_day is not None else max(self.now, cal.local(f.planned_start))
        finishing = self.policy.finishing_hours if f.has_downstream else 0.0
        if left > 0 and rate.per_hour <= 0:
            if plan <= 0:
                return WorkOrderProjection(f, rate, plan, left, begin, None, None)
            earliest = cal.add_work_hours(begin, left / plan + finishing)
            return WorkOrderProjection(f, rate, plan, left, begin, None, None, earliest, cal.finish_day(earliest))
        moulding_end = cal.add_work_hours(begin, left / rate.per_hour) if left else begin
        finish = cal.add_work_hours(moulding_end, finishing)
        if f.first_report_day is None:
            finish = max(cal.add_work_hours(begin, cal.work_hours(f.planned_start, f.planned_finish)), moulding_end)
        return WorkOrderProjection(f, rate, plan, left, begin, finish, cal.finish_day(finish),
                                   moulding_end=moulding_end)


def rate_days(f: WorkOrderFacts, now: datetime, policy: ForecastPolicy) -> int:
    return Projector(now, policy).rate_days(f.first_report_day)


def project_work_order(f: WorkOrderFacts, now: datetime, policy: ForecastPolicy,
                       history: History = History()) -> WorkOrderProjection:
    return Projector(now, policy, history).project(f)


def forecast_line(line: LineFacts, work_orders: Iterable[WorkOrderProjection],
                  policy: ForecastPolicy) -> LineForecast:
    wos = tuple(work_orders)
    if any(w.finish is None for w in wos):
        stopped = [w for w in wos if w.finish is None]
        earliest_day = max([w.earliest_day or w.begin.date() for w in stopped]
                           + [w.finish_day for w in wos if w.finish_day is not None])
        slack = (line.due - earliest_day).days
        # Stopped: at best it restarts now; even then late, or at least at risk.
        risk = Risk.LATE if slack < 0 else Risk.AT_RISK
        return LineForecast(line, wos, None, None, earliest_day, slack, risk)
    last = max(wos, key=lambda w: (w.finish_day, w.finish))
    day = last.finish_day
    assert day is not None
    slack = (line.due - day).days
    if all(w.done for w in wos):  # history now: it was either on time or not
        return LineForecast(line, wos, last.finish, day, None, slack, Risk.LATE if slack < 0 else Risk.ON_TIME)
    risk = Risk.LATE if slack < 0 else Risk.AT_RISK if slack < policy.at_risk_days else Risk.ON_TIME
    return LineForecast(line, wos, last.finish, day, None, slack, risk)


def forecast_orders(lines: Mapping[int, LineFacts], work_orders: Iterable[WorkOrderFacts], now: datetime,
                    policy: ForecastPolicy, history: History = History()) -> list[OrderForecast]:
    """Every order with at least one work order, in bill-number order."""
    projector = Projector(now, policy, history)
    by_line: dict[int, list[WorkOrderProjection]] = {}
    for f in work_orders:
        if f.line_id in lines:
            by_line.setdefault(f.line_id, []).append(projector.project(f))
    by_order: dict[int, list[LineForecast]] = {}
    for line_id, projections in by_line.items():
        line = lines[line_id]
        by_order.setdefault(line.order_id, []).append(forecast_line(line, projections, policy))
    out = []
    for order_lines in by_order.values():
        first = order_lines[0].line
        out.append(OrderForecast(first.order_id, first.bill_no, first.customer,
                                 tuple(sorted(order_lines, key=lambda ln: ln.line.entry_id))))
    return sorted(out, key=lambda o: o.bill_no)


def warning_level(order: OrderForecast, today: date, policy: ForecastPolicy) -> Risk | None:
    """The level an order is warned at, if any: 会逾期 always, 有风险 only within `warn_days` of its due date."""
    if order.done:
        return None
    worst = order.worst
    if worst.risk == Risk.LATE:
        return Risk.LATE
    if worst.risk == Risk.AT_RISK and (worst.line.due - today).days <= policy.warn_days:
        return Risk.AT_RISK
    return None
