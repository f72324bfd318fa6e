"""The facts a projection needs, read in a handful of column queries (no ORM objects): alert rounds over
thousands of open work orders and wall screens polling the board both call it.

The statements are built once, at import, with bound parameters: building a SELECT with its joins costs
more than running it on a plant's few hundred open work orders, and the board asks every few seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import DateTime, and_, bindparam, exists, func, or_, select, type_coerce
from sqlalchemy.orm import aliased

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
from domain.vocab import ExceptionStatus, OrderStatus, WorkOrderStatus
from forecast.policy import ForecastPolicy
from forecast.projection import History, LineFacts, Projector, WorkOrderFacts


@dataclass(frozen=True)
class Snapshot:
    lines: dict[int, LineFacts]
    work_orders: list[WorkOrderFacts]
    history: History


# Beyond this many orders, reading every open order and keeping some is cheaper than a long IN list.
MAX_IN = 2000
LIVE = (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS)

_first = aliased(Operation)
_FIRST_OP = and_(_first.work_order_id == WorkOrder.id, _first.seq == 1)
_WORK_ORDERS = (
    select(WorkOrder.id, WorkOrder.code, WorkOrder.line_id, WorkOrder.status, WorkOrder.planned_qty,
           WorkOrder.daily_plan_qty, WorkOrder.planned_start, WorkOrder.planned_finish, WorkOrder.machine,
           WorkOrder.mould, WorkOrder.product_id, WorkOrder.workshop, WorkOrder.finished_at, _first.good_qty,
           _first.started_at, exists().where(Operation.work_order_id == WorkOrder.id, Operation.seq > 1),
           SalesOrderLine.order_id, SalesOrder.bill_no, Customer.name, SalesOrderLine.entry_id, Product.name,
           SalesOrderLine.qty, SalesOrderLine.due_date)
    .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
    .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
    .join(Customer, Customer.id == SalesOrder.customer_id)
    .join(Product, Product.id == SalesOrderLine.product_id)
    .outerjoin(_first, _FIRST_OP)
    .where(WorkOrder.status != WorkOrderStatus.VOIDED)
)
_OF_OPEN_ORDERS = _WORK_ORDERS.where(SalesOrder.status == OrderStatus.OPEN)
_OF_ORDERS = _WORK_ORDERS.where(SalesOrder.id.in_(bindparam("orders", expanding=True)))
_ON_PRESSES = _OF_OPEN_ORDERS.where(WorkOrder.machine.in_(bindparam("presses", expanding=True)),
                                    WorkOrder.status.in_(LIVE))

_OUTPUT = (
    select(WorkReport.work_order_id, func.sum(WorkReport.good_qty), func.sum(WorkReport.defect_qty))
    .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
    .where(WorkReport.work_day >= bindparam("first_day"), WorkReport.work_day <= bindparam("last_day"))
    .group_by(WorkReport.work_order_id)
)
_OUTPUT_OF = _OUTPUT.where(WorkReport.work_order_id.in_(bindparam("ids", expanding=True)))

# Work orders and presses that moulded good pieces lately: a press that did is not 停机, whatever its window.
_MOULDING_SINCE = (
    select(WorkOrder.id, WorkOrder.machine).distinct()
    .join(WorkReport, WorkReport.work_order_id == WorkOrder.id)
    .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
    # The production day bound lets the work_day index find the few recent reports (a report after `since`
    # is on its production day or a later one); reported_at alone has no index.
    .where(WorkReport.work_day >= bindparam("since_day"), WorkReport.reported_at >= bindparam("since"),
           WorkReport.good_qty > 0)
)

_TROUBLES = select(ShopException.work_order_id, ShopException.type).where(
    ShopException.status != ExceptionStatus.CLOSED, ShopException.work_order_id.is_not(None))
_TROUBLES_OF = _TROUBLES.where(ShopException.work_order_id.in_(bindparam("ids", expanding=True)))

_HISTORY = (
    select(WorkOrder.machine, WorkOrder.mould, WorkOrder.product_id, WorkReport.work_day, func.sum(WorkReport.good_qty))
    .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
    .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
    .where(WorkReport.work_order_id.in_(
               select(WorkOrder.id).where(or_(WorkOrder.mould.in_(bindparam("moulds", expanding=True)),
                                              WorkOrder.product_id.in_(bindparam("products", expanding=True))))),
           WorkReport.work_day >= bindparam("first_day"), WorkReport.work_day <= bindparam("last_day"))
    .group_by(WorkOrder.machine, WorkOrder.mould, WorkOrder.product_id, WorkReport.work_order_id,
              WorkReport.work_day)
)

# The alert round's check reads raw stored values: times stay naive UTC (compared as such, converted only when
# a value is new), and done work orders need none.
_NAIVE = DateTime()
_SCREEN = (
    select(SalesOrderLine.order_id, WorkOrder.planned_qty, WorkOrder.daily_plan_qty,
           type_coerce(WorkOrder.planned_start, _NAIVE), type_coerce(WorkOrder.planned_finish, _NAIVE),
           WorkOrder.machine, WorkOrder.mould, WorkOrder.product_id, WorkOrder.id, _first.good_qty,
           type_coerce(_first.started_at, _NAIVE), SalesOrderLine.due_date)
    .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
    .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
    .outerjoin(_first, _FIRST_OP)
    .where(WorkOrder.status.in_(LIVE), SalesOrder.status == OrderStatus.OPEN)
)


def load_snapshot(uow: UnitOfWork, policy: ForecastPolicy, now: datetime, *,
                  order_ids: Collection[int] | None = None, machines: Collection[str] | None = None,
                  history: History | None = None) -> Snapshot:
    """Every work order of the open orders (or of the given ones, or the live ones on the given presses),
    with its lines and recent output. `history` saves its query when the caller has it already."""
    if order_ids is not None and len(order_ids) > MAX_IN:
        snap = load_snapshot(uow, policy, now, history=history)
        keep = set(order_ids)
        kept = {k: v for k, v in snap.lines.items() if v.order_id in keep}
        return Snapshot(kept, [f for f in snap.work_orders if f.line_id in kept], snap.history)
    # Core execution on the unit of work's connection: no ORM row handling for thousands of plain tuples.
    conn, cal = uow.session.connection(), policy.calendar
    if order_ids is not None:
        rows = conn.execute(_OF_ORDERS, {"orders": list(order_ids)}).all()
    elif machines is not None:
        rows = conn.execute(_ON_PRESSES, {"presses": list(machines)}).all()
    else:
        rows = conn.execute(_OF_OPEN_ORDERS).all()
    ids = [r[0] for r in rows]
    # An IN list only when it is short; otherwise the day filter is selective enough.
    few = (order_ids is not None or machines is not None) and len(ids) <= MAX_IN

    last_full = cal.last_full_day(now)
    output = _window_output(uow, cal.last_work_days(last_full, policy.rate_days), last_full, ids if few else None)
    troubles: dict[int, list[str]] = defaultdict(list)
    for wo_id, kind in (conn.execute(_TROUBLES_OF, {"ids": ids}) if few else conn.execute(_TROUBLES)):
        if wo_id is not None:  # always: the query leaves out exceptions without a work order
            troubles[wo_id].append(kind)

    since = now - timedelta(minutes=policy.press_stopped_minutes)
    moulding = conn.execute(_MOULDING_SINCE, {"since": since, "since_day": cal.production_day(since)}).all()
    running_ids = {wo_id for wo_id, _ in moulding}
    running_presses = {machine for _, machine in moulding if machine}

    lines: dict[int, LineFacts] = {}
    work_orders: list[WorkOrderFacts] = []
    for (wo_id, code, line_id, status, planned, daily, start, finish, machine, mould, product_id, workshop,
         finished_at, moulded, started_at, has_downstream, order_id, bill_no, customer, entry_id, product, qty,
         due) in rows:
        if line_id not in lines:
            lines[line_id] = LineFacts(line_id, order_id, bill_no, customer, entry_id, product, qty, due)
        good, defect = output.get(wo_id, (0, 0))
        work_orders.append(WorkOrderFacts(
            id=wo_id, code=code, line_id=line_id, status=str(status), planned_qty=planned, daily_plan_qty=daily,
            planned_start=start, planned_finish=finish, machine=machine, mould=mould, product_id=product_id,
            workshop=workshop, finished_at=finished_at, moulded=moulded or 0, has_downstream=bool(has_downstream),
            first_report_day=cal.production_day(started_at) if started_at else None, window_good=good,
            window_defect=defect, exceptions=tuple(troubles.get(wo_id, ())),
            press_running=wo_id in running_ids or machine in running_presses,
        ))
    # Only a work order that started within the current shift, or is moulding again after a window without
    # output, borrows history: skip the query otherwise.
    thin = [f for f in work_orders
            if f.first_report_day is not None and f.status != "done"
            and (f.first_report_day > last_full or (f.press_running and not f.window_good))]
    if history is None:
        history = _history(uow, policy, now, {f.mould for f in thin if f.mould}, {f.product_id for f in thin})
    return Snapshot(lines, work_orders, history)


def screen_open_orders(uow: UnitOfWork, policy: ForecastPolicy, now: datetime) -> tuple[set[int], History]:
    """The open orders a cheap check cannot clear (a work order may finish late, or close to its due date),
    and the machine/mould history if a work order needed it.

    For alert rounds over thousands of work orders: one lean query, then the projection's own arithmetic
    without building dates or objects. Every work order is taken to have steps after moulding: a later
    finish, so never a wrong "on time".
    """
    cal = policy.calendar
    rows = uow.session.connection().execute(_SCREEN).all()
    last_full = cal.last_full_day(now)
    window = cal.last_work_days(last_full, policy.rate_days)
    output = _window_output(uow, window, last_full, None)
    # A first report before the end of a window day (in UTC, as stored) means that day counts: the end of its
    # production day (a night shift's report at 02:00 belongs to the day before).
    day_ends = [_utc_naive(cal.plant.day_window(d)[1]) for d in window]
    thin_before = _utc_naive(cal.plant.day_window(last_full)[1])
    thin = [row for row in rows if row[10] is not None and row[10] >= thin_before]
    history = _history(uow, policy, now, {row[6] for row in thin if row[6]}, {row[7] for row in thin})
    projector = Projector(now, policy, history)
    positions: dict[datetime, float | None] = {}

    def at(value: datetime) -> float | None:
        if value not in positions:
            positions[value] = projector.clock.position(value.replace(tzinfo=UTC))
        return positions[value]

    check = projector.finishes_early
    unsure: set[int] = set()
    for order_id, planned, daily, start, finish, machine, mould, product_id, wo_id, moulded, started, due in rows:
        if order_id in unsure:
            continue
        if started is None:
            ok = check(False, False, 0, 0, 0, planned, daily, True, at(start), at(finish), machine, mould,
                       product_id, due)
        else:
            days = sum(1 for end in day_ends if started < end)
            ok = check(False, True, days, output.get(wo_id, (0, 0))[0], moulded or 0, planned, daily, True, None,
                       None, machine, mould, product_id, due)
        if not ok:
            unsure.add(order_id)
    return unsure, history


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _window_output(uow: UnitOfWork, window: list[date], last_full: date,
                   ids: list[int] | None) -> dict[int, tuple[int, int]]:
    """Moulding good and defect pieces per work order over the rate window's days."""
    if not window:
        return {}
    params: dict[str, object] = {"first_day": window[0], "last_day": last_full}
    if ids is not None:
        params["ids"] = ids
    return {wo_id: (int(good or 0), int(defect or 0))
            for wo_id, good, defect in uow.session.connection().execute(
                _OUTPUT if ids is None else _OUTPUT_OF, params)}


def _history(uow: UnitOfWork, policy: ForecastPolicy, now: datetime, moulds: Collection[str],
             products: Collection[int]) -> History:
    """Moulding output per working hour on recent full production days, by machine and mould and by product,
    for the moulds and products asked about (those of work orders with no full day of their own yet)."""
    if not moulds and not products:
        return History()
    cal = policy.calendar
    last_full = cal.last_full_day(now)
    rows = uow.session.connection().execute(_HISTORY, {
        "moulds": list(moulds), "products": list(products),
        "first_day": last_full - timedelta(days=policy.history_days), "last_day": last_full}).all()
    # (good, working hours of its production day) per work order and day: a day's hours come from the calendar.
    pairs: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    by_product: dict[int, list[tuple[int, float]]] = defaultdict(list)
    hours: dict[date, float] = {}
    for machine, mould, product_id, day, good in rows:
        if day not in hours:
            hours[day] = cal.day_hours(day) or cal.hours_per_day  # overtime on a rest day: a plan day's hours
        item = (int(good or 0), hours[day])
        if machine and mould:
            pairs[(machine, mould)].append(item)
        by_product[product_id].append(item)
    return History({k: _per_hour(v) for k, v in pairs.items()}, {k: _per_hour(v) for k, v in by_product.items()})


def _per_hour(days: list[tuple[int, float]]) -> float:
    return sum(g for g, _ in days) / sum(h for _, h in days)
