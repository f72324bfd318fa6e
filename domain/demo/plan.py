"""The demo plant's plan, in memory: orders, work orders, when each ran, and the reports the floor made.

All randomness flows from one seeded generator in a fixed order. The plan says what happened on the floor;
what it counts for (operations done, work orders finished, an order's stage) is left to the real services,
which build.py runs the reports through before the plan settles shipping and picks the exceptions.
"""

from __future__ import annotations

import calendar
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from domain.demo.catalogue import (
    _QTY_CHOICES,
    _QTY_WEIGHTS,
    CUSTOMERS,
    PRESS_ZONES,
    PRODUCTS,
    _CustomerSpec,
    _people,
    _ProductSpec,
)
from domain.policy import PlantPolicy
from domain.vocab import ExceptionStatus, OperationStatus, OrderStatus, Stage, WorkOrderStatus

# The demo pictures the plant at noon on `today`: the morning's reports are in, the afternoon's are not.
AS_OF = time(12, 0)
# Of a day's moulding, what the presses have made by noon: the night before and four hours of the day shift.
# Only today's moulding is cut to it (the rest of the day is still to come); days before are whole.
MORNING_SHARE = 4 / 12
# Finished orders leave the warehouse within a few days; older finished ones are therefore shipped.
SHIP_AFTER_DAYS = 5
# Share of defects each operation makes (upper bound of a uniform draw): moulding scraps most.
DEFECT_RATE: dict[str, float] = {"注塑": 0.03, "修边": 0.01, "质检": 0.008, "包装": 0.002}
NOT_STARTED_COUNT = 4
# This week's busiest mould scraps this much more at moulding, so the demo shows a defect-streak alert.
TROUBLE_DAYS = 6
TROUBLE_EXTRA_DEFECT = 0.04
# Slow-downs (see _slowdown): a work order that ran late lost its extra days to a stop of its press or mould
# and/or a run of scrap, part-way through; some on-time ones had a short one and caught up with overtime.
RECOVERED_SLOWDOWN_SHARE = 0.25


@dataclass(frozen=True)
class DemoSummary:
    people: int
    customers: int
    products: int
    orders: int
    order_lines: int
    work_orders: int
    reports: int
    exceptions: int
    # Orders whose work finished after a line's due date, or that are still open past it.
    late_orders: int
    open_orders: int
    # Slow-downs in the history so far: work orders whose press or mould stopped for days, and scrap runs.
    machine_stops: int = 0
    defect_runs: int = 0



@dataclass(eq=False)
class PlanOp:
    seq: int
    name: str
    workshop: str
    # Read back from the store once the reporting service has counted the reports (build.py).
    status: OperationStatus = OperationStatus.PENDING


@dataclass(eq=False)
class PlanReport:
    wo: PlanWorkOrder
    op_index: int
    good: int
    defect: int
    at: datetime
    operator: str = ""
    source_key: str = ""
    # Made on the night shift (before 08:00): part of a moulding day's output, see history.NIGHT_SHARE.
    night: bool = False


@dataclass(eq=False)
class PlanWorkOrder:
    line: PlanLine
    planned_start: datetime
    planned_finish: datetime
    ops: list[PlanOp]
    code: str = ""
    machine: str = ""
    # These three are read back from the store once the reporting service has counted the reports.
    status: WorkOrderStatus = WorkOrderStatus.PLANNED
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Actual first and last production days; start None means it has not started.
    start_day: date | None = None
    finish_day: date | None = None
    late: bool = False
    reports: list[PlanReport] = field(default_factory=list)
    # A slowed work order's reports as they would have been without its slow-down: only to draw operators.
    unshaped: list[PlanReport] | None = None

    @property
    def planned_qty(self) -> int:
        return self.line.qty


@dataclass(eq=False)
class PlanLine:
    order: PlanOrder
    entry_id: int
    product: _ProductSpec
    qty: int
    due: date
    wo: PlanWorkOrder | None = None


@dataclass(eq=False)
class PlanOrder:
    bill_no: str
    order_date: date
    customer: _CustomerSpec
    created_at: datetime
    lines: list[PlanLine] = field(default_factory=list)
    # The office's stage; from 排产 on, the reports move it (stages.advance_after_report).
    stage: Stage = Stage.SCHEDULED
    # Closed once shipped (build.py), for the summary.
    status: OrderStatus = OrderStatus.OPEN


@dataclass(eq=False)
class Slowdown:
    """Per moulding day: good output as a share of a normal day (0 = stopped) and extra scrap, same unit."""

    rng: random.Random
    weights: list[float]
    scrap: list[float]
    start_day: date
    stop: bool
    defects: bool


@dataclass(eq=False)
class PlanException:
    wo: PlanWorkOrder
    reporter: str
    type: str
    description: str
    opened_at: datetime
    status: ExceptionStatus
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    resolution: str | None = None


class Plant:
    """Builds the plan; all randomness flows from one seeded generator in a fixed order."""

    def __init__(self, today: date, policy: PlantPolicy, seed: int) -> None:
        self.today = today
        self.policy = policy
        self.rng = random.Random(seed)
        self.seed = seed
        self.slowdowns: list[Slowdown] = []
        self.tz = policy.tz
        self.as_of = self.at(today, AS_OF.hour, AS_OF.minute)
        self.calendar = policy.calendar
        self.people = _people()
        self.orders: list[PlanOrder] = []
        self.work_orders: list[PlanWorkOrder] = []
        self.reports: list[PlanReport] = []
        self.exceptions: list[PlanException] = []

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def build(self) -> None:
        """Orders, work orders and when each runs; history.py then draws the reports."""
        self._orders()
        self._work_orders()
        self._schedule()
        self.trouble_mould = self._trouble_mould()

    # orders ----------------------------------------------------------------------------------------

    def _orders(self) -> None:
        rng, today = self.rng, self.today
        products_by_category: dict[str, list[_ProductSpec]] = {}
        for p in PRODUCTS:
            products_by_category.setdefault(p.category, []).append(p)
        weights = [c.weight for c in CUSTOMERS]
        day = _months_before(today, 3)
        while day <= today:
            if day == today:
                count = rng.randint(2, 4)  # it is only noon
            elif day.weekday() == 6:
                count = rng.randint(1, 3)
            else:
                count = rng.randint(5, 9)
            for _ in range(count):
                customer = rng.choices(CUSTOMERS, weights=weights)[0]
                last_hour = 11 if day == today else 17
                created = self.at(day, rng.randint(8, last_hour), rng.randint(0, 59))
                order = PlanOrder("", day, customer, created)
                catalogue = [p for c in customer.categories for p in products_by_category[c]]
                n_lines = min(rng.choices((1, 2, 3), weights=(50, 35, 15))[0], len(catalogue))
                due_base = rng.randint(7, 22)
                for entry_id, product in enumerate(rng.sample(catalogue, n_lines), start=1):
                    qty = rng.choices(_QTY_CHOICES, weights=_QTY_WEIGHTS)[0]
                    due = day + timedelta(days=due_base + rng.randint(0, 3))
                    order.lines.append(PlanLine(order, entry_id, product, qty, due))
                self.orders.append(order)
            day += timedelta(days=1)
        # Orders are created through the day, so sort by creation to keep bill numbers in date order.
        self.orders.sort(key=lambda o: o.created_at)
        for n, order in enumerate(self.orders, start=1):
            order.bill_no = f"SEORD{n:06d}"

    def _work_orders(self) -> None:
        rng, today = self.rng, self.today
        for order in self.orders:
            # The newest orders are still in the office: today's not yet reviewed, some of yesterday's
            # reviewed but not yet scheduled.
            if order.order_date == today:
                order.stage = Stage.RECEIVED
                continue
            if order.order_date == today - timedelta(days=1) and rng.random() < 0.5:
                order.stage = Stage.REVIEWED
                continue
            base = rng.randint(1, 4)
            for line in order.lines:
                p = line.product
                start = self.at(order.order_date + timedelta(days=base + rng.randint(0, 1)), 8)
                days = math.ceil(line.qty / p.daily_qty)
                ops = [PlanOp(seq, name, shop) for seq, (name, shop) in enumerate(p.route, start=1)]
                # Now and then the preferred press is busy and the mould goes on a neighbour.
                machine = p.press if rng.random() < 0.85 else rng.choice(sorted(PRESS_ZONES))
                line.wo = PlanWorkOrder(line, start, start + timedelta(days=days), ops, machine=machine)
                self.work_orders.append(line.wo)
        self.work_orders.sort(key=lambda w: (w.planned_start, w.line.order.bill_no, w.line.entry_id))
        per_day: dict[date, int] = {}
        for wo in self.work_orders:
            day = wo.planned_start.date()
            per_day[day] = per_day.get(day, 0) + 1
            wo.code = f"WO{day:%Y%m%d}-{per_day[day]:02d}"

    # schedule ----------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Decide each work order's actual first and last production day, and which orders run late."""
        rng, today = self.rng, self.today
        recent = today - timedelta(days=4)
        candidates = [
            w
            for w in self.work_orders
            if today - timedelta(days=3) <= w.planned_start.date() <= today - timedelta(days=1)
        ]
        # A few overdue starts with no report at all, for the "not started" alert.
        not_started = set(rng.sample(candidates, min(NOT_STARTED_COUNT, len(candidates))))
        by_order: dict[PlanOrder, list[PlanWorkOrder]] = {}
        for wo in self.work_orders:
            by_order.setdefault(wo.line.order, []).append(wo)
        for wos in by_order.values():
            natural: dict[PlanWorkOrder, date] = {}
            for wo in wos:
                if wo in not_started:
                    continue
                planned_day = wo.planned_start.date()
                delay = 0 if planned_day >= recent else rng.choices((0, 1, 2), weights=(85, 12, 3))[0]
                wo.start_day = planned_day + timedelta(days=delay)
                days = math.ceil(wo.planned_qty / wo.line.product.daily_qty)
                natural[wo] = wo.start_day + timedelta(days=days - 1 + rng.randint(0, 1))
            if not natural:
                continue
            # Tight orders slip more often; orders with weeks of slack almost never do.
            slack = min((wo.line.due - nat).days for wo, nat in natural.items())
            p_late = 0.7 if slack <= 3 else 0.35 if slack <= 8 else 0.1 if slack <= 12 else 0.0
            late_wo = (
                min(natural, key=lambda w: (w.line.due - natural[w]).days) if rng.random() < p_late else None
            )
            for wo, nat in natural.items():
                assert wo.start_day is not None
                if wo is late_wo:
                    wo.late = True
                    wo.finish_day = max(nat, wo.line.due + timedelta(days=rng.randint(1, 5)))
                else:
                    # On-time lines were pushed (second press, overtime) to finish by their due date.
                    latest = wo.line.due - timedelta(days=rng.randint(0, 2))
                    wo.finish_day = max(wo.start_day, min(nat, latest))
        self._ensure_running_past_due()

    def _ensure_running_past_due(self) -> None:
        today = self.today

        def running_past_due(w: PlanWorkOrder) -> bool:
            return w.start_day is not None and w.finish_day is not None and w.line.due < today <= w.finish_day

        if any(running_past_due(w) for w in self.work_orders):
            return
        for wo in self.work_orders:
            if (
                wo.start_day is not None
                and wo.start_day < today
                and today - timedelta(days=5) <= wo.line.due < today
            ):
                wo.late = True
                wo.finish_day = today + timedelta(days=2)
                return
        raise AssertionError("demo plan has no running work order to make overdue")

    # execution ---------------------------------------------------------------------------------------

    def _trouble_mould(self) -> str | None:
        """The mould busiest this week, which the demo gives a defect problem (a 连续两单不良率超标 alert)."""
        week = self.today - timedelta(days=TROUBLE_DAYS)
        recent = Counter(w.line.product.mould for w in self.work_orders
                         if w.start_day is not None and week <= w.start_day <= self.today)
        busiest = sorted(recent.items(), key=lambda kv: (-kv[1], kv[0]))
        return busiest[0][0] if busiest and busiest[0][1] >= 2 else None


    def summary(self) -> DemoSummary:
        lines = [line for o in self.orders for line in o.lines]
        return DemoSummary(
            people=len(self.people),
            customers=len(CUSTOMERS),
            products=len(PRODUCTS),
            orders=len(self.orders),
            order_lines=len(lines),
            work_orders=len(self.work_orders),
            reports=len(self.reports),
            exceptions=len(self.exceptions),
            late_orders=sum(1 for o in self.orders if self._is_late(o)),
            open_orders=sum(1 for o in self.orders if o.status == OrderStatus.OPEN),
            machine_stops=sum(1 for s in self.slowdowns if s.stop),
            defect_runs=sum(1 for s in self.slowdowns if s.defects),
        )

    def _is_late(self, order: PlanOrder) -> bool:
        for line in order.lines:
            wo = line.wo
            if wo is not None and wo.finished_at is not None:
                if wo.finished_at.astimezone(self.tz).date() > line.due:
                    return True
            elif line.due < self.today:
                return True
        return False


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


