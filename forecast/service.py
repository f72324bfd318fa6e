"""Forecasts for chat and the board: one order, every open order, the risky ones a person should see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from domain.models import Operation, Person, SalesOrder, SalesOrderLine, WorkOrder
from domain.uow import UnitOfWork
from forecast.policy import ForecastPolicy
from forecast.projection import OrderForecast, Risk, forecast_orders
from forecast.store import load_snapshot


def open_order_forecasts(uow: UnitOfWork, policy: ForecastPolicy, now: datetime) -> list[OrderForecast]:
    snap = load_snapshot(uow, policy, now)
    return forecast_orders(snap.lines, snap.work_orders, now, policy, snap.history)


def order_forecast(uow: UnitOfWork, policy: ForecastPolicy, now: datetime, bill_no: str) -> OrderForecast | None:
    """The forecast of one order, or None when it has no work orders yet (or does not exist)."""
    order_id = uow.session.scalar(select(SalesOrder.id).where(func.upper(SalesOrder.bill_no) == bill_no.strip().upper()))
    if order_id is None:
        return None
    snap = load_snapshot(uow, policy, now, order_ids=[order_id])
    found = forecast_orders(snap.lines, snap.work_orders, now, policy, snap.history)
    return found[0] if found else None


def risky_orders(uow: UnitOfWork, policy: ForecastPolicy, now: datetime, viewer: Person) -> list[OrderForecast]:
    """Open orders projected late or at risk, most delayed first; people of a workshop see the orders that
    pass through it, plant-wide roles see all."""
    found = [o for o in open_order_forecasts(uow, policy, now) if not o.done and o.risk != Risk.ON_TIME]
    if viewer.workshop:
        passing = set(uow.session.scalars(
            select(SalesOrderLine.order_id).join(WorkOrder, WorkOrder.line_id == SalesOrderLine.id)
            .where(or_(WorkOrder.workshop == viewer.workshop,
                       WorkOrder.id.in_(select(Operation.work_order_id)
                                        .where(Operation.workshop == viewer.workshop))))))
        found = [o for o in found if o.order_id in passing]
    return sorted(found, key=lambda o: (-o.risk.rank, o.slack_days, o.bill_no))
