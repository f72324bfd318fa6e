"""What an alert round would do, read inside its own transaction before it is rolled back (`alerts run`).

A rehearsal runs the real round (the same rules, escalation, reminders, re-dispatch) in a unit of work that is
never committed, and lists the outbox rows the round queued: what would be sent, and to whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from domain.models import Alert, Notice, RepairTicket
from domain.services.people import person_names
from domain.uow import UnitOfWork


@dataclass(frozen=True)
class PlannedMessage:
    what: str  # 卡片《【现场异常】#11》异常 #11 设备故障, or a text's first line
    recipients: str  # 王五(wangwu)、赵六(zhaoliu)


def last_notice_id(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.max(Notice.id))) or 0


def _what(notice: Notice) -> str:
    if notice.card is not None:
        card = notice.card
        title = (card.get("main_title") or {}).get("title") or card.get("card_type", "")
        desc = (card.get("main_title") or {}).get("desc") or ""
        kind = "更新卡片" if notice.response_code is not None else "卡片"
        return f"{kind}《{title}》{desc}".rstrip()
    text = (notice.text or "").strip().splitlines()
    first = text[0] if text else ""
    return ("更新卡片：" if notice.response_code is not None else "文字：") + first[:60]


def queued_since(uow: UnitOfWork, after_id: int) -> list[PlannedMessage]:
    """The messages queued in this transaction after outbox row `after_id`, oldest first."""
    uow.session.flush()
    notices = uow.session.scalars(select(Notice).where(Notice.id > after_id).order_by(Notice.id)).all()
    userids = {u for n in notices for u in n.userids.split("|") if u}
    names = person_names(uow, userids)
    return [PlannedMessage(_what(n), "、".join(f"{names[u]}({u})" if u in names else u
                                               for u in n.userids.split("|") if u)) for n in notices]


def latest_event(uow: UnitOfWork) -> datetime | None:
    """The latest moment the alert store recorded: a firing, acknowledgement, close, escalation, reminder or a
    repair ticket's step. A real round dated before it would write history out of order."""
    columns = (Alert.fired_at, Alert.acknowledged_at, Alert.closed_at, Alert.escalated_at, Alert.reminded_at,
               RepairTicket.opened_at, RepairTicket.dispatched_at, RepairTicket.accepted_at,
               RepairTicket.arrived_at, RepairTicket.finished_at)
    moments = [uow.session.scalar(select(func.max(c))) for c in columns]
    found = [m for m in moments if m is not None]
    return max(found) if found else None
