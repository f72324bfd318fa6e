"""An order's story in time: what KIS pulls did to it, reports, exceptions and their photos, alerts and
their handling, repairs, undone and corrected reports, what was written back to KIS, and its shipping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from domain.errors import NotFound
from domain.models import (
    Alert,
    ExceptionPhoto,
    KisOutbox,
    Operation,
    OrderEvent,
    Person,
    RepairTicket,
    ReportCorrection,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from domain.services.corrections import change_text
from domain.services.order_events import event_text
from domain.uow import UnitOfWork


@dataclass(frozen=True)
class Photo:
    id: int
    thumb_path: str
    path: str


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # order | report | correction | exception | alert | repair | kis | ship
    text: str
    photos: list[Photo] = field(default_factory=list)


def _who(person: Person | None) -> str:
    return person.name if person else "系统"


def _qty(good: int, defect: int) -> str:
    return f"良品 {good}" + (f" 不良 {defect}" if defect else "")


def _reports(uow: UnitOfWork, wo_ids: list[int]) -> list[Event]:
    """Each report as it was made, and each undo and correction of it: who, when, why, old and new."""
    s = uow.session
    changes: dict[int, list[tuple[ReportCorrection, str]]] = {}
    for c, by in s.execute(select(ReportCorrection, Person.name).join(Person, Person.id == ReportCorrection.by_id)
                           .join(WorkReport, WorkReport.id == ReportCorrection.work_report_id)
                           .where(WorkReport.work_order_id.in_(wo_ids)).order_by(ReportCorrection.id)):
        changes.setdefault(c.work_report_id, []).append((c, by))
    events = []
    for rid, at, code, op, good, defect, name, undone in s.execute(
            select(WorkReport.id, WorkReport.reported_at, WorkOrder.code, Operation.name, WorkReport.good_qty,
                   WorkReport.defect_qty, Person.name, WorkReport.undone_at)
            .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
            .join(Operation, Operation.id == WorkReport.operation_id)
            .join(Person, Person.id == WorkReport.operator_id)
            .where(WorkReport.work_order_id.in_(wo_ids))):
        mine = changes.get(rid, [])
        if mine:  # the report as it was made; what it is now follows in its corrections
            good, defect = mine[0][0].old_good, mine[0][0].old_defect
        mark = "，已撤销" if undone is not None else "，已更正" if mine else ""
        events.append(Event(at, "report", f"{name} 报工 {code} {op}：{_qty(good, defect)}（报工号 #{rid}{mark}）"))
        for c, by in mine:
            if c.kind == "undo":
                text = f"{by} 撤销 报工 #{rid}（{code} {op}）：{_qty(c.old_good, c.old_defect)} → 0"
            else:
                change = change_text(c.old_good, c.old_defect, c.new_good, c.new_defect)
                text = f"{by} 更正 报工 #{rid}（{name} {code} {op}）：{change}，原因：{c.reason}"
            events.append(Event(c.at, "correction", text))
    return events


def order_timeline(uow: UnitOfWork, bill_no: str) -> list[Event]:
    s = uow.session
    order = s.scalar(select(SalesOrder).where(SalesOrder.bill_no == bill_no.strip().upper()))
    if order is None:
        raise NotFound(f"没有找到订单 {bill_no}，请核对单号。")
    events = [Event(order.created_at, "order", f"订单 {order.bill_no} 接单（{order.customer.name}）")]
    for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)):
        events.append(Event(e.at, "kis", event_text(e.kind, e.detail)))
    wo_ids = list(s.scalars(select(WorkOrder.id).join(SalesOrderLine).where(SalesOrderLine.order_id == order.id)))
    codes = dict(s.execute(select(WorkOrder.id, WorkOrder.code).where(WorkOrder.id.in_(wo_ids))).all())

    events += _reports(uow, wo_ids)

    exc_ids = []
    for exc in s.scalars(select(ShopException).where(ShopException.work_order_id.in_(wo_ids))):
        exc_ids.append(exc.id)
        photos = [Photo(p.id, p.thumb_path, p.path) for p in s.scalars(
            select(ExceptionPhoto).where(ExceptionPhoto.exception_id == exc.id).order_by(ExceptionPhoto.id))]
        desc = f"：{exc.description}" if exc.description else ""
        events.append(Event(exc.opened_at, "exception",
                            f"{exc.reporter.name} 报告异常 #{exc.id} {exc.type}（{codes.get(exc.work_order_id, '') if exc.work_order_id is not None else ''}）{desc}",
                            photos))
        if exc.acknowledged_at:
            events.append(Event(exc.acknowledged_at, "exception",
                                f"异常 #{exc.id} 已认领（{_who(s.get(Person, exc.acknowledged_by_id))}）"))
        if exc.closed_at:
            events.append(Event(exc.closed_at, "exception", f"异常 #{exc.id} 已关闭（{_who(s.get(Person, exc.closed_by_id))}）"
                                + (f"：{exc.resolution}" if exc.resolution else "")))

    # About one of its work orders, one of their exceptions, or the order itself (KIS, the forecast).
    subjects = [f"wo:{c}" for c in codes.values()] + [f"exc:{i}" for i in exc_ids] + [f"order:{order.bill_no}"]
    acker, closer = aliased(Person), aliased(Person)
    for alert, ack_name, close_name in s.execute(
            select(Alert, acker.name, closer.name)
            .outerjoin(acker, acker.id == Alert.acknowledged_by_id).outerjoin(closer, closer.id == Alert.closed_by_id)
            .where(or_(Alert.subject_key.in_(subjects), Alert.subject_key.startswith(f"forecast:{order.bill_no}:", autoescape=True),
                       Alert.facts["工单"].as_string().in_(list(codes.values()))))
            .order_by(Alert.id)):
        events.append(Event(alert.fired_at, "alert", f"预警 #{alert.id}：{alert.title}"))
        if alert.acknowledged_at and ack_name:
            events.append(Event(alert.acknowledged_at, "alert", f"预警 #{alert.id} 由 {ack_name} 认领"))
        if alert.closed_at:
            events.append(Event(alert.closed_at, "alert",
                                f"预警 #{alert.id} 关闭（{close_name or '系统'}：{alert.resolution or '已处理'}）"))

    for t, tech in s.execute(select(RepairTicket, Person.name).outerjoin(Person, Person.id == RepairTicket.technician_id)
                             .where(RepairTicket.exception_id.in_(exc_ids))):
        events.append(Event(t.opened_at, "repair", f"维修工单 #{t.id}（{t.machine or '-'}）派给 {tech or '待派'}"))
        if t.accepted_at:
            events.append(Event(t.accepted_at, "repair", f"维修工单 #{t.id} 已接单"))
        if t.finished_at:
            events.append(Event(t.finished_at, "repair", f"维修工单 #{t.id} 维修完成"))

    for row in s.scalars(select(KisOutbox).where(KisOutbox.work_order_id.in_(wo_ids))):
        what = f"完工 {row.qty} 件" if row.qty >= 0 else f"更正 {row.qty} 件（红字）"  # a correction's compensating row
        events.append(Event(row.created_at, "kis", f"{what}（{codes.get(row.work_order_id, '')} "
                                                   f"{row.work_day}）待回写 KIS"))
        if row.sent_at:
            result = f"已入库 {row.kis_bill_no}" if row.kis_bill_no else (row.kis_message or str(row.status))
            events.append(Event(row.sent_at, "kis", f"KIS 回写：{result}"))

    if order.shipped_at is not None:
        shipped = "，".join(f"第 {ln.entry_id} 行 {ln.shipped_qty}/{ln.qty} 件" for ln in order.lines if ln.shipped_qty)
        events.append(Event(order.shipped_at, "ship", "出货" + (f"：{shipped}" if shipped else "")))
    events.sort(key=lambda e: e.at)
    return events
