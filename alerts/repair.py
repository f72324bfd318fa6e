"""Repair tickets (维修工单): the nearest free qualified technician is asked; silence asks the next one.

Only a technician on duty is asked (the plant calendar: one in a crew that is off shift is at home). Silence
moves a ticket at most REPAIR_MAX_REDISPATCH times; after that, or when nobody else on duty is free, the
设备主管 on duty is told once and the ticket stops moving. A ticket nobody was free for waits for the first
technician who is, and the repair_unanswered alert tells the supervisors on duty meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from alerts.outbox import queue_card, queue_text
from alerts.policy import AlertPolicy
from alerts.repair_notice import repair_minutes, tell_repaired
from alerts.routing import people_with
from alerts.rules import span
from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import Person, RepairTicket, ShopException
from domain.services.exceptions import close_exception
from domain.services.people import active_person, find_person, person_names
from domain.uow import UnitOfWork
from domain.vocab import Role, TicketStatus
from wecom.cards import Button, button_card, make_task_id

BUSY = (TicketStatus.OPEN, TicketStatus.ACCEPTED, TicketStatus.ON_SITE)
STATUS_LABELS = {TicketStatus.OPEN: "待接单", TicketStatus.ACCEPTED: "已接单", TicketStatus.ON_SITE: "已到场",
                 TicketStatus.DONE: "已完成"}


def _tried(ticket: RepairTicket) -> list[str]:
    return [u for u in ticket.tried_userids.split("|") if u]


def choose_technician(uow: UnitOfWork, policy: AlertPolicy, ticket: RepairTicket,
                      now: datetime | None = None) -> Person | None:
    busy = set(uow.session.scalars(
        select(RepairTicket.technician_id).where(RepairTicket.status.in_(BUSY), RepairTicket.id != ticket.id,
                                                 RepairTicket.technician_id.is_not(None))))
    zone = policy.machine_zones.get(ticket.machine or "")
    tried = set(_tried(ticket))
    calendar = policy.plant if now is not None else None
    candidates = [
        p for p in uow.session.scalars(select(Person).where(Person.active.is_(True)))
        if p.has_role(Role.TECHNICIAN) and p.id not in busy and p.userid not in tried
        and policy.qualified(p.userid, ticket.machine)
        and (calendar is None or now is None or calendar.on_duty(p.userid, now))
    ]
    candidates.sort(key=lambda p: (policy.distance(zone, p.zone), p.userid))
    return candidates[0] if candidates else None


def current_ticket_card(uow: UnitOfWork, ticket_id: int, *, task_id: str,
                        policy: AlertPolicy | None = None) -> dict[str, Any]:
    """The ticket's card as it stands now (after a step), with its exception and technician."""
    ticket = uow.session.get(RepairTicket, ticket_id)
    if ticket is None:
        raise NotFound(f"维修工单 #{ticket_id} 不存在。")
    exc = uow.session.get(ShopException, ticket.exception_id) if ticket.exception_id else None
    tech = uow.session.get(Person, ticket.technician_id) if ticket.technician_id else None
    return ticket_card(ticket, exc, task_id=task_id, policy=policy, technician=tech.name if tech else None)


# What the card asks of the technician at each step (a finished ticket's card says what was done instead).
STEP_DESC = {TicketStatus.OPEN: "请尽快接单并到场处理", TicketStatus.ACCEPTED: "到场后请点「到场」",
             TicketStatus.ON_SITE: "修好后请点「完成」，记录原因和所用备件"}


def finished_desc(ticket: RepairTicket) -> str:
    """"已修复 · 原因 液压 · 用时 42 分钟": the final state, in the card's headline."""
    bits = ["已修复"]
    if ticket.cause:
        bits.append(f"原因 {ticket.cause}")
    minutes = repair_minutes(ticket)
    if minutes is not None:
        bits.append(f"用时 {span(minutes)}")
    return " · ".join(bits)


def ticket_card(ticket: RepairTicket, exc: ShopException | None, *, task_id: str,
                policy: AlertPolicy | None = None, technician: str | None = None) -> dict[str, Any]:
    status = TicketStatus(ticket.status)
    buttons = {
        TicketStatus.OPEN: [Button("接单", f"repair:accept:{ticket.id}")],
        TicketStatus.ACCEPTED: [Button("到场", f"repair:arrive:{ticket.id}")],
        TicketStatus.ON_SITE: [Button("完成", f"repair:done:{ticket.id}")],
        TicketStatus.DONE: [Button("已完成", f"repair:noop:{ticket.id}", style=2)],
    }[status]
    rows = [("机台", ticket.machine or "-")]
    if exc is not None:
        rows.insert(0, ("异常", f"#{exc.id} {exc.type}"))
    if status == TicketStatus.DONE:
        minutes = repair_minutes(ticket)
        rows += [("原因", ticket.cause or "-"), ("备件", ticket.parts or "-"), ("技术员", technician or "-"),
                 ("用时", span(minutes) if minutes is not None else "-")]
        desc = finished_desc(ticket)
    else:
        rows += [("车间", ticket.workshop or "-"), ("状态", STATUS_LABELS[status])]
        if exc is not None and exc.description:
            rows.append(("说明", exc.description[:40]))
        desc = STEP_DESC[status]
    work_order = exc.work_order.code if exc is not None and exc.work_order is not None else None
    return button_card(task_id=task_id, title=f"【维修工单】#{ticket.id} {ticket.machine or ''}".strip(),
                       desc=desc, rows=rows, buttons=buttons, source_desc="FactoryBot 维修",
                       url=policy.detail_url({"工单": work_order}) if policy is not None and work_order else None)


def dispatch(uow: UnitOfWork, policy: AlertPolicy, ticket: RepairTicket, now: datetime,
             tech: Person | None = None) -> Person | None:
    """Ask the nearest free technician on duty (or `tech`); with nobody free the ticket stays as it is.

    A technician already asked keeps the ticket when nobody else is free: their card still works, and
    nobody is told "改派" when nothing moved."""
    tech = tech or choose_technician(uow, policy, ticket, now)
    if tech is None:
        return None
    ticket.technician_id = tech.id
    ticket.dispatched_at = now
    ticket.tried_userids = "|".join([*_tried(ticket), tech.userid])
    ticket.task_id = make_task_id("repair", ticket.id, len(_tried(ticket)))
    uow.session.flush()
    exc = uow.session.get(ShopException, ticket.exception_id) if ticket.exception_id else None
    queue_card(uow, [tech.userid], ticket_card(ticket, exc, task_id=ticket.task_id, policy=policy), now)
    return tech


def open_ticket(uow: UnitOfWork, policy: AlertPolicy, *, machine: str | None, workshop: str | None,
                now: datetime, exception_id: int | None = None, requested_by: str | None = None) -> RepairTicket:
    """Open and dispatch a ticket; `requested_by` (a userid: the fault's reporter, or who tapped 转维修) is
    who asked for it. A second call for the same exception or a press already under repair joins that one."""
    if exception_id is not None:
        existing = uow.session.scalar(select(RepairTicket).where(RepairTicket.exception_id == exception_id))
        if existing is not None:
            return existing
    if machine:
        # One machine, one repair at a time: a second call for it joins the ticket already open.
        running = uow.session.scalar(select(RepairTicket).where(
            RepairTicket.machine == machine, RepairTicket.status.in_(BUSY)).order_by(RepairTicket.id).limit(1))
        if running is not None:
            return running
    requester = find_person(uow, requested_by) if requested_by else None
    ticket = RepairTicket(exception_id=exception_id, machine=machine, workshop=workshop, status=TicketStatus.OPEN,
                          opened_at=now, tried_userids="", requested_by_id=requester.id if requester else None)
    uow.session.add(ticket)
    uow.session.flush()
    dispatch(uow, policy, ticket, now)
    return ticket


@dataclass(frozen=True)
class Dispatched:
    ticket_id: int
    machine: str | None
    technician: str | None  # the name of the one asked; None while nobody on duty is free


def dispatched(uow: UnitOfWork, ticket_id: int) -> Dispatched:
    """Who a ticket went to, for the reporter's reply."""
    ticket = uow.session.get(RepairTicket, ticket_id)
    if ticket is None:
        raise NotFound(f"维修工单 #{ticket_id} 不存在。")
    tech = uow.session.get(Person, ticket.technician_id) if ticket.technician_id else None
    return Dispatched(ticket.id, ticket.machine, tech.name if tech else None)


@dataclass(frozen=True)
class RepairRound:
    redispatched: list[int]  # tickets that went to a technician this round (the next one, or a first one)
    escalated: list[int]  # tickets handed to the maintenance lead this round (once per ticket)


def repair_leads(uow: UnitOfWork, policy: AlertPolicy, workshop: str | None, now: datetime) -> list[str]:
    """Who takes over a repair no technician took: the 设备主管 on duty, else the workshop's supervisors on
    duty, else the ops manager (on duty, else any: a stuck repair must reach somebody)."""
    for roles, where in (((Role.MAINTENANCE_LEAD,), None), ((Role.SUPERVISOR,), workshop),
                         ((Role.OPS_MANAGER,), None)):
        found = people_with(uow, roles, where, on_duty_at=now, policy=policy)
        if found:
            return found
    return people_with(uow, (Role.OPS_MANAGER, Role.ADMIN), None)


def _escalate(uow: UnitOfWork, policy: AlertPolicy, ticket: RepairTicket, now: datetime, why: str) -> None:
    ticket.escalated_at = now
    names = person_names(uow, _tried(ticket))
    tried = "、".join(names.get(u, u) for u in _tried(ticket)) or "无（无空闲技术员在岗）"
    exc = uow.session.get(ShopException, ticket.exception_id) if ticket.exception_id else None
    fault = f"\n故障：{exc.description[:60]}" if exc is not None and exc.description else ""
    text = (f"【维修无人接单】维修工单 #{ticket.id}（{ticket.machine or '-'}，{ticket.workshop or '-'}）"
            f"已等待 {span((now - ticket.opened_at).total_seconds() / 60)}，{why}。\n已派过：{tried}{fault}\n"
            "系统不再自动改派，请安排技术员到场。")
    queue_text(uow, repair_leads(uow, policy, ticket.workshop, now), text, now, key=f"repair_escalated:{ticket.id}")


def repair_round(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> RepairRound:
    """Tickets nobody accepted in time go to the next nearest technician on duty, at most
    policy.max_redispatch times; then, or when nobody else is free, the maintenance lead is told, once,
    and the ticket stops moving (it stays with the last one asked, whose card still works)."""
    moved: list[int] = []
    escalated: list[int] = []
    waiting = uow.session.scalars(select(RepairTicket).where(RepairTicket.status == TicketStatus.OPEN)
                                  .order_by(RepairTicket.id)).all()
    for ticket in waiting:
        since = ticket.dispatched_at or ticket.opened_at
        late = now - since > policy.repair_answer_within
        before = uow.session.get(Person, ticket.technician_id) if ticket.technician_id else None
        if before is None:
            # Nobody was free when it opened: a technician free now gets it (a first ask, never a repeat).
            if dispatch(uow, policy, ticket, now) is not None:
                moved.append(ticket.id)
            elif late and ticket.escalated_at is None:
                _escalate(uow, policy, ticket, now, "暂无空闲技术员在岗")
                escalated.append(ticket.id)
            continue
        if not late or ticket.escalated_at is not None:
            continue
        if len(_tried(ticket)) - 1 >= policy.max_redispatch:
            _escalate(uow, policy, ticket, now, f"{before.name} 未接单，已改派 {policy.max_redispatch} 次")
            escalated.append(ticket.id)
            continue
        tech = choose_technician(uow, policy, ticket, now)
        if tech is None:
            _escalate(uow, policy, ticket, now, f"{before.name} 未接单，暂无其他空闲技术员在岗")
            escalated.append(ticket.id)
            continue
        dispatch(uow, policy, ticket, now, tech)
        moved.append(ticket.id)
        # The one passed over still holds a card saying 待接单: tell him it has moved on, once per move.
        queue_text(uow, [before.userid], f"维修工单 #{ticket.id}（{ticket.machine or '-'}）已改派给 {tech.name}，"
                   "您无需再接单。", now, key=f"repair_moved:{ticket.id}:{len(_tried(ticket))}")
        text = (f"维修工单 #{ticket.id}（{ticket.machine or '-'}）{before.name} "
                f"{span((now - since).total_seconds() / 60)}未接单，已改派 {tech.name}。")
        queue_text(uow, people_with(uow, (Role.SUPERVISOR,), ticket.workshop, on_duty_at=now, policy=policy),
                   text, now)
    return RepairRound(moved, escalated)


def redispatch_unanswered(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[int]:
    """The tickets that went to a technician this round (see repair_round)."""
    return repair_round(uow, policy, now).redispatched


@dataclass(frozen=True)
class TicketStep:
    ticket_id: int
    status: str
    changed: bool


def my_ticket(uow: UnitOfWork, ticket_id: int, userid: str) -> tuple[RepairTicket, Person]:
    person = active_person(uow, userid)
    ticket = uow.session.get(RepairTicket, ticket_id, with_for_update=True)
    if ticket is None:
        raise NotFound(f"维修工单 #{ticket_id} 不存在。")
    if ticket.technician_id != person.id:
        raise NotAllowed(f"维修工单 #{ticket_id} 已改派给其他技术员。")
    return ticket, person


def step(uow: UnitOfWork, *, ticket_id: int, userid: str, action: str, now: datetime,
         cause: str | None = None, parts: str | None = None) -> TicketStep:
    """接单 → 到场 → 完成, each once; a repeat or a late tap changes nothing.

    完成 records the cause and parts (alerts/repair_close.py asks for them), closes the exception and tells
    those waiting for the repair, once."""
    ticket, _ = my_ticket(uow, ticket_id, userid)
    order = [TicketStatus.OPEN, TicketStatus.ACCEPTED, TicketStatus.ON_SITE, TicketStatus.DONE]
    target = {"accept": TicketStatus.ACCEPTED, "arrive": TicketStatus.ON_SITE, "done": TicketStatus.DONE}[action]
    current = TicketStatus(ticket.status)
    if order.index(current) >= order.index(target):
        return TicketStep(ticket.id, current, changed=False)
    if order.index(target) != order.index(current) + 1:
        raise DomainError(f"维修工单 #{ticket.id} 当前为「{STATUS_LABELS[current]}」，请按 接单→到场→完成 的顺序操作。")
    ticket.status = target
    if target == TicketStatus.ACCEPTED:
        ticket.accepted_at = now
    elif target == TicketStatus.ON_SITE:
        ticket.arrived_at = now
    else:
        ticket.finished_at = now
        if cause is not None:
            ticket.cause = cause[:100]
        if parts is not None:
            ticket.parts = parts[:200]
        if ticket.exception_id is not None:
            resolution = f"维修完成（原因：{ticket.cause}）" if ticket.cause else "维修完成"
            close_exception(uow, exception_id=ticket.exception_id, userid=userid, now=now, resolution=resolution)
        tell_repaired(uow, ticket, now)
    uow.flush()
    return TicketStep(ticket.id, target, changed=True)
