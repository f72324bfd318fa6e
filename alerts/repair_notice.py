"""A finished repair, told to those waiting for it: the fault's reporter, whoever asked for the repair (转维修)
and whoever owned the alert, once per ticket whatever repeats (the notice's key is the ticket's).

用时 is counted from the ticket's opening (the moment the fault was handed to repair) to its finish: the time
the press waited for its repair, which is what the reporter and the supervisor care about.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from alerts.outbox import queue_text
from alerts.rules import EXCEPTION, REPAIR_UNANSWERED, span
from domain.models import Alert, Notice, Person, RepairTicket, ShopException
from domain.uow import UnitOfWork

NO_PARTS = "无"


def repair_minutes(ticket: RepairTicket) -> float | None:
    """Opened → finished in minutes; None while open, and never negative (a clock set back reads 0)."""
    if ticket.finished_at is None:
        return None
    return max(0.0, (ticket.finished_at - ticket.opened_at).total_seconds() / 60)


def press_name(ticket: RepairTicket) -> str:
    return ticket.machine or f"维修工单 #{ticket.id}"


def repaired_line(ticket: RepairTicket) -> str:
    """"P05 已修复（原因：液压，备件：密封圈×2，用时 42 分钟）"; no parts or no cause leaves that part out."""
    parts = []
    if ticket.cause:
        parts.append(f"原因：{ticket.cause}")
    if ticket.parts and ticket.parts != NO_PARTS:
        parts.append(f"备件：{ticket.parts}")
    minutes = repair_minutes(ticket)
    if minutes is not None:
        parts.append(f"用时 {span(minutes)}")
    return f"{press_name(ticket)} 已修复" + (f"（{'，'.join(parts)}）" if parts else "")


def _alert_owners(uow: UnitOfWork, ticket: RepairTicket) -> set[int | None]:
    """Who acknowledged the fault's alert (or handed it to repair with 转维修), and the unanswered repair's."""
    subjects = [(REPAIR_UNANSWERED, f"repair:{ticket.id}")]
    if ticket.exception_id is not None:
        subjects.append((EXCEPTION, f"exc:{ticket.exception_id}"))
    owners: set[int | None] = set()
    for rule, subject in subjects:
        for alert in uow.session.scalars(select(Alert).where(Alert.rule == rule, Alert.subject_key == subject)):
            owners.add(alert.acknowledged_by_id)
            if alert.resolution == "转维修":
                owners.add(alert.closed_by_id)
    return owners


def told_of_repair(uow: UnitOfWork, ticket: RepairTicket) -> list[str]:
    """The userids told the repair is done: reporter, requester, alert owners; never the technician himself."""
    ids = {ticket.requested_by_id, *_alert_owners(uow, ticket)}
    if ticket.exception_id is not None:
        exc = uow.session.get(ShopException, ticket.exception_id)
        if exc is not None:
            ids.add(exc.reporter_id)
    ids.discard(None)
    ids.discard(ticket.technician_id)
    if not ids:
        return []
    people = uow.session.scalars(select(Person).where(Person.id.in_(ids), Person.active.is_(True)))
    return sorted(p.userid for p in people)


def tell_repaired(uow: UnitOfWork, ticket: RepairTicket, now: datetime) -> Notice | None:
    """One text to everyone waiting for this repair (None: nobody to tell)."""
    tech = uow.session.get(Person, ticket.technician_id) if ticket.technician_id else None
    detail = f"维修工单 #{ticket.id}" + (f" · 技术员 {tech.name}" if tech else "")
    if ticket.exception_id is not None:
        detail += f" · 异常 #{ticket.exception_id} 已关闭"
    return queue_text(uow, told_of_repair(uow, ticket), f"{repaired_line(ticket)}\n{detail}", now,
                      key=f"repair_done:{ticket.id}")
