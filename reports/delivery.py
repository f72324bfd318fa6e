"""Orders received, due and shipped in a month, and whether order lines met their due dates (交期达成率).

A line is judged on its own due date (KIS keeps a delivery date per SEOrderEntry) by the one on-time rule of
domain/services/on_time.py, the rule the chat's ⚠逾期 and the board's 已逾期 use too: done on the day
everything of it was finished into stock, shipped or closed, whichever came first, and judged as of the
report day (a line done after that day was still owed then).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from alerts.rules import DEFECT_STREAK, LATE_START, RULE_LABELS
from domain.models import Alert, Customer, Product, SalesOrder, SalesOrderLine, ShopException, WorkOrder
from domain.services import on_time as the_rule
from domain.services.on_time import LATE, ON_TIME, PENDING
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, WorkOrderStatus
from reports.month import Month

__all__ = ["LATE", "ON_TIME", "PENDING"]
# Alerts that explain a delay; exception alerts are left out because the exception itself is listed.
_REASON_RULES = (LATE_START, DEFECT_STREAK)
_CHUNK = 500  # ids per IN (...): well inside every driver's parameter limit


@dataclass(frozen=True)
class LineFact:
    """One order line due in the month, with what is needed to judge it."""

    line_id: int
    bill_no: str
    entry_id: int
    customer: str
    item_number: str
    product: str
    qty: int
    due: date
    done_on: date | None
    start_delay_days: int  # the latest of its work orders' starts behind plan (0: on time or not started)
    work_orders: tuple[str, ...]


@dataclass(frozen=True)
class OnTime:
    """交期达成: lines due, of which judged (due date passed or done) on time and late; pending = not yet due."""

    due: int
    on_time: int
    late: int
    pending: int
    due_qty: int
    orders: int

    @property
    def judged(self) -> int:
        return self.on_time + self.late

    @property
    def rate_pct(self) -> float | None:
        return 100 * self.on_time / self.judged if self.judged else None


@dataclass(frozen=True)
class Received:
    orders: int
    lines: int
    qty: int


@dataclass(frozen=True)
class CustomerOrders:
    customer: str
    orders: int
    qty: int


@dataclass(frozen=True)
class Shipped:
    orders: int
    qty: int


@dataclass(frozen=True)
class LateLine:
    bill_no: str
    entry_id: int
    customer: str
    item_number: str
    product: str
    qty: int
    due: date
    done_on: date | None  # None: still not done on the report day
    delay_days: int
    reasons: tuple[str, ...]


# --- the judgement --------------------------------------------------------------------------------------


def verdict(line: LineFact, as_of: date) -> str:
    """on_time, late, or pending (not done by the report day, and its due date is that day or later)."""
    return the_rule.verdict(line.due, line.done_on, as_of)


def delay_days(line: LineFact, as_of: date) -> int:
    """Days past due: to the day it was done, or to the report day if it was not done by then."""
    return the_rule.delay_days(line.due, line.done_on, as_of)


def on_time(lines: Iterable[LineFact], as_of: date) -> OnTime:
    lines = list(lines)
    verdicts = [verdict(line, as_of) for line in lines]
    return OnTime(
        due=len(lines),
        on_time=verdicts.count(ON_TIME),
        late=verdicts.count(LATE),
        pending=verdicts.count(PENDING),
        due_qty=sum(line.qty for line in lines),
        orders=len({line.bill_no for line in lines}),
    )


def on_time_by(lines: Iterable[LineFact], as_of: date, key: Callable[[LineFact], str]) -> list[tuple[str, OnTime]]:
    """交期达成 per customer or product, the most lines first."""
    groups: dict[str, list[LineFact]] = defaultdict(list)
    for line in lines:
        groups[key(line)].append(line)
    rows = [(name, on_time(group, as_of)) for name, group in groups.items()]
    return sorted(rows, key=lambda r: (-r[1].due, r[0]))


def by_customer(line: LineFact) -> str:
    return line.customer


def by_product(line: LineFact) -> str:
    return f"{line.product}（{line.item_number}）"


def late_lines(lines: Iterable[LineFact], as_of: date, recorded: dict[int, list[str]]) -> list[LateLine]:
    """The late lines, longest delay first, with the reasons recorded against their work orders."""
    out = []
    for line in lines:
        if verdict(line, as_of) != LATE:
            continue
        reasons = list(recorded.get(line.line_id, []))
        if line.start_delay_days > 0:
            reasons.append(f"开工比计划晚 {line.start_delay_days} 天")
        out.append(LateLine(line.bill_no, line.entry_id, line.customer, line.item_number, line.product, line.qty,
                            line.due, the_rule.seen_by(line.done_on, as_of), delay_days(line, as_of), tuple(reasons)))
    return sorted(out, key=lambda x: (-x.delay_days, x.due, x.bill_no, x.entry_id))


# --- loading --------------------------------------------------------------------------------------------


class _WorkOrder(NamedTuple):
    code: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    planned_start: datetime


def due_lines(uow: UnitOfWork, month: Month, tz: ZoneInfo) -> list[LineFact]:
    """Every line of a live (not voided) order due in the month."""
    s = uow.session
    in_month = (SalesOrderLine.due_date >= month.first, SalesOrderLine.due_date <= month.last,
                SalesOrder.status != OrderStatus.VOIDED)
    rows = s.execute(
        select(SalesOrderLine.id, SalesOrder.id, SalesOrder.bill_no, SalesOrderLine.entry_id, Customer.name,
               Product.item_number, Product.name, SalesOrderLine.qty, SalesOrderLine.due_date,
               SalesOrderLine.shipped_qty, SalesOrder.shipped_at, SalesOrder.status, SalesOrder.updated_at,
               SalesOrderLine.shipped_at, SalesOrderLine.closed_at)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .join(Product, Product.id == SalesOrderLine.product_id)
        .where(*in_month)
    ).all()
    work_orders: dict[int, list[_WorkOrder]] = defaultdict(list)
    for line_id, code, status, started, finished, planned_start in s.execute(
        select(WorkOrder.line_id, WorkOrder.code, WorkOrder.status, WorkOrder.started_at, WorkOrder.finished_at,
               WorkOrder.planned_start)
        .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(*in_month, WorkOrder.status != WorkOrderStatus.VOIDED)
        .order_by(WorkOrder.code)
    ):
        work_orders[line_id].append(_WorkOrder(code, status, started, finished, planned_start))
    closed = the_rule.close_dates(s, {r[1]: r[12] for r in rows if r[11] == OrderStatus.CLOSED})

    facts = []
    for (line_id, order_id, bill_no, entry_id, customer, item, product, qty, due, shipped_qty, shipped_at, _status,
         _updated, line_shipped_at, line_closed_at) in rows:
        wos = work_orders.get(line_id, [])
        record = the_rule.LineRecord(qty, shipped_qty, tuple((w.status, w.finished_at) for w in wos), line_shipped_at,
                                 shipped_at, line_closed_at, closed.get(order_id))
        start_delay = max(
            ((w.started_at.astimezone(tz).date() - w.planned_start.astimezone(tz).date()).days
             for w in wos if w.started_at is not None),
            default=0,
        )
        facts.append(LineFact(line_id, bill_no, entry_id, customer, item, product, qty, due,
                              the_rule.done_on(record, tz), max(0, start_delay), tuple(w.code for w in wos)))
    return facts


def _received_by(month: Month, as_of: date | None) -> tuple[Any, ...]:
    """Orders taken in the month up to the report day (by order date), voided ones left out."""
    last = min(month.last, as_of) if as_of is not None else month.last
    return (SalesOrder.order_date >= month.first, SalesOrder.order_date <= last, SalesOrder.status != OrderStatus.VOIDED)


def received(uow: UnitOfWork, month: Month, as_of: date | None = None) -> Received:
    """Orders taken in the month (by order date, up to the report day), voided ones left out."""
    orders, lines, qty = uow.session.execute(
        select(func.count(func.distinct(SalesOrder.id)), func.count(SalesOrderLine.id),
               func.coalesce(func.sum(SalesOrderLine.qty), 0))
        .select_from(SalesOrder).outerjoin(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
        .where(*_received_by(month, as_of))
    ).one()
    return Received(int(orders), int(lines), int(qty))


def received_by_customer(uow: UnitOfWork, month: Month, as_of: date | None = None) -> list[CustomerOrders]:
    rows = uow.session.execute(
        select(Customer.name, func.count(func.distinct(SalesOrder.id)), func.coalesce(func.sum(SalesOrderLine.qty), 0))
        .select_from(SalesOrder)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .outerjoin(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
        .where(*_received_by(month, as_of))
        .group_by(Customer.name)
    ).all()
    return sorted((CustomerOrders(name, int(n), int(q)) for name, n, q in rows), key=lambda c: (-c.orders, -c.qty,
                                                                                                 c.customer))


def shipped(uow: UnitOfWork, month: Month, tz: ZoneInfo, as_of: date | None = None) -> Shipped:
    """Orders whose shipment left in the month (up to the end of the report day), and the pieces on them. A
    voided order shipped nothing that counts: KIS voids the bill, whatever FactoryBot last read of it."""
    start, end = month.utc_bounds(tz)
    if as_of is not None:
        end = min(end, datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz))
    orders, qty = uow.session.execute(
        select(func.count(func.distinct(SalesOrder.id)), func.coalesce(func.sum(SalesOrderLine.shipped_qty), 0))
        .select_from(SalesOrder).outerjoin(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
        .where(SalesOrder.shipped_at >= start, SalesOrder.shipped_at < end, SalesOrder.status != OrderStatus.VOIDED)
    ).one()
    return Shipped(int(orders), int(qty))


def recorded_reasons(uow: UnitOfWork, lines: Iterable[LineFact]) -> dict[int, list[str]]:
    """What was recorded against each line's work orders: exceptions (with their resolution) and alerts."""
    by_code = {code: line.line_id for line in lines for code in line.work_orders}
    codes = sorted(by_code)
    out: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        for code, kind, description, resolution in uow.session.execute(
            select(WorkOrder.code, ShopException.type, ShopException.description, ShopException.resolution)
            .join(WorkOrder, WorkOrder.id == ShopException.work_order_id)
            .where(WorkOrder.code.in_(chunk)).order_by(ShopException.opened_at)
        ):
            text = f"{kind}：{description}" if description else kind
            out[by_code[code]].append(text + (f"（处理：{resolution}）" if resolution else ""))
        subjects = [f"wo:{c}" for c in chunk]
        for rule, subject, facts in uow.session.execute(
            select(Alert.rule, Alert.subject_key, Alert.facts)
            .where(Alert.rule.in_(_REASON_RULES), Alert.subject_key.in_(subjects)
                   | Alert.facts["工单"].as_string().in_(chunk)).order_by(Alert.fired_at)
        ):
            code = subject[3:] if subject.startswith("wo:") else str((facts or {}).get("工单", ""))
            reason = f"预警：{RULE_LABELS.get(rule, rule)}"
            if code in by_code and reason not in out[by_code[code]]:
                out[by_code[code]].append(reason)
    return out
