"""A pull's orders: customers and items matched or linked (Masters), orders upserted, shipped, closed and
voided as KIS has them (Orders)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from domain.models import Customer, Product, SalesOrder, SalesOrderLine
from domain.services import order_events
from domain.services.stages import advance_when_made, advance_when_shipped
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, Stage, WorkOrderStatus
from kis import alerting, mapping
from kis.config import KisConfig
from kis.mapping import Held, KisMove, KisOrder, KisSnapshot, KisTask
from kis.odbc import chunks
from kis.pull_result import LIVE, PullResult, kis_moment


class Masters:
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
    def _free(number: str, taken: Mapping[str, object]) -> str:
        # A number already tied to another KIS record (renumbered in KIS) must not collide locally.
        candidate, n = number, 1
        while candidate in taken:
            n += 1
            candidate = f"{number}#{n}"
        return candidate


class Orders:
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
        for bill_part in chunks(bills):
            for so in self.session.scalars(q.where(SalesOrder.bill_no.in_(bill_part))):
                by_bill[so.bill_no] = so
        return by_bill

    def upsert(self, k: KisOrder, by_bill: dict[str, SalesOrder], masters: Masters) -> None:
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
                at = kis_moment(when, self.config.day_end, self.config, day_end=True) if when is not None else None
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
        for bill_part in chunks([b for b in held.bills if b not in listed_bills]):
            for order in self._open(SalesOrder.bill_no.in_(bill_part), SalesOrder.kis_inter_id.is_(None)):
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


