"""The one on-time rule: when an order line was done, and whether it is on time, late or not yet due.

A line is *done* on the first of: the day everything of it was finished into stock (all its live work
orders done or closed, on the day the last one finished), the day it shipped in full, the day it was closed
in KIS (行关闭), or the day its order was closed in KIS without a shipment (the first pull that saw it
closed: KIS keeps no close date on SEOrder). Judged as of a day, a line done after that day is not done by
then. It is *on time* when done on or before its due date, *late* when done after it or not done and past
due, *pending* otherwise. The chat's ⚠逾期, the board's 已逾期 and the monthly report's 交期达成 all judge
with this module, so a line finished into stock on time is never late anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from domain.models import OrderEvent, SalesOrder, SalesOrderLine, WorkOrder
from domain.vocab import OrderStatus, WorkOrderStatus

ON_TIME, LATE, PENDING = "on_time", "late", "pending"
FINISHED = (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED)
CLOSE_EVENT = "closed"  # domain.services.order_events: the pull that found the order closed in KIS
_CHUNK = 500  # ids per IN (...): well inside every driver's parameter limit


@dataclass(frozen=True)
class LineRecord:
    """What decides when a line was done, as stored."""

    qty: int
    shipped_qty: int
    work_orders: tuple[tuple[str, datetime | None], ...]  # (status, finished_at) of each work order but voided
    shipped_at: datetime | None = None  # the KIS outbound that completed this very line
    order_shipped_at: datetime | None = None
    closed_at: datetime | None = None  # the line closed in KIS (行关闭)
    order_closed_at: datetime | None = None  # the order's close event, when it was closed in KIS


def _day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def done_on(line: LineRecord, tz: tzinfo) -> date | None:
    """The plant day the line was done, or None while it is still owed."""
    candidates: list[date] = []
    live = [(status, at) for status, at in line.work_orders if status != WorkOrderStatus.VOIDED]
    if live and all(status in FINISHED for status, _ in live):
        finish_days = [_day(at, tz) for _, at in live if at is not None]
        if finish_days:
            candidates.append(max(finish_days))
    if line.shipped_at is not None:
        candidates.append(_day(line.shipped_at, tz))
    elif line.order_shipped_at is not None and line.shipped_qty >= line.qty:
        candidates.append(_day(line.order_shipped_at, tz))
    elif line.closed_at is not None:
        candidates.append(_day(line.closed_at, tz))
    elif line.order_closed_at is not None:
        candidates.append(_day(line.order_closed_at, tz))
    return min(candidates) if candidates else None


def seen_by(done: date | None, as_of: date) -> date | None:
    """What was known on `as_of`: a line done after that day was still owed then."""
    return done if done is not None and done <= as_of else None


def verdict(due: date, done: date | None, as_of: date) -> str:
    """on_time, late, or pending (not done by `as_of`, and its due date is `as_of` or later)."""
    done = seen_by(done, as_of)
    if done is not None:
        return ON_TIME if done <= due else LATE
    return LATE if due < as_of else PENDING


def is_late(due: date, done: date | None, as_of: date) -> bool:
    return verdict(due, done, as_of) == LATE


def delay_days(due: date, done: date | None, as_of: date) -> int:
    """Days past due: to the day it was done, or to `as_of` if it was not done by then."""
    return max(0, ((seen_by(done, as_of) or as_of) - due).days)


# --- reading the records --------------------------------------------------------------------------------


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def close_dates(session: Session, closed: Mapping[int, datetime]) -> dict[int, datetime]:
    """When each closed order (id → its updated_at) was closed: its close event, the first pull that found it
    closed in KIS, so a later pull that touches the order again never moves the day it stopped being owed.
    Only an order closed with no event kept (by hand, or before events were kept) falls back to updated_at."""
    out = dict(closed)
    for part in _chunks(sorted(closed)):
        out.update({order_id: at for order_id, at in session.execute(
            select(OrderEvent.order_id, func.min(OrderEvent.at))
            .where(OrderEvent.order_id.in_(part), OrderEvent.kind == CLOSE_EVENT)
            .group_by(OrderEvent.order_id))})
    return out


def line_done_days(session: Session, line_ids: Iterable[int], tz: tzinfo) -> dict[int, date | None]:
    """done_on for each line id, read in a few column queries (the board's way of reading)."""
    ids = sorted(set(line_ids))
    rows: dict[int, tuple[int, int, int, datetime | None, datetime | None, datetime | None, str, datetime]] = {}
    work_orders: dict[int, list[tuple[str, datetime | None]]] = {i: [] for i in ids}
    for part in _chunks(ids):
        for line_id, *row in session.execute(
                select(SalesOrderLine.id, SalesOrderLine.order_id, SalesOrderLine.qty, SalesOrderLine.shipped_qty,
                       SalesOrderLine.shipped_at, SalesOrderLine.closed_at, SalesOrder.shipped_at, SalesOrder.status,
                       SalesOrder.updated_at)
                .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id).where(SalesOrderLine.id.in_(part))):
            rows[line_id] = tuple(row)  # type: ignore[assignment]
        for line_id, status, finished_at in session.execute(
                select(WorkOrder.line_id, WorkOrder.status, WorkOrder.finished_at).where(WorkOrder.line_id.in_(part))):
            work_orders[line_id].append((status, finished_at))
    closed = close_dates(session, {r[0]: r[7] for r in rows.values() if r[6] == OrderStatus.CLOSED})
    return {line_id: done_on(LineRecord(qty, shipped_qty, tuple(work_orders[line_id]), shipped_at, order_shipped_at,
                                        closed_at, closed.get(order_id)), tz)
            for line_id, (order_id, qty, shipped_qty, shipped_at, closed_at, order_shipped_at, _, _) in rows.items()}


def record_of(line: SalesOrderLine, order_closed_at: datetime | None = None) -> LineRecord:
    """A loaded line (with its order and work orders) as the rule reads it."""
    return LineRecord(line.qty, line.shipped_qty, tuple((w.status, w.finished_at) for w in line.work_orders),
                      line.shipped_at, line.order.shipped_at, line.closed_at, order_closed_at)


def order_late(order: SalesOrder, today: date, tz: tzinfo) -> bool:
    """The chat's ⚠逾期: some line of the order is late today (a voided order owes nothing)."""
    return order_delay(order, today, tz) is not None


@dataclass(frozen=True)
class OrderDelay:
    """How late a late order is, as the monthly report counts a line's delay: to the day the line was done,
    or to today while it is still owed. `done`: every late line is done (the delay is final)."""

    days: int
    done: bool


def order_delay(order: SalesOrder, today: date, tz: tzinfo) -> OrderDelay | None:
    """None when no line of the order is late today (a voided order owes nothing)."""
    if order.status == OrderStatus.VOIDED:
        return None
    closed_at = None
    if order.status == OrderStatus.CLOSED:
        session = object_session(order)
        closed_at = (close_dates(session, {order.id: order.updated_at}) if session is not None
                     else {order.id: order.updated_at})[order.id]
    late = [(line.due_date, done) for line in order.lines
            if is_late(line.due_date, done := done_on(record_of(line, closed_at), tz), today)]
    if not late:
        return None
    return OrderDelay(max(delay_days(due, done, today) for due, done in late), all(d is not None for _, d in late))
