"""The order execution board: every open order line and work order at a glance, most urgent first, as data.

Read with a handful of column queries (no ORM objects), because wall screens poll it every few seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select

from domain.models import (
    Alert,
    Customer,
    Operation,
    Person,
    Product,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    SyncState,
    WorkOrder,
    WorkReport,
)
from domain.plant_calendar import PlantCalendar
from domain.services import on_time
from domain.services.shift_output import press_output, workshop_output
from domain.services.visibility import visible_workshop
from domain.uow import UnitOfWork
from domain.vocab import STAGE_ORDER, AlertStatus, ExceptionStatus, OrderStatus, Stage, WorkOrderStatus

LIVE = (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS)
FINISHED = (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED)
OPEN_ALERT = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
OPEN_EXCEPTION = (ExceptionStatus.OPEN, ExceptionStatus.ACKNOWLEDGED)
AT_RISK_DAYS = 2  # due this soon and less than AT_RISK_DONE_PCT finished (or the forecast says so): look
AT_RISK_DONE_PCT = 80
STATUSES = {"late": "已逾期", "at_risk": "有风险", "exception": "有异常", "ok": "正常"}


@dataclass(frozen=True)
class BoardOp:
    name: str
    good: int
    percent: int
    status: str


@dataclass(frozen=True)
class BoardRow:
    work_order: str
    bill_no: str
    customer: str
    product: str
    item_number: str
    workshop: str  # the work order's own (where it starts)
    machine: str | None
    planned_qty: int
    done_qty: int
    percent: int
    ops: list[BoardOp]
    stage: str
    stage_index: int
    planned_start: str
    due_date: str
    days_to_due: int
    late: bool
    at_risk: bool
    exceptions: int
    alerts: int
    people: list[str]
    status: str  # late | exception | at_risk | ok
    # The forecast of its line at the speed achieved: 预计 11-28 完工 / 会逾期 2 天; None without a forecast.
    eta: str | None = None
    forecast_risk: str | None = None  # on_time | at_risk | late
    forecast_label: str | None = None
    # Every workshop it passes through (its own and its operations'): what the workshop filter and a
    # workshop's people go by.
    workshops: list[str] = field(default_factory=list)
    # Unique on the board: the work order's code, or bill/line for an order line without a live work order.
    key: str = ""
    line_no: int | None = None  # set on an order line's row (work_order is "" there)
    finished: list[str] = field(default_factory=list)  # the line's finished work orders, on a line's row

    @property
    def urgency(self) -> tuple[Any, ...]:
        rank = {"late": 0, "exception": 1, "at_risk": 2, "ok": 3}[self.status]
        if self.alerts:
            rank = min(rank, 1)  # someone is being paged about it: as pressing as an exception
        return (rank, not self.alerts, self.days_to_due, self.key)


@dataclass(frozen=True)
class BoardFilters:
    workshop: str = ""
    customer: str = ""
    stage: str = ""
    status: str = ""


@dataclass(frozen=True)
class BoardShift:
    """One shift of the current production day on a multi-shift plant: its plan and what it made (the
    shared figure of domain/services/shift_output), in the viewer's workshop or the whole plant."""

    name: str
    label: str  # 11-25 夜班
    hours: str  # 20:00-08:00
    crew: str | None
    planned: int
    good: int
    percent: int | None  # None: nothing planned
    on_duty: bool  # the shift working now
    working: bool  # False on a rest day: a nominal shift


@dataclass
class Board:
    rows: list[BoardRow]
    counts: dict[str, int]
    options: dict[str, list[str]] = field(default_factory=dict)
    shifts: list[BoardShift] = field(default_factory=list)  # empty on a one-shift plant

    def to_dict(self) -> dict[str, Any]:
        # vars() instead of asdict(): asdict deep-copies every value, a third of a poll's time.
        rows = [{**vars(r), "ops": [vars(o) for o in r.ops]} for r in self.rows]
        out: dict[str, Any] = {"rows": rows, "counts": self.counts, "options": self.options}
        if self.shifts:  # a one-shift plant's body is as it always was
            out["shifts"] = [vars(s) for s in self.shifts]
        return out


def board_shifts(uow: UnitOfWork, calendar: PlantCalendar, now: datetime, *,
                 workshop: str | None = None) -> list[BoardShift]:
    """Plan against output for each shift of the production day `now` is in, the shift on duty marked;
    empty on a one-shift plant (its day is its shift, and the rows already say it)."""
    if not calendar.multi_shift:
        return []
    on = calendar.shift_at(now)
    out = []
    for shift in calendar.shifts(calendar.production_day(now)):
        totals = workshop_output(press_output(uow, calendar, shift, workshop=workshop or None))
        planned = sum(p for p, _ in totals.values())
        good = sum(g for _, g in totals.values())
        out.append(BoardShift(
            name=shift.name, label=shift.label, hours=shift.hours_text, crew=shift.crew, planned=planned, good=good,
            percent=round(100 * good / planned) if planned else None, on_duty=on is not None and on.key == shift.key,
            working=shift.working))
    return out


@dataclass(frozen=True)
class OpenAlerts:
    """The ids of the open alerts about each work order (by code) and each order (by bill number)."""

    by_work_order: dict[str, set[int]]
    by_order: dict[str, set[int]]

    def count(self, codes: list[str], bill_no: str) -> int:
        ids = set(self.by_order.get(bill_no, ()))
        for code in codes:
            ids |= self.by_work_order.get(code, set())
        return len(ids)


def open_alerts(uow: UnitOfWork) -> OpenAlerts:
    """Open alerts by what they are about: a work order (wo:CODE…, an exception on it, or a fact 工单 naming
    it, as a defect streak's does) or an order (order:BILL from KIS, forecast:BILL:level from the forecast).
    Alerts about a workshop or a job (plan:, kis:) belong to no row."""
    by_wo: dict[str, set[int]] = defaultdict(set)
    by_order: dict[str, set[int]] = defaultdict(set)
    on_exception: dict[int, set[int]] = defaultdict(set)
    for alert_id, subject, facts in uow.session.execute(
            select(Alert.id, Alert.subject_key, Alert.facts).where(Alert.status.in_(OPEN_ALERT))):
        kind, _, rest = subject.partition(":")
        if kind == "wo":
            by_wo[rest.split(":")[0]].add(alert_id)
        elif kind in ("order", "forecast"):
            by_order[rest.split(":")[0]].add(alert_id)
        elif kind == "exc" and rest.isdigit():
            on_exception[int(rest)].add(alert_id)
        named = (facts or {}).get("工单")
        if isinstance(named, str) and named not in ("", "-"):
            by_wo[named].add(alert_id)
    if on_exception:
        for exc_id, code in uow.session.execute(
                select(ShopException.id, WorkOrder.code).join(WorkOrder, WorkOrder.id == ShopException.work_order_id)
                .where(ShopException.id.in_(list(on_exception)))):
            by_wo[code] |= on_exception[exc_id]
    return OpenAlerts(dict(by_wo), dict(by_order))


def _one(column: Any, where: Any = None) -> Any:
    q = select(column)
    return (q.where(where) if where is not None else q).scalar_subquery()


# Built once: a wall screen's poll runs it every few seconds.
_VERSION = select(
    _one(func.max(WorkReport.id)),
    _one(func.max(ShopException.id)),
    _one(func.count(ShopException.id), ShopException.status.in_(OPEN_EXCEPTION)),
    _one(func.max(Alert.id)),
    _one(func.count(Alert.id), Alert.status.in_(OPEN_ALERT)),
    _one(func.max(WorkOrder.id)),
    _one(func.max(SalesOrder.id)),
    _one(func.max(SalesOrder.updated_at)),
    _one(func.max(SyncState.last_run_at)),
)


def board_version(uow: UnitOfWork, *, now: datetime, tz: tzinfo) -> str:
    """A stamp that moves whenever what the board shows may have changed, read in one cheap query (index
    lookups and counts over indexed statuses), so an unchanged poll is answered before the board is built.

    Reports (and the quantities, statuses and stages they move), exceptions and alerts opened or closed,
    work orders and orders created, orders changed (updated_at), and every KIS run (its sync_state row, in
    the same transaction as what it changed). The board also depends on the clock (due dates, the forecast,
    who reported since yesterday): the plant's current minute is part of the stamp, so whatever else moves
    without a trace here (a person renamed, a hand edit in the database) shows within a minute.
    """
    row = uow.session.connection().execute(_VERSION).one()
    return "|".join(str(v) for v in (*row, now.astimezone(tz).strftime("%Y%m%d%H%M")))


@dataclass(frozen=True)
class LineOutlook:
    """What the board shows of the forecast of a work order's line, as plain values: the forecast is
    computed above the domain (forecast/board.py) and passed in by the entry point."""

    foreseen: bool  # not done, and the forecast sees it late or at risk
    risk: str  # on_time | at_risk | late
    eta: str  # 预计 11-28 完工
    label: str  # 会逾期 2 天


# The forecast for the board: in the board's transaction, each live work order's code → its line's outlook.
BoardForecast = Callable[[UnitOfWork], Mapping[str, LineOutlook]]


def build_board(uow: UnitOfWork, *, today: date, tz: tzinfo, viewer: Person | None = None,
                token_workshop: str | None = None, filters: BoardFilters = BoardFilters(),
                forecast: BoardForecast | None = None, calendar: PlantCalendar | None = None,
                now: datetime | None = None) -> Board:
    """One row per live work order of an open order, and one per unshipped line of an open order that has
    no live work order (not scheduled yet, or made and waiting to ship); without a forecast, no row says
    when it will finish. With the plant's calendar and the time, a multi-shift plant's board also carries
    today's per-shift plan and output (`shifts`)."""
    s = uow.session
    wos = s.execute(
        select(WorkOrder.id, WorkOrder.code, WorkOrder.planned_qty, WorkOrder.planned_start, WorkOrder.line_id,
               WorkOrder.machine, WorkOrder.workshop, SalesOrder.bill_no, SalesOrder.stage, Customer.name,
               Product.name, Product.item_number, SalesOrderLine.due_date)
        .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(WorkOrder.status.in_(LIVE), SalesOrder.status == OrderStatus.OPEN)
    ).all()
    worked = {w[4] for w in wos}
    idle = [ln for ln in s.execute(
        select(SalesOrderLine.id, SalesOrderLine.entry_id, SalesOrderLine.qty, SalesOrderLine.shipped_qty,
               SalesOrderLine.due_date, SalesOrder.bill_no, SalesOrder.stage, Customer.name, Product.name,
               Product.item_number)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .join(Product, Product.id == SalesOrderLine.product_id)
        .where(SalesOrder.status == OrderStatus.OPEN, SalesOrderLine.shipped_qty < SalesOrderLine.qty,
               SalesOrderLine.closed_at.is_(None))
    ).all() if ln[0] not in worked]
    # What the idle lines have made: their finished work orders (a voided one made nothing that counts).
    finished: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for part in _chunks([ln[0] for ln in idle]):
        for wo_id, line_id, code, workshop in s.execute(
                select(WorkOrder.id, WorkOrder.line_id, WorkOrder.code, WorkOrder.workshop)
                .where(WorkOrder.line_id.in_(part), WorkOrder.status.in_(FINISHED)).order_by(WorkOrder.code)):
            finished[line_id].append((wo_id, code, workshop))
    ids = [w[0] for w in wos] + [f[0] for fs in finished.values() for f in fs]
    ops: dict[int, list[Any]] = defaultdict(list)
    exceptions: dict[int, int] = {}
    people: dict[int, set[str]] = defaultdict(set)
    for part in _chunks(ids):
        for row in s.execute(select(Operation.work_order_id, Operation.seq, Operation.name, Operation.workshop,
                                    Operation.good_qty, Operation.status)
                             .where(Operation.work_order_id.in_(part))
                             .order_by(Operation.work_order_id, Operation.seq)):
            ops[row[0]].append(row)
        exceptions.update({wo_id: n for wo_id, n in s.execute(
            select(ShopException.work_order_id, func.count()).where(ShopException.status != ExceptionStatus.CLOSED,
                                                                    ShopException.work_order_id.in_(part))
            .group_by(ShopException.work_order_id)) if wo_id is not None})  # in_(part): never None
        for wo_id, name in s.execute(
                select(WorkReport.work_order_id, Person.name).join(Person, Person.id == WorkReport.operator_id)
                .where(WorkReport.work_day >= today - timedelta(days=1), WorkReport.work_order_id.in_(part))
                .distinct()):
            people[wo_id].add(name)
    alerts = open_alerts(uow)
    # The chat's and the monthly report's rule: a line finished into stock on time is not late.
    done_days = on_time.line_done_days(s, worked | {ln[0] for ln in idle}, tz)

    ahead: Mapping[str, LineOutlook] = forecast(uow) if forecast is not None else {}
    scope = visible_workshop(viewer, token_workshop)  # the same rule as the chat's and the order pages'
    rows = []
    for (wo_id, code, planned, start, line_id, machine, workshop, bill_no, stage, customer, product, item,
         due) in wos:
        wo_ops = ops.get(wo_id, [])
        shops = _workshops(workshop, wo_ops)
        if scope and scope not in shops:
            continue
        done = wo_ops[-1][4] if wo_ops else 0
        percent = min(100, round(100 * done / planned)) if planned else 0
        days_to_due = (due - today).days
        late = on_time.is_late(due, done_days.get(line_id), today)
        line = ahead.get(code)
        foreseen = line is not None and line.foreseen
        at_risk = not late and (foreseen or (days_to_due <= AT_RISK_DAYS and percent < AT_RISK_DONE_PCT))
        n_exc = exceptions.get(wo_id, 0)
        status = "late" if late else "exception" if n_exc else "at_risk" if at_risk else "ok"
        rows.append(BoardRow(
            work_order=code, bill_no=bill_no, customer=customer, product=product, item_number=item,
            workshop=workshop, machine=machine, planned_qty=planned, done_qty=done, percent=percent,
            ops=[BoardOp(o[2], o[4], min(100, round(100 * o[4] / planned)) if planned else 0, o[5]) for o in wo_ops],
            stage=Stage(stage).label, stage_index=STAGE_ORDER.index(Stage(stage)),
            planned_start=start.astimezone(tz).strftime("%m-%d %H:%M"), due_date=due.isoformat(), days_to_due=days_to_due, late=late,
            at_risk=at_risk, exceptions=n_exc, alerts=alerts.count([code], bill_no), people=sorted(people[wo_id]),
            status=status, eta=line.eta if line else None, forecast_risk=line.risk if line else None,
            forecast_label=line.label if line else None, workshops=shops, key=code,
        ))
    for line_id, entry_id, qty, _shipped, due, bill_no, stage, customer, product, item in idle:
        made = finished.get(line_id, [])
        shops = list(dict.fromkeys(w for wo_id, _, own in made for w in _workshops(own, ops.get(wo_id, []))))
        if scope and scope not in shops:
            continue  # not scheduled yet: no workshop's work so far
        done = sum(ops[wo_id][-1][4] for wo_id, _, _ in made if ops.get(wo_id))
        percent = min(100, round(100 * done / qty)) if qty else 0
        days_to_due = (due - today).days
        line_done = on_time.seen_by(done_days.get(line_id), today)
        late = on_time.is_late(due, line_done, today)  # made on time and waiting to ship: not late
        at_risk = not late and line_done is None and days_to_due <= AT_RISK_DAYS and percent < AT_RISK_DONE_PCT
        n_exc = sum(exceptions.get(wo_id, 0) for wo_id, _, _ in made)
        status = "late" if late else "exception" if n_exc else "at_risk" if at_risk else "ok"
        # A line whose work is all finished is made and waiting to ship (入库) even while its order's other
        # lines are still in production; one never scheduled is where its order is (接单, 评审).
        at = max(Stage(stage), Stage.STOCKED, key=lambda st: st.rank) if made else Stage(stage)
        rows.append(BoardRow(
            work_order="", bill_no=bill_no, customer=customer, product=product, item_number=item,
            workshop=made[0][2] if made else "", machine=None, planned_qty=qty, done_qty=done, percent=percent,
            ops=[], stage=at.label, stage_index=STAGE_ORDER.index(at), planned_start="",
            due_date=due.isoformat(), days_to_due=days_to_due, late=late, at_risk=at_risk, exceptions=n_exc,
            alerts=alerts.count([code for _, code, _ in made], bill_no),
            people=sorted({n for wo_id, _, _ in made for n in people[wo_id]}), status=status, workshops=shops,
            key=f"{bill_no}/{entry_id}", line_no=entry_id, finished=[code for _, code, _ in made],
        ))
    options = {
        "workshops": sorted({w for r in rows for w in r.workshops}),
        "customers": sorted({r.customer for r in rows}),
        "stages": [st.label for st in STAGE_ORDER],
        "statuses": list(STATUSES.values()),
    }
    counts = {"total": len(rows), "late": sum(r.late for r in rows), "at_risk": sum(r.at_risk for r in rows),
              "exception": sum(1 for r in rows if r.exceptions), "alert": sum(1 for r in rows if r.alerts)}
    shown = [r for r in rows if _matches(r, filters)]
    shown.sort(key=lambda r: r.urgency)
    counts["shown"] = len(shown)
    shifts = board_shifts(uow, calendar, now, workshop=scope or filters.workshop) \
        if calendar is not None and now is not None else []
    return Board(shown, counts, options, shifts)


def _chunks(ids: list[int], size: int = 900) -> Iterator[list[int]]:
    """IN lists short enough for SQLite's bound-parameter limit."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _workshops(own: str | None, ops: list[Any]) -> list[str]:
    """The work order's workshop first, then its operations' in route order, each once."""
    return [w for w in dict.fromkeys([own, *(o[3] for o in ops)]) if w]


def _matches(row: BoardRow, f: BoardFilters) -> bool:
    if f.workshop and f.workshop not in row.workshops:
        return False
    if f.customer and f.customer not in row.customer:
        return False
    if f.stage and row.stage != f.stage:
        return False
    return not (f.status and STATUSES.get(row.status) != f.status and row.status != f.status)

