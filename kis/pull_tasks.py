"""A pull's production tasks (ICMO): work orders created on their order line, updated, received, closed
or voided as KIS has them."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from domain.models import Operation, Product, SalesOrder, WorkOrder
from domain.services import order_events
from domain.services.stages import advance, advance_when_made
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, Stage, WorkOrderStatus
from kis import alerting, mapping
from kis.config import KisConfig
from kis.mapping import KisMove, KisSnapshot, KisTask
from kis.odbc import chunks
from kis.pull_orders import Masters, Orders
from kis.pull_result import FINISHED, LIVE, PullResult, kis_moment


@dataclass(frozen=True)
class Template:
    route: tuple[tuple[str, str], ...]
    mould: str | None
    machine: str | None
    daily_plan_qty: int | None


class Tasks:
    """ICMO production tasks → work orders."""

    def __init__(self, uow: UnitOfWork, config: KisConfig, now: datetime, result: PullResult, orders: Orders,
                 masters: Masters) -> None:
        self.uow = uow
        self.session = uow.session
        self.config = config
        self.now = now
        self.result = result
        self.orders = orders
        self.masters = masters
        self.templates: dict[int, Template] = {}
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
            finish = self._end(t.plan_finish)
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
        wo.status, wo.finished_at = WorkOrderStatus.DONE, self._end(when)
        self.result.wo_received += 1
        order_events.record(self.uow, order, kind="task_received", now=self.now,
                            detail=f"{t.bill_no}：入库 {total}/{wo.planned_qty} 件，工单 {wo.code} 完工 {when:%m-%d}")
        advance_when_made(order, self.now)

    def _close(self, wo: WorkOrder, t: KisTask) -> None:
        """Closed (结案) in KIS: finished on its actual finish date, else its last receipt, else its close date."""
        moves = self.receipts.get(t.inter_id, [])
        finished = t.finish_date or max((m.day for m in moves), default=None) or t.close_date
        wo.status = WorkOrderStatus.CLOSED
        wo.finished_at = self._end(finished) if finished is not None else self.now
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

    def _template(self, product: Product) -> Template:
        """The route, mould and press this product ran with last time; a planner would copy the same."""
        if product.id is not None and product.id in self.templates:
            return self.templates[product.id]
        last = None
        if product.id is not None:
            last = self.session.scalar(select(WorkOrder).where(WorkOrder.product_id == product.id)
                                       .order_by(WorkOrder.id.desc()).limit(1))
        if last is not None and last.operations:
            tpl = Template(tuple((op.name, op.workshop) for op in last.operations), last.mould, last.machine,
                            last.daily_plan_qty)
        else:
            tpl = Template(self.config.default_route, None, None, None)
        if product.id is not None:
            self.templates[product.id] = tpl
        return tpl

    def _plan(self, t: KisTask, tpl: Template, due: object) -> tuple[datetime, datetime]:
        start = self._moment(t.plan_start, self.config.day_start) if t.plan_start else self.now
        if t.plan_finish is not None:
            finish = self._end(t.plan_finish)
        else:
            days = math.ceil(t.qty / tpl.daily_plan_qty) if tpl.daily_plan_qty else 1
            finish = start + timedelta(days=max(days, 1))
        return start, max(finish, start)

    def _moment(self, kis_local: datetime, default: time) -> datetime:
        return kis_moment(kis_local, default, self.config)

    def _end(self, kis_local: datetime) -> datetime:
        return kis_moment(kis_local, self.config.day_end, self.config, day_end=True)

    @staticmethod
    def _daily(qty: int, start: datetime, finish: datetime) -> int:
        days = max(1, math.ceil((finish - start).total_seconds() / 86400))
        return max(1, math.ceil(qty / days))

