"""Who may see an order in full: one rule for the chat, the board, its order pages and the wall screens.

People of a workshop see the orders whose work passes through it (a work order made there, or one of its
operations); people with no workshop (plant-wide roles) and plant-wide screens see every order. A wall
screen's workshop, when it has one, is the scope whoever is looking at it.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from domain.errors import NotAllowed
from domain.models import Operation, Person, SalesOrder, SalesOrderLine, WorkOrder
from domain.uow import UnitOfWork

NOT_YOUR_WORKSHOP = "这张订单不在您的车间，请联系主管查看。"


def visible_workshop(person: Person | None, screen_workshop: str | None = None) -> str | None:
    """The one workshop whose work this viewer sees, or None for the whole plant."""
    if screen_workshop:
        return screen_workshop
    return person.workshop if person is not None and person.workshop else None


def may_see_order(uow: UnitOfWork, bill_no: str, *, person: Person | None,
                  screen_workshop: str | None = None) -> bool:
    scope = visible_workshop(person, screen_workshop)
    if not scope:
        return True
    in_scope = or_(WorkOrder.workshop == scope,
                   WorkOrder.id.in_(select(Operation.work_order_id).where(Operation.workshop == scope)))
    return uow.session.scalar(
        select(WorkOrder.id).join(SalesOrderLine, WorkOrder.line_id == SalesOrderLine.id)
        .join(SalesOrder, SalesOrderLine.order_id == SalesOrder.id)
        .where(func.upper(SalesOrder.bill_no) == bill_no.strip().upper(), in_scope).limit(1)) is not None


def require_order_visible(uow: UnitOfWork, bill_no: str, *, person: Person | None,
                          screen_workshop: str | None = None) -> None:
    if not may_see_order(uow, bill_no, person=person, screen_workshop=screen_workshop):
        raise NotAllowed(NOT_YOUR_WORKSHOP)
