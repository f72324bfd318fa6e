"""Replay a plant's history day by day: what the forecast said each evening, and which warnings it raised.

The store keeps every report with its time, so the state of any past evening can be rebuilt: how much each
work order had moulded, over which days, which exceptions were open. A work order counts as known from the
day after its order came in (when the office schedules it), or from its planned start if that is earlier.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select

from domain.models import (
    Customer,
    Operation,
    Product,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from domain.uow import UnitOfWork
from domain.vocab import WorkOrderStatus
from forecast.policy import ForecastPolicy
from forecast.projection import LineFacts, Risk, WorkOrderFacts, forecast_orders, warning_level


@dataclass
class _WorkOrderPast:
    """One work order's full history, for rebuilding it as of any evening."""

    facts: WorkOrderFacts  # the plan; the state fields are filled per evening
    known_from: date
    finished_at: datetime | None
    times: list[datetime] = field(default_factory=list)  # moulding reports, in time order
    days: list[date] = field(default_factory=list)
    good: list[int] = field(default_factory=list)
    defect: list[int] = field(default_factory=list)
    exceptions: list[tuple[datetime, datetime | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Past:
    """A plant's lines and work orders with everything that happened to them."""

    lines: dict[int, LineFacts]
    work_orders: list[_WorkOrderPast]


@dataclass
class Replay:
    """What the forecast said: the first evening each order was warned at any level, and every card."""

    first_warning: dict[int, date] = field(default_factory=dict)  # order id → day
    cards: list[tuple[date, int, Risk]] = field(default_factory=list)  # (day, order id, level)
    days: int = 0


def load_history(uow: UnitOfWork, policy: ForecastPolicy) -> Past:
    s, cal = uow.session, policy.calendar
    rows = s.execute(
        select(WorkOrder.id, WorkOrder.code, WorkOrder.line_id, WorkOrder.planned_qty, WorkOrder.daily_plan_qty,
               WorkOrder.planned_start, WorkOrder.planned_finish, WorkOrder.machine, WorkOrder.mould,
               WorkOrder.product_id, WorkOrder.workshop, WorkOrder.finished_at, SalesOrderLine.order_id,
               SalesOrder.bill_no, Customer.name, SalesOrderLine.entry_id, Product.name, SalesOrderLine.qty,
               SalesOrderLine.due_date, SalesOrder.order_date)
        .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .join(Product, Product.id == SalesOrderLine.product_id)
        .where(WorkOrder.status != WorkOrderStatus.VOIDED)
    ).all()
    downstream = set(s.scalars(select(Operation.work_order_id).where(Operation.seq > 1).distinct()))
    lines: dict[int, LineFacts] = {}
    past: dict[int, _WorkOrderPast] = {}
    for (wo_id, code, line_id, planned, daily, start, finish, machine, mould, product_id, workshop, finished_at,
         order_id, bill_no, customer, entry_id, product, qty, due, order_date) in rows:
        lines.setdefault(line_id, LineFacts(line_id, order_id, bill_no, customer, entry_id, product, qty, due))
        facts = WorkOrderFacts(wo_id, code, line_id, "planned", planned, daily, start, finish, machine, mould,
                               product_id, workshop, has_downstream=wo_id in downstream)
        known = min(order_date + timedelta(days=1), cal.production_day(start))
        past[wo_id] = _WorkOrderPast(facts, known, finished_at)
    for wo_id, at, day, good, defect in s.execute(
            select(WorkReport.work_order_id, WorkReport.reported_at, WorkReport.work_day, WorkReport.good_qty,
                   WorkReport.defect_qty)
            .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
            .order_by(WorkReport.reported_at, WorkReport.id)):
        p = past.get(wo_id)
        if p is not None:
            p.times.append(at)
            p.days.append(day)
            p.good.append(good)
            p.defect.append(defect)
    for ex_wo_id, opened, closed, kind in s.execute(
            select(ShopException.work_order_id, ShopException.opened_at, ShopException.closed_at,
                   ShopException.type).where(ShopException.work_order_id.is_not(None))):
        if ex_wo_id is not None and ex_wo_id in past:
            past[ex_wo_id].exceptions.append((opened, closed, kind))
    return Past(lines, list(past.values()))


def as_of(p: _WorkOrderPast, now: datetime, policy: ForecastPolicy) -> WorkOrderFacts:
    """The work order as the store showed it at `now`."""
    cal = policy.calendar
    n = bisect_right(p.times, now)
    last_full = cal.last_full_day(now)
    window = cal.last_work_days(last_full, policy.rate_days)
    lo = window[0] if window else last_full + timedelta(days=1)
    good = sum(g for g, d in zip(p.good[:n], p.days[:n], strict=True) if lo <= d <= last_full)
    defect = sum(x for x, d in zip(p.defect[:n], p.days[:n], strict=True) if lo <= d <= last_full)
    done = p.finished_at is not None and p.finished_at <= now
    status = "done" if done else "in_progress" if n else "planned"
    return replace(
        p.facts, status=status, finished_at=p.finished_at if done else None, moulded=sum(p.good[:n]),
        first_report_day=p.days[0] if n else None, window_good=good, window_defect=defect,
        exceptions=tuple(k for opened, closed, k in p.exceptions if opened <= now and (closed is None or closed > now)),
    )


def replay(history: Past, first: date, last: date, policy: ForecastPolicy) -> Replay:
    """Each evening from `first` to `last` (at the end of the shift), the forecast and its warnings, as the
    alert rule raises them: once per order and level, again when it rises or comes back after clearing."""
    cal = policy.calendar
    out = Replay()
    by_order: dict[int, list[_WorkOrderPast]] = defaultdict(list)
    for p in history.work_orders:
        by_order[history.lines[p.facts.line_id].order_id].append(p)
    previous: dict[int, Risk] = {}
    day = first
    while day <= last:
        now = cal.shift(day)[1]
        facts = []
        for wos in by_order.values():
            if not any(p.known_from <= day for p in wos):
                continue
            if all(p.finished_at is not None and p.finished_at <= now for p in wos):
                continue
            facts += [as_of(p, now, policy) for p in wos if p.known_from <= day]
        levels: dict[int, Risk] = {}
        for order in forecast_orders(history.lines, facts, now, policy):
            level = warning_level(order, day, policy)
            if level is None:
                continue
            if previous.get(order.order_id) == Risk.LATE:
                level = Risk.LATE  # back to 有风险 is no news
            levels[order.order_id] = level
            if previous.get(order.order_id) != level and order.worst.line.due >= day:
                out.cards.append((day, order.order_id, level))
                out.first_warning.setdefault(order.order_id, day)
        previous = levels
        out.days += 1
        day += timedelta(days=1)
    return out
