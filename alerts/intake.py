"""A floor exception becomes an alert the moment it is opened; an equipment fault also calls a technician.

A fault reported without a press (no work order, none typed) cannot be sent to anyone: the reporter is asked
which press (a conversation, FAULT_PRESS). Their answer, or a supervisor's `转维修 N P05`, records it, the
alert's card shows it and the ticket is opened. Unanswered (or cancelled), the question is handed to the
supervisors on duty, so the fault still reaches someone who can name the press.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts import repair
from alerts.engine import EvalResult, apply
from alerts.outbox import queue_text
from alerts.policy import AlertPolicy
from alerts.routing import people_with
from alerts.rules import EXCEPTION, OpenException, exceptions_open
from alerts.store import open_alert
from domain.errors import DomainError, NotFound
from domain.models import RepairTicket, ShopException
from domain.services import conversation
from domain.services.exceptions import set_machine
from domain.services.people import active_person
from domain.uow import UnitOfWork
from domain.vocab import ExceptionStatus, Role

EQUIPMENT_FAULT = "设备故障"
# The questions asked about an exception just reported (conversation kinds; subject "exc:<id>").
FAULT_PRESS = "fault_press"  # which press? (a fault without one)
EXC_DESCRIPTION = "exc_description"  # what happened? (after a type was picked on the card)


def _item(exc: ShopException) -> OpenException:
    wo = exc.work_order
    return OpenException(exc.id, exc.type, wo.workshop if wo else exc.reporter.workshop, wo.code if wo else None,
                         exc.machine or (wo.machine if wo else None), exc.reporter.name, exc.description or "",
                         exc.opened_at)


def _ticket_for(uow: UnitOfWork, policy: AlertPolicy, exc: ShopException, item: OpenException,
                now: datetime) -> int | None:
    if exc.type != EQUIPMENT_FAULT or not item.machine or exc.status == ExceptionStatus.CLOSED:
        return None
    ticket = repair.open_ticket(uow, policy, machine=item.machine, workshop=item.workshop, now=now,
                                exception_id=exc.id, requested_by=exc.reporter.userid)
    return ticket.id


def exception_opened(uow: UnitOfWork, policy: AlertPolicy, exception_id: int, now: datetime) -> int | None:
    """Fire the exception's alert (cards to its workshop's managers) and, for a fault, open a repair ticket.

    Returns the repair ticket id, if one was opened.
    """
    exc = uow.session.get(ShopException, exception_id)
    if exc is None:
        return None
    item = _item(exc)
    apply(uow, policy, EXCEPTION, exceptions_open([item], policy), now, EvalResult(), clear_missing=False)
    return _ticket_for(uow, policy, exc, item, now)


@dataclass(frozen=True)
class Changed:
    alert_id: int | None  # the open alert whose facts changed (its cards are to be updated), if any
    ticket_id: int | None  # the fault's repair ticket, if it has one now


def exception_changed(uow: UnitOfWork, policy: AlertPolicy, exception_id: int, now: datetime) -> Changed:
    """After a press or a description was added: the alert's facts follow, and a fault with a press now
    gets its repair ticket."""
    exc = uow.session.get(ShopException, exception_id)
    if exc is None:
        raise NotFound(f"异常 #{exception_id} 不存在。")
    item = _item(exc)
    alert = open_alert(uow, EXCEPTION, f"exc:{exc.id}")
    before = dict(alert.facts) if alert is not None else None
    apply(uow, policy, EXCEPTION, exceptions_open([item], policy), now, EvalResult(), clear_missing=False)
    changed = alert is not None and dict(alert.facts) != before
    return Changed(alert.id if alert is not None and changed else None, _ticket_for(uow, policy, exc, item, now))


def assign_press(uow: UnitOfWork, policy: AlertPolicy, *, exception_id: int, userid: str, machine: str,
                 now: datetime) -> Changed:
    """Record the press of a fault reported without one (by its reporter or a supervisor) and call a
    technician; the reporter's question about it, if still waiting, is answered."""
    exc = uow.session.get(ShopException, exception_id)
    if exc is None:
        raise NotFound(f"异常 #{exception_id} 不存在。")
    if exc.machine and exc.machine != machine:
        raise DomainError(f"异常 #{exc.id} 已注明机台 {exc.machine}。")
    set_machine(uow, exception_id=exc.id, userid=userid, machine=machine)
    waiting = conversation.pending(uow, exc.reporter.userid, now)
    if waiting is not None and waiting.kind == FAULT_PRESS and waiting.subject == f"exc:{exc.id}":
        conversation.finish(uow, exc.reporter.userid, FAULT_PRESS)
    changed = exception_changed(uow, policy, exc.id, now)
    if changed.ticket_id is not None and userid != exc.reporter.userid:
        # A supervisor who named the press asked for the repair: he is told when it is done, as the reporter is.
        ticket = uow.session.get(RepairTicket, changed.ticket_id)
        if ticket is not None and ticket.exception_id == exc.id:
            ticket.requested_by_id = active_person(uow, userid).id
    return changed


def exception_of(subject: str) -> int:
    """The exception id of a question's subject ("exc:12")."""
    try:
        kind, _, number = subject.partition(":")
        if kind != "exc":
            raise ValueError(subject)
        return int(number)
    except ValueError as exc:
        raise DomainError("这个问题已失效，请重新发送「报异常」。") from exc


def hand_over_press(uow: UnitOfWork, policy: AlertPolicy, exception_id: int, now: datetime) -> list[str]:
    """Nobody named the fault's press (the question lapsed or was cancelled): the supervisors on duty are
    asked to, once. Returns who was told (none if the press is known by now or the exception closed)."""
    exc = uow.session.get(ShopException, exception_id)
    if exc is None or exc.machine or exc.status == ExceptionStatus.CLOSED or exc.type != EQUIPMENT_FAULT:
        return []
    item = _item(exc)
    told = (people_with(uow, (Role.SUPERVISOR,), item.workshop, on_duty_at=now, policy=policy)
            or repair.repair_leads(uow, policy, item.workshop, now))
    said = f"\n说明：{exc.description[:60]}" if exc.description else ""
    text = (f"异常 #{exc.id} {exc.type}（报告人 {item.reporter}）未注明机台，尚未派维修。{said}\n"
            f"请确认机台后发送「转维修 {exc.id} 机台号」（如 转维修 {exc.id} P05）派维修。")
    queue_text(uow, told, text, now, key=f"fault_press_handover:{exc.id}")
    return told


def questions_lapsed(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[int]:
    """The round's part: faults whose reporter did not name the press in time go to the supervisors, whether
    the question was which press or what happened (a fault picked on the card without a press). Returns the
    exceptions handed over."""
    handed: list[int] = []
    for kind in (FAULT_PRESS, EXC_DESCRIPTION):
        for q in conversation.expired(uow, now, kind=kind):
            conversation.finish(uow, q.userid, kind)
            try:
                exception_id = exception_of(q.subject)
            except DomainError:
                continue
            if hand_over_press(uow, policy, exception_id, now):  # nothing for a press known or another type
                handed.append(exception_id)
    return handed
