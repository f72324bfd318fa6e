"""A floor exception becomes an alert the moment it is opened; an equipment fault also calls a technician."""

from __future__ import annotations

from datetime import datetime

from alerts import repair
from alerts.engine import EvalResult, apply
from alerts.policy import AlertPolicy
from alerts.rules import EXCEPTION, OpenException, exceptions_open
from domain.models import ShopException
from domain.uow import UnitOfWork

EQUIPMENT_FAULT = "设备故障"


def exception_opened(uow: UnitOfWork, policy: AlertPolicy, exception_id: int, now: datetime) -> int | None:
    """Fire the exception's alert (cards to its workshop's managers) and, for a fault, open a repair ticket.

    Returns the repair ticket id, if one was opened.
    """
    exc = uow.session.get(ShopException, exception_id)
    if exc is None:
        return None
    wo = exc.work_order
    item = OpenException(exc.id, exc.type, wo.workshop if wo else exc.reporter.workshop, wo.code if wo else None,
                         exc.machine or (wo.machine if wo else None), exc.reporter.name, exc.description or "", exc.opened_at)
    apply(uow, policy, EXCEPTION, exceptions_open([item], policy), now, EvalResult(), clear_missing=False)
    if exc.type == EQUIPMENT_FAULT and item.machine:
        ticket = repair.open_ticket(uow, policy, machine=item.machine, workshop=item.workshop, now=now,
                                    exception_id=exc.id)
        return ticket.id
    return None

