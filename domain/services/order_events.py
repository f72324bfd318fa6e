"""What a KIS pull did to an order, kept for the order's timeline (the rest of its story has rows of its own)."""

from __future__ import annotations

from datetime import datetime

from domain.models import OrderEvent, SalesOrder
from domain.uow import UnitOfWork

KIS_PULL = "kis_pull"
# kind → what the timeline says; the event's detail follows after a colon.
KINDS: dict[str, str] = {
    "created": "导入订单",
    "changed": "订单变更",
    "linked": "关联 KIS 订单",
    "voided": "订单作废",
    "closed": "订单关闭（KIS 中已执行完毕或关闭）",
    "task_created": "生产任务单建工单",
    "task_changed": "生产任务单变更",
    "task_voided": "生产任务单作废",
    "task_closed": "生产任务单关闭",
    "task_received": "产品入库",
    "shipped": "销售出库",
    "line_closed": "订单行关闭",
}
DETAIL_CHARS = 500


def record(uow: UnitOfWork, order: SalesOrder, *, kind: str, now: datetime, detail: str = "",
           source: str = KIS_PULL) -> None:
    """Note an event on the order (one that is new in this transaction too); the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown order event {kind!r}")
    if len(detail) > DETAIL_CHARS:
        detail = detail[:DETAIL_CHARS - 1] + "…"
    uow.session.add(OrderEvent(order=order, at=now, source=source, kind=kind, detail=detail))


def event_text(kind: str, detail: str) -> str:
    label = KINDS.get(kind, kind)
    return f"KIS 同步：{label}" + (f"：{detail}" if detail else "")
