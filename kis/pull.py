"""Apply what a pull read from KIS to FactoryBot's store, in the caller's one transaction.

Orders are upserted by (FInterID, FEntryID); an order FactoryBot already holds but KIS no longer lists as
open is looked up by id: voided (or deleted) stops its work orders and closes its alerts, closed closes it.
Production tasks (ICMO) become work orders on the order line they were made for, or update them.
Nothing here commits: a run interrupted halfway leaves the store as it was.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from domain.models import Customer, Operation, Product, SalesOrder, SalesOrderLine, WorkOrder
from domain.services import order_events
from domain.services.stages import advance, advance_when_made, advance_when_shipped
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, Stage, WorkOrderStatus
from kis import alerting, mapping
from kis import state as sync_state
from kis.config import KisConfig
from kis.mapping import Held, KisMove, KisOrder, KisSnapshot, KisTask
from kis.odbc import chunks

LIVE = (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS)
FINISHED = (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED, WorkOrderStatus.VOIDED)
DELETED_IN_KIS = "KIS 中已删除"


@dataclass
class PullResult:
    since: datetime | None  # KIS-local; None = every approved open order was read
    orders_read: int = 0
    lines_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    voided: int = 0
    closed: int = 0
    unaudited: int = 0  # held orders not (or no longer) audited in KIS; they come back when audited
    linked: int = 0  # orders FactoryBot knew by bill number only, now tied to their FInterID
    customers_new: int = 0
    products_new: int = 0
    uses_tasks: bool = False
    tasks_read: int = 0
    wo_created: int = 0
    wo_updated: int = 0
    wo_voided: int = 0
    wo_closed: int = 0
    tasks_skipped: int = 0
    wo_stopped: int = 0  # work orders of voided orders
    alerts_closed: int = 0
    lines_closed: int = 0  # order lines closed in KIS (FMRPClosed)
    shipments_changed: int = 0  # orders whose shipped quantities changed (销售出库)
    shipped: int = 0  # orders that reached 出货 (every owed line shipped in full)
    uses_shipments: bool = False
    uses_receipts: bool = False
    wo_received: int = 0  # work orders done by product receipts (产品入库) covering their quantity
    reconcile: bool = False  # every open order was read again, whatever its dates
    watermark: datetime | None = None  # aware; the newest FCheckDate (or FChangeDate) seen so far
    notes: list[str] = field(default_factory=list)


# --- what FactoryBot holds: the ids a pull asks KIS about ------------------------------------------------


def held(uow: UnitOfWork, *, full: bool = False) -> Held:
    """full: a reconcile, which also asks about orders closed with no shipment on record."""
    s = uow.session
    open_orders = select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN)
    # A work order closed in KIS before close dates were pulled has none: its task is asked about again.
    undated = (WorkOrder.status == WorkOrderStatus.CLOSED) & WorkOrder.finished_at.is_(None)
    unshipped = (select(SalesOrder.kis_inter_id)
                 .where(SalesOrder.status == OrderStatus.CLOSED, SalesOrder.kis_inter_id.is_not(None),
                        SalesOrder.shipped_at.is_(None)).order_by(SalesOrder.kis_inter_id))
    return Held(
        orders=tuple(s.scalars(open_orders.where(SalesOrder.kis_inter_id.is_not(None))
                               .with_only_columns(SalesOrder.kis_inter_id).order_by(SalesOrder.kis_inter_id))),
        bills=tuple(s.scalars(open_orders.where(SalesOrder.kis_inter_id.is_(None))
                              .with_only_columns(SalesOrder.bill_no).order_by(SalesOrder.bill_no))),
        tasks=tuple(s.scalars(select(WorkOrder.kis_icmo_bill_no)
                              .where(WorkOrder.status.in_(LIVE) | undated, WorkOrder.kis_icmo_bill_no.is_not(None))
                              .order_by(WorkOrder.kis_icmo_bill_no))),
        unshipped=tuple(s.scalars(unshipped)) if full else (),
    )


def since_for(uow: UnitOfWork, config: KisConfig, explicit: datetime | None) -> datetime | None:
    """KIS-local lower bound of FCheckDate: the last one seen minus the lookback, unless given."""
    if explicit is not None:
        return explicit
    row = uow.session.get(sync_state.SyncState, sync_state.PULL)
    if row is None or row.watermark is None:
        return None
    return (row.watermark.astimezone(config.tz) - config.lookback).replace(tzinfo=None)


def kis_moment(kis_local: datetime, default: time, config: KisConfig) -> datetime:
    """A KIS-local moment as an aware one. KIS keeps many dates as a day at midnight (plans, bill dates):
    that day's shift boundary is what is meant."""
    at = kis_local if kis_local.time() != time(0) else datetime.combine(kis_local.date(), default)
    return at.replace(tzinfo=config.tz).astimezone(UTC)


# --- applying a snapshot ------------------------------------------------------------------------------


def apply_snapshot(
    uow: UnitOfWork, snap: KisSnapshot, *, held: Held, config: KisConfig, now: datetime,
    progress: Callable[[int], None] | None = None,
) -> PullResult:
    """held: what the snapshot asked KIS about (only those orders and tasks can be found gone)."""
    result = PullResult(snap.since, orders_read=len(snap.orders), lines_read=snap.line_count,
                        uses_tasks=snap.uses_tasks, tasks_read=len(snap.tasks), uses_shipments=snap.uses_shipments,
                        uses_receipts=snap.uses_receipts)
    masters = _Masters(uow, result)
    orders = _Orders(uow, config, now, result)
    local = orders.load(snap.orders)
    for k in snap.orders:
        orders.upsert(k, local, masters)
        if progress is not None:
            progress(1)
    if snap.uses_shipments:
        # Before follow_held: an order shipped in full is closed in KIS (FStatus 3) and leaves the listing.
        orders.ship(snap.shipments, [o.inter_id for o in snap.orders] + list(held.orders) + list(held.unshipped))
    orders.follow_held(snap, held)
    if snap.uses_tasks:
        _Tasks(uow, config, now, result, orders, masters).apply(snap, held.tasks)
    _advance_watermark(uow, snap, config, result)
    uow.flush()
    return result


def _advance_watermark(uow: UnitOfWork, snap: KisSnapshot, config: KisConfig, result: PullResult) -> None:
    row = sync_state.get(uow, sync_state.PULL)
    newest = snap.newest_check
    if newest is not None:
        seen = newest.replace(tzinfo=config.tz).astimezone(UTC)
        if row.watermark is None or seen > row.watermark:
            row.watermark = seen
    result.watermark = row.watermark


class _Masters:
    """Customers and items, matched by KIS id, else linked by number (data entered before the sync)."""

    def __init__(self, uow: UnitOfWork, result: PullResult) -> None:
        self.session = uow.session
        self.result = result
        customers = list(self.session.scalars(select(Customer)))
        self.cust_by_kis = {c.kis_item_id: c for c in customers if c.kis_item_id is not None}
        self.cust_by_number = {c.number: c for c in customers}
        products = list(self.session.scalars(select(Product)))
        self.prod_by_kis = {p.kis_item_id: p for p in products if p.kis_item_id is not None}
        self.prod_by_number = {p.item_number: p for p in products}

    def customer(self, kis_id: int, number: str, name: str) -> Customer:
        c = self.cust_by_kis.get(kis_id)
        if c is None:
            c = self.cust_by_number.get(number)
            if c is None or c.kis_item_id is not None:
                c = Customer(number=self._free(number, self.cust_by_number), name=name)
                self.session.add(c)
                self.result.customers_new += 1
                self.cust_by_number[c.number] = c
            c.kis_item_id = kis_id
            self.cust_by_kis[kis_id] = c
        if c.name != name:
            c.name = name
        return c

    def product(self, kis_id: int, number: str, name: str, model: str | None) -> Product:
        p = self.prod_by_kis.get(kis_id)
        if p is None:
            p = self.prod_by_number.get(number)
            if p is None or p.kis_item_id is not None:
                p = Product(item_number=self._free(number, self.prod_by_number), name=name, model=model)
                self.session.add(p)
                self.result.products_new += 1
                self.prod_by_number[p.item_number] = p
            p.kis_item_id = kis_id
            self.prod_by_kis[kis_id] = p
        if (p.name, p.model) != (name, model):
            p.name, p.model = name, model
        return p

    def product_for_task(self, t: KisTask) -> Product | None:
        return self.prod_by_kis.get(t.item_id) or (self.prod_by_number.get(t.item_number) if t.item_number else None)

    @staticmethod
    def _free(number: str, taken: dict[str, object]) -> str:
        # A number already tied to another KIS record (renumbered in KIS) must not collide locally.
        candidate, n = number, 1
        while candidate in taken:
            n += 1
            candidate = f"{number}#{n}"
        return candidate


class _Orders:
    def __init__(self, uow: UnitOfWork, config: KisConfig, now: datetime, result: PullResult) -> None:
        self.uow = uow
        self.session = uow.session
        self.config = config
        self.now = now
        self.result = result
        self.by_kis: dict[int, SalesOrder] = {}

    def load(self, orders: Sequence[KisOrder]) -> dict[str, SalesOrder]:
        """Local orders matching the snapshot, by FInterID (into self.by_kis) and by bill number."""
        by_bill: dict[str, SalesOrder] = {}
        q = select(SalesOrder).options(selectinload(SalesOrder.lines))
        ids = [o.inter_id for o in orders]
        bills = [o.bill_no for o in orders]
        for part in chunks(ids):
            for so in self.session.scalars(q.where(SalesOrder.kis_inter_id.in_(part))):
                self.by_kis[so.kis_inter_id] = so  # type: ignore[index]
        for part in chunks(bills):
            for so in self.session.scalars(q.where(SalesOrder.bill_no.in_(part))):
                by_bill[so.bill_no] = so
        return by_bill

    def upsert(self, k: KisOrder, by_bill: dict[str, SalesOrder], masters: _Masters) -> None:
        customer = masters.customer(k.customer_id, k.customer_number, k.customer_name)
        products = {ln.entry_id: masters.product(ln.item_id, ln.item_number, ln.item_name, ln.item_model)
                    for ln in k.lines}
        order = self.by_kis.get(k.inter_id)
        if order is None:
            order = by_bill.get(k.bill_no)
            if order is not None and order.kis_inter_id is not None:
                self.result.notes.append(f"单号 {k.bill_no} 在 FactoryBot 中属于另一张 KIS 订单，已跳过。")
                return
            if order is not None:
                order.kis_inter_id = k.inter_id
                self.result.linked += 1
                order_events.record(self.uow, order, kind="linked", now=self.now, detail=f"FInterID {k.inter_id}")
        if order is None:
            self._create(k, customer, products)
            return
        self.by_kis[k.inter_id] = order
        changes = self._update(order, k, customer, products)
        if changes:
            order.updated_at = self.now
            self.result.changed += 1
            order_events.record(self.uow, order, kind="changed", now=self.now, detail="；".join(changes))
        else:
            self.result.unchanged += 1

    def _create(self, k: KisOrder, customer: Customer, products: dict[int, Product]) -> None:
        # Audited in KIS means reviewed: the order waits for scheduling.
        order = SalesOrder(bill_no=k.bill_no, kis_inter_id=k.inter_id, customer=customer, order_date=k.order_date,
                           stage=Stage.REVIEWED, status=OrderStatus.OPEN, created_at=self.now, updated_at=self.now)
        for ln in k.lines:
            order.lines.append(SalesOrderLine(entry_id=ln.entry_id, product=products[ln.entry_id], qty=ln.qty,
                                              due_date=ln.due, shipped_qty=0, closed_at=self.now if ln.closed else None))
            self.result.lines_closed += ln.closed
        self.session.add(order)
        self.by_kis[k.inter_id] = order
        self.result.new += 1
        first_due = min((ln.due for ln in k.lines), default=None)
        order_events.record(self.uow, order, kind="created", now=self.now,
                            detail=f"{customer.name}，{len(k.lines)} 行" + (f"，最早交期 {first_due:%m-%d}" if first_due else ""))

    def _update(self, order: SalesOrder, k: KisOrder, customer: Customer, products: dict[int, Product]) -> list[str]:
        """Apply KIS's version of the order; what changed, as the order's timeline says it."""
        changes: list[str] = []
        if order.bill_no != k.bill_no:
            changes.append(f"单号 {order.bill_no}→{k.bill_no}")
            order.bill_no = k.bill_no
        if order.customer is not customer:
            changes.append(f"客户改为 {customer.name}")
            order.customer = customer
        if order.order_date != k.order_date:
            changes.append(f"下单日期 {order.order_date:%m-%d}→{k.order_date:%m-%d}")
            order.order_date = k.order_date
        if order.status == OrderStatus.VOIDED:
            # Un-voided in KIS (反作废): the order is worked again; its stopped work orders stay stopped.
            order.status = OrderStatus.OPEN
            changes.append("反作废，恢复执行")
        existing = {ln.entry_id: ln for ln in order.lines}
        for ln in k.lines:
            line = existing.pop(ln.entry_id, None)
            product = products[ln.entry_id]
            if line is None:
                order.lines.append(SalesOrderLine(entry_id=ln.entry_id, product=product, qty=ln.qty, due_date=ln.due,
                                                  shipped_qty=0, closed_at=self.now if ln.closed else None))
                changes.append(f"新增第 {ln.entry_id} 行（{product.name} {ln.qty} 件，交期 {ln.due:%m-%d}）")
                self.result.lines_closed += ln.closed
                continue
            if ln.closed and line.closed_at is None:
                changes.append(self._close_line(order, line))
            elif not ln.closed and line.closed_at is not None:
                line.closed_at = None
                changes.append(f"第 {ln.entry_id} 行反关闭")
            if line.product is not product:
                changes.append(f"第 {ln.entry_id} 行物料 {line.product.name}→{product.name}")
                line.product = product
            if line.qty != ln.qty:
                changes.append(f"第 {ln.entry_id} 行数量 {line.qty}→{ln.qty}")
                line.qty = ln.qty
            if line.due_date != ln.due:
                changes.append(f"第 {ln.entry_id} 行交期 {line.due_date:%m-%d}→{ln.due:%m-%d}")
                line.due_date = ln.due
        for line in existing.values():
            if line.work_orders:
                self.result.notes.append(f"订单 {k.bill_no} 第 {line.entry_id} 行已在 KIS 中删除，但已有工单，保留该行。")
            else:
                order.lines.remove(line)
                changes.append(f"删除第 {line.entry_id} 行")
        return changes

    def _close_line(self, order: SalesOrder, line: SalesOrderLine) -> str:
        """A line closed in KIS (行关闭) is no longer owed: its live work orders close with it."""
        line.closed_at = self.now
        self.result.lines_closed += 1
        stopped = []
        for wo in line.work_orders:
            if wo.status in LIVE:
                wo.status = WorkOrderStatus.CLOSED
                stopped.append(wo.code)
        self.result.wo_closed += len(stopped)
        order_events.record(self.uow, order, kind="line_closed", now=self.now,
                            detail=f"第 {line.entry_id} 行" + (f"，工单 {'、'.join(stopped)} 结案" if stopped else ""))
        advance_when_made(order, self.now)
        return f"第 {line.entry_id} 行关闭"

    def ship(self, moves: Iterable[KisMove], asked: Sequence[int]) -> None:
        """Shipped quantities of the orders asked about, from KIS's audited sales outbound lines; an order
        asked about with none has shipped nothing (a bill deleted or un-audited in KIS takes its pieces back)."""
        by_line: dict[tuple[int, int], list[KisMove]] = defaultdict(list)
        for m in moves:
            by_line[(m.inter_id, m.entry_id)].append(m)
        missing = sorted({i for i in asked if i not in self.by_kis})
        for part in chunks(missing):
            for so in self.session.scalars(select(SalesOrder).where(SalesOrder.kis_inter_id.in_(part))
                                           .options(selectinload(SalesOrder.lines))):
                self.by_kis[so.kis_inter_id] = so  # type: ignore[index]
        for inter_id in sorted(set(asked)):
            order = self.by_kis.get(inter_id)
            if order is None or order.status == OrderStatus.VOIDED:
                continue
            changes = []
            for line in order.lines:
                total, when = mapping.reached(by_line.get((inter_id, line.entry_id), ()), line.qty)
                if line.shipped_qty != total:
                    changes.append(f"第 {line.entry_id} 行 {line.shipped_qty}→{total}/{line.qty} 件")
                    line.shipped_qty = total
                at = kis_moment(when, self.config.day_end, self.config) if when is not None else None
                if line.shipped_at != at:
                    line.shipped_at = at
            if changes:
                self.result.shipments_changed += 1
                if order.status == OrderStatus.OPEN:  # a closed order's updated_at is the day it was closed
                    order.updated_at = self.now
                order_events.record(self.uow, order, kind="shipped", now=self.now, detail="；".join(changes))
            if advance_when_shipped(order, self.now):
                self.result.shipped += 1

    def follow_held(self, snap: KisSnapshot, held: Held) -> None:
        """Held open orders KIS did not list as open: find out why from their current state."""
        listed = {o.inter_id for o in snap.orders}
        for part in chunks([i for i in held.orders if i not in listed]):
            for order in self._open(SalesOrder.kis_inter_id.in_(part)):
                st = snap.order_states.get(order.kis_inter_id)  # type: ignore[arg-type]
                self._follow(order, st.verdict if st is not None else mapping.VOIDED, deleted=st is None)
        listed_bills = {o.bill_no for o in snap.orders}
        for part in chunks([b for b in held.bills if b not in listed_bills]):
            for order in self._open(SalesOrder.bill_no.in_(part), SalesOrder.kis_inter_id.is_(None)):
                st = snap.bill_states.get(order.bill_no)
                if st is None or st.inter_id in self.by_kis:
                    continue  # an order FactoryBot has that KIS does not: not the sync's to judge
                order.kis_inter_id = st.inter_id
                self.by_kis[st.inter_id] = order
                self.result.linked += 1
                order_events.record(self.uow, order, kind="linked", now=self.now, detail=f"FInterID {st.inter_id}")
                self._follow(order, st.verdict, deleted=False)

    def _open(self, *where: Any) -> Sequence[SalesOrder]:
        return self.session.scalars(
            select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN, *where)
            .options(selectinload(SalesOrder.lines).selectinload(SalesOrderLine.work_orders))).all()

    def _follow(self, order: SalesOrder, verdict: str, *, deleted: bool) -> None:
        if verdict == mapping.VOIDED:
            self.void(order, deleted=deleted)
        elif verdict == mapping.CLOSED:
            order.status, order.updated_at = OrderStatus.CLOSED, self.now
            self.result.closed += 1
            order_events.record(self.uow, order, kind="closed", now=self.now)
        elif verdict == mapping.UNAUDITED:
            self.result.unaudited += 1
        else:
            self.result.unchanged += 1

    def void(self, order: SalesOrder, *, deleted: bool) -> None:
        order.status, order.updated_at = OrderStatus.VOIDED, self.now
        codes, stopped = [], []
        for line in order.lines:
            for wo in line.work_orders:
                codes.append(wo.code)
                if wo.status in LIVE:
                    wo.status = WorkOrderStatus.VOIDED
                    stopped.append(wo.code)
        self.result.wo_stopped += len(stopped)
        self.result.voided += 1
        why = "KIS 中已删除，按作废处理" if deleted else "KIS 中已作废"
        order_events.record(self.uow, order, kind="voided", now=self.now,
                            detail=why + (f"，停止工单 {'、'.join(stopped)}" if stopped else ""))
        if deleted:
            self.result.notes.append(f"订单 {order.bill_no} 在 KIS 中已删除，按作废处理。")
        self.result.alerts_closed += alerting.close_order_alerts(self.uow, bill_no=order.bill_no,
                                                                 work_order_codes=codes, now=self.now)


@dataclass(frozen=True)
class _Template:
    route: tuple[tuple[str, str], ...]
    mould: str | None
    machine: str | None
    daily_plan_qty: int | None


class _Tasks:
    """ICMO production tasks → work orders."""

    def __init__(self, uow: UnitOfWork, config: KisConfig, now: datetime, result: PullResult, orders: _Orders,
                 masters: _Masters) -> None:
        self.uow = uow
        self.session = uow.session
        self.config = config
        self.now = now
        self.result = result
        self.orders = orders
        self.masters = masters
        self.templates: dict[int, _Template] = {}
        self.receipts: dict[int, list[KisMove]] = defaultdict(list)
        self.uses_receipts = False

    def apply(self, snap: KisSnapshot, checked: Sequence[str]) -> None:
        self.uses_receipts = snap.uses_receipts
        for m in snap.receipts:
            self.receipts[m.inter_id].append(m)
        tasks = {t.bill_no: t for t in snap.task_states.values()}
        tasks.update((t.bill_no, t) for t in snap.tasks)
        local = self._load(list(tasks) + list(checked))
        self._load_orders([t.order_inter_id for t in tasks.values() if t.order_inter_id])
        for bill_no, t in tasks.items():
            wo = local.get(bill_no)
            verdict = t.verdict
            if verdict == mapping.RELEASED:
                if wo is None:
                    wo = self._create(t)
                elif changes := self._update(wo, t):
                    self.result.wo_updated += 1
                    order_events.record(self.uow, wo.line.order, kind="task_changed", now=self.now,
                                        detail=f"{bill_no}（工单 {wo.code}）：" + "；".join(changes))
                if wo is not None:
                    self._receive(wo, t)
            elif wo is not None and verdict == mapping.VOIDED:
                self._void(wo)
            elif wo is not None and verdict == mapping.CLOSED and wo.status in LIVE:
                self._receive(wo, t)
                if wo.status in LIVE:
                    self._close(wo, t)
            elif wo is not None and verdict == mapping.CLOSED and wo.status == WorkOrderStatus.CLOSED \
                    and wo.finished_at is None:
                self._close(wo, t)  # closed by an earlier pull that had no close date to give it
        for bill_no in checked:
            wo = local.get(bill_no)
            if bill_no not in tasks and wo is not None:
                self.result.notes.append(f"生产任务单 {bill_no} 在 KIS 中已删除，工单 {wo.code} 按作废处理。")
                self._void(wo)

    def _load(self, bills: list[str]) -> dict[str, WorkOrder]:
        found: dict[str, WorkOrder] = {}
        for part in chunks(sorted(set(bills))):
            for wo in self.session.scalars(select(WorkOrder).where(WorkOrder.kis_icmo_bill_no.in_(part))):
                found[wo.kis_icmo_bill_no] = wo  # type: ignore[index]
            # A work order FactoryBot created under the task's number before the sync knew it.
            for wo in self.session.scalars(
                    select(WorkOrder).where(WorkOrder.code.in_(part), WorkOrder.kis_icmo_bill_no.is_(None))):
                found.setdefault(wo.code, wo)
        return found

    def _load_orders(self, inter_ids: list[int]) -> None:
        missing = sorted({i for i in inter_ids if i not in self.orders.by_kis})
        for part in chunks(missing):
            for so in self.session.scalars(select(SalesOrder).where(SalesOrder.kis_inter_id.in_(part))):
                self.orders.by_kis[so.kis_inter_id] = so  # type: ignore[index]

    def _create(self, t: KisTask) -> WorkOrder | None:
        order = self.orders.by_kis.get(t.order_inter_id) if t.order_inter_id else None
        product = self.masters.product_for_task(t)
        if order is None or product is None or order.status != OrderStatus.OPEN:
            self.result.tasks_skipped += 1
            return None
        lines = [ln for ln in order.lines if ln.product is product]
        if not lines:
            self.result.tasks_skipped += 1
            self.result.notes.append(f"生产任务单 {t.bill_no} 的物料不在订单 {order.bill_no} 中，未建工单。")
            return None
        # Prefer a line no other production task covers yet.
        line = min(lines, key=lambda ln: (any(w.kis_icmo_bill_no for w in ln.work_orders), ln.entry_id))
        tpl = self._template(product)
        start, finish = self._plan(t, tpl, line.due_date)
        wo = WorkOrder(
            code=t.bill_no, kis_icmo_bill_no=t.bill_no, line=line, product=product, planned_qty=t.qty,
            daily_plan_qty=tpl.daily_plan_qty or self._daily(t.qty, start, finish),
            planned_start=start, planned_finish=finish, mould=tpl.mould, machine=tpl.machine,
            workshop=t.department or tpl.route[0][1], status=WorkOrderStatus.PLANNED,
        )
        for seq, (name, workshop) in enumerate(tpl.route, start=1):
            wo.operations.append(Operation(seq=seq, name=name, workshop=workshop))
        self.session.add(wo)
        advance(order, Stage.SCHEDULED, self.now)
        self.result.wo_created += 1
        order_events.record(self.uow, order, kind="task_created", now=self.now,
                            detail=f"{t.bill_no}：第 {line.entry_id} 行 {t.qty} 件，工单 {wo.code}")
        return wo

    def _update(self, wo: WorkOrder, t: KisTask) -> list[str]:
        """Apply the task to its work order; what changed, as the order's timeline says it."""
        changes: list[str] = []
        if wo.kis_icmo_bill_no is None:
            wo.kis_icmo_bill_no = t.bill_no
            changes.append("与生产任务单关联")
        if wo.planned_qty != t.qty:
            changes.append(f"计划数量 {wo.planned_qty}→{t.qty}")
            wo.planned_qty = t.qty
        if t.plan_start is not None:
            start = self._moment(t.plan_start, self.config.day_start)
            if wo.planned_start != start:
                changes.append(f"计划开工 {self._local(wo.planned_start)}→{self._local(start)}")
                wo.planned_start = start
        if t.plan_finish is not None:
            finish = self._moment(t.plan_finish, self.config.day_end)
            if wo.planned_finish != finish:
                changes.append(f"计划完工 {self._local(wo.planned_finish)}→{self._local(finish)}")
                wo.planned_finish = finish
        if t.department and wo.workshop != t.department:
            changes.append(f"车间 {wo.workshop}→{t.department}")
            wo.workshop = t.department
        return changes

    def _receive(self, wo: WorkOrder, t: KisTask) -> None:
        """Product receipts (产品入库) against the task: the order is in production once any arrive, and the
        work order is done on the day they cover its planned quantity."""
        moves = self.receipts.get(t.inter_id, [])
        if not self.uses_receipts or not moves or wo.status not in LIVE:
            return
        order = wo.line.order
        total, when = mapping.reached(moves, wo.planned_qty)
        if total > 0:
            advance(order, Stage.PRODUCTION, self.now)
        if when is None:
            return
        wo.status, wo.finished_at = WorkOrderStatus.DONE, self._moment(when, self.config.day_end)
        self.result.wo_received += 1
        order_events.record(self.uow, order, kind="task_received", now=self.now,
                            detail=f"{t.bill_no}：入库 {total}/{wo.planned_qty} 件，工单 {wo.code} 完工 {when:%m-%d}")
        advance_when_made(order, self.now)

    def _close(self, wo: WorkOrder, t: KisTask) -> None:
        """Closed (结案) in KIS: finished on its actual finish date, else its last receipt, else its close date."""
        moves = self.receipts.get(t.inter_id, [])
        finished = t.finish_date or max((m.day for m in moves), default=None) or t.close_date
        wo.status = WorkOrderStatus.CLOSED
        wo.finished_at = self._moment(finished, self.config.day_end) if finished is not None else self.now
        self.result.wo_closed += 1
        order = wo.line.order
        order_events.record(self.uow, order, kind="task_closed", now=self.now,
                            detail=f"{t.bill_no}，工单 {wo.code}，完工 {self._local(wo.finished_at)}")
        advance_when_made(order, self.now)

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.config.tz).strftime("%m-%d %H:%M")

    def _void(self, wo: WorkOrder) -> None:
        if wo.status in FINISHED:
            return
        wo.status = WorkOrderStatus.VOIDED
        self.result.wo_voided += 1
        order_events.record(self.uow, wo.line.order, kind="task_voided", now=self.now,
                            detail=f"{wo.kis_icmo_bill_no or wo.code}，工单 {wo.code} 停止")
        self.result.alerts_closed += alerting.close_order_alerts(self.uow, bill_no=None, work_order_codes=[wo.code],
                                                                 now=self.now, resolution="生产任务单已作废")

    def _template(self, product: Product) -> _Template:
        """The route, mould and press this product ran with last time; a planner would copy the same."""
        if product.id is not None and product.id in self.templates:
            return self.templates[product.id]
        last = None
        if product.id is not None:
            last = self.session.scalar(select(WorkOrder).where(WorkOrder.product_id == product.id)
                                       .order_by(WorkOrder.id.desc()).limit(1))
        if last is not None and last.operations:
            tpl = _Template(tuple((op.name, op.workshop) for op in last.operations), last.mould, last.machine,
                            last.daily_plan_qty)
        else:
            tpl = _Template(self.config.default_route, None, None, None)
        if product.id is not None:
            self.templates[product.id] = tpl
        return tpl

    def _plan(self, t: KisTask, tpl: _Template, due: object) -> tuple[datetime, datetime]:
        start = self._moment(t.plan_start, self.config.day_start) if t.plan_start else self.now
        if t.plan_finish is not None:
            finish = self._moment(t.plan_finish, self.config.day_end)
        else:
            days = math.ceil(t.qty / tpl.daily_plan_qty) if tpl.daily_plan_qty else 1
            finish = start + timedelta(days=max(days, 1))
        return start, max(finish, start)

    def _moment(self, kis_local: datetime, default: time) -> datetime:
        return kis_moment(kis_local, default, self.config)

    @staticmethod
    def _daily(qty: int, start: datetime, finish: datetime) -> int:
        days = max(1, math.ceil((finish - start).total_seconds() / 86400))
        return max(1, math.ceil(qty / days))
