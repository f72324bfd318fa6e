"""`我的维修单`: a technician's open repair tickets (a maintenance lead's: every open one), oldest first, a page
at a time; `维修单 #3`: that ticket's card again, with the step it is at, to act on it.

A page holds PAGE_SIZE lines of at most LINE_BYTES each, so it fits one WeCom text (2048 bytes) with its
header and footer. The card sent on request has its own task id (from the request's dedup key, so a retried
request sends it once) and its taps work like the first card's: the step handlers take the ticket id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from alerts.policy import AlertPolicy
from alerts.repair import BUSY, STATUS_LABELS, current_ticket_card
from alerts.repair_notice import repaired_line
from alerts.rules import span
from domain.errors import NotAllowed, NotFound
from domain.models import Person, RepairTicket, ShopException
from domain.services.outbox import queue_message
from domain.uow import UnitOfWork
from domain.vocab import Role, TicketStatus
from wecom.cards import make_task_id
from wecom.replies import truncate_utf8

PAGE_SIZE = 10
LINE_BYTES = 170  # 10 lines, a header and a two-line footer stay under WeCom's 2048 bytes
ROLES = (Role.TECHNICIAN, Role.MAINTENANCE_LEAD)
NOT_FOR_YOU = "「我的维修单」供维修技术员和设备主管使用，列出派给自己的（设备主管：全部）未完成维修单。"
# What the resent card lets the technician do next.
NEXT_STEP = {TicketStatus.OPEN: "接单", TicketStatus.ACCEPTED: "到场", TicketStatus.ON_SITE: "完成"}


def sees_all(person: Person) -> bool:
    return person.has_role(Role.MAINTENANCE_LEAD)


def open_tickets(uow: UnitOfWork, person: Person) -> list[RepairTicket]:
    """Oldest first: the one waiting longest is the one to go to."""
    stmt = select(RepairTicket).where(RepairTicket.status.in_(BUSY))
    if not sees_all(person):
        stmt = stmt.where(RepairTicket.technician_id == person.id)
    return list(uow.session.scalars(stmt.order_by(RepairTicket.opened_at, RepairTicket.id)))


def _age(ticket: RepairTicket, now: datetime) -> str:
    return span(max(0.0, (now - ticket.opened_at).total_seconds()) / 60)


def _what(exc: ShopException | None) -> str:
    if exc is None:
        return "-"
    return f"{exc.type}：{exc.description}" if exc.description else exc.type


def _line(ticket: RepairTicket, exc: ShopException | None, tech: Person | None, *, with_tech: bool,
          now: datetime) -> str:
    head = f"· #{ticket.id} {ticket.machine or '-'} {STATUS_LABELS[TicketStatus(ticket.status)]}"
    if with_tech:
        head += f"（{tech.name if tech else '未派单'}）"
    head += f" · 已 {_age(ticket, now)} · "
    room = LINE_BYTES - len(head.encode("utf-8"))
    return head + truncate_utf8(_what(exc), max(room, 0))


def ticket_page(uow: UnitOfWork, *, person: Person, page: int, now: datetime) -> str:
    if not person.has_role(*ROLES):
        return NOT_FOR_YOU  # the menu button is everyone's: it answers, it does not refuse
    everyone = sees_all(person)
    tickets = open_tickets(uow, person)
    if not tickets:
        return "目前没有未完成的维修单。" if everyone else "您目前没有未完成的维修单。"
    pages = (len(tickets) + PAGE_SIZE - 1) // PAGE_SIZE
    if page < 1 or page > pages:
        last = "「我的维修单」" if pages == 1 else f"「我的维修单 1」到「我的维修单 {pages}」"
        return f"维修单列表只有 {pages} 页，请发送{last}查看。"
    shown = tickets[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    exceptions = {e.id: e for e in uow.session.scalars(select(ShopException).where(
        ShopException.id.in_({t.exception_id for t in shown if t.exception_id})))}
    people = {p.id: p for p in uow.session.scalars(select(Person).where(
        Person.id.in_({t.technician_id for t in shown if t.technician_id})))}
    header = (f"未完成维修单 {len(tickets)} 张（最早的在前）：" if everyone
              else f"您的未完成维修单 {len(tickets)} 张（最早的在前）：")
    lines = [header]
    for t in shown:
        lines.append(_line(t, exceptions.get(t.exception_id or 0), people.get(t.technician_id or 0),
                           with_tech=everyone, now=now))
    if pages > 1:
        more = f"，发送「我的维修单 {page + 1}」查看下一页" if page < pages else ""
        lines.append(f"第 {page}/{pages} 页{more}")
    if everyone:
        lines.append(f"发送「维修单 #{shown[0].id}」查看该维修单的进度（派给您的会收到卡片）。")
    else:
        lines.append(f"发送「维修单 #{shown[0].id}」收到该维修单的卡片，可接单、到场、完成。")
    return "\n".join(lines)


def resend_ticket(uow: UnitOfWork, policy: AlertPolicy, *, ticket_id: int, person: Person, now: datetime,
                  request_key: str) -> str:
    """Queue the ticket's card, at its current step, to its technician; tell anyone else where it stands."""
    ticket = uow.session.get(RepairTicket, ticket_id)
    if ticket is None:
        raise NotFound(f"维修单 #{ticket_id} 不存在。")
    mine = ticket.technician_id == person.id
    if not mine and not sees_all(person):
        if not person.has_role(*ROLES):
            raise NotAllowed(NOT_FOR_YOU)
        raise NotAllowed(f"维修单 #{ticket.id} 不是派给您的。发送「我的维修单」查看您的维修单。")
    status = TicketStatus(ticket.status)
    if status == TicketStatus.DONE:
        return f"维修单 #{ticket.id} 已完成：{repaired_line(ticket)}。"
    if not mine:
        tech = uow.session.get(Person, ticket.technician_id) if ticket.technician_id else None
        who = f"技术员 {tech.name}" if tech else "暂未派给技术员"
        return (f"维修单 #{ticket.id} {ticket.machine or '-'} {STATUS_LABELS[status]} · {who} · "
                f"已 {_age(ticket, now)}。\n卡片上的接单、到场、完成由派到的技术员操作。")
    task_id = make_task_id("repair", ticket.id, "ask", request_key)
    queue_message(uow, [person.userid], now, card=current_ticket_card(uow, ticket.id, task_id=task_id, policy=policy),
                  key=f"repair_card:{task_id}")
    return f"已把维修单 #{ticket.id} 的卡片发给您，可在卡片上点「{NEXT_STEP[status]}」。"
