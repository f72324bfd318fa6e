"""Apply what a pull read from KIS to FactoryBot's store, in the caller's one transaction.

Orders are upserted by (FInterID, FEntryID); an order FactoryBot already holds but KIS no longer lists as
open is looked up by id: voided (or deleted) stops its work orders and closes its alerts, closed closes it.
Production tasks (ICMO) become work orders on the order line they were made for, or update them.
Nothing here commits: a run interrupted halfway leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from domain.models import SalesOrder, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import OrderStatus, WorkOrderStatus
from kis import state as sync_state
from kis.config import KisConfig
from kis.mapping import Held, KisSnapshot
from kis.pull_orders import Masters, Orders
from kis.pull_result import DELETED_IN_KIS, FINISHED, LIVE, PullResult, kis_moment
from kis.pull_tasks import Tasks

# Where the pull's parts live, for callers of kis.pull (kis.jobs, kis.texts).
__all__ = ["DELETED_IN_KIS", "FINISHED", "LIVE", "PullResult", "apply_snapshot", "held", "kis_moment", "since_for"]



def held(uow: UnitOfWork, *, full: bool = False) -> Held:
    """full: a reconcile, which also asks about orders closed with no shipment on record."""
    s = uow.session
    open_orders = select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN)
    # A work order closed in KIS before close dates were pulled has none: its task is asked about again.
    undated = (WorkOrder.status == WorkOrderStatus.CLOSED) & WorkOrder.finished_at.is_(None)
    unshipped = (select(SalesOrder.kis_inter_id)
                 .where(SalesOrder.status == OrderStatus.CLOSED, SalesOrder.kis_inter_id.is_not(None),
                        SalesOrder.shipped_at.is_(None)).order_by(SalesOrder.kis_inter_id))
    return Held(
        orders=tuple(s.scalars(open_orders.where(SalesOrder.kis_inter_id.is_not(None))
                               .with_only_columns(SalesOrder.kis_inter_id).order_by(SalesOrder.kis_inter_id))),
        bills=tuple(s.scalars(open_orders.where(SalesOrder.kis_inter_id.is_(None))
                              .with_only_columns(SalesOrder.bill_no).order_by(SalesOrder.bill_no))),
        tasks=tuple(s.scalars(select(WorkOrder.kis_icmo_bill_no)
                              .where(WorkOrder.status.in_(LIVE) | undated, WorkOrder.kis_icmo_bill_no.is_not(None))
                              .order_by(WorkOrder.kis_icmo_bill_no))),
        unshipped=tuple(s.scalars(unshipped)) if full else (),
    )


def since_for(uow: UnitOfWork, config: KisConfig, explicit: datetime | None) -> datetime | None:
    """KIS-local lower bound of FCheckDate: the last one seen minus the lookback, unless given."""
    if explicit is not None:
        return explicit
    row = uow.session.get(sync_state.SyncState, sync_state.PULL)
    if row is None or row.watermark is None:
        return None
    return (row.watermark.astimezone(config.tz) - config.lookback).replace(tzinfo=None)



# --- applying a snapshot ------------------------------------------------------------------------------


def apply_snapshot(
    uow: UnitOfWork, snap: KisSnapshot, *, held: Held, config: KisConfig, now: datetime,
    progress: Callable[[int], None] | None = None,
) -> PullResult:
    """held: what the snapshot asked KIS about (only those orders and tasks can be found gone)."""
    result = PullResult(snap.since, orders_read=len(snap.orders), lines_read=snap.line_count,
                        uses_tasks=snap.uses_tasks, tasks_read=len(snap.tasks), uses_shipments=snap.uses_shipments,
                        uses_receipts=snap.uses_receipts)
    masters = Masters(uow, result)
    orders = Orders(uow, config, now, result)
    local = orders.load(snap.orders)
    for k in snap.orders:
        orders.upsert(k, local, masters)
        if progress is not None:
            progress(1)
    if snap.uses_shipments:
        # Before follow_held: an order shipped in full is closed in KIS (FStatus 3) and leaves the listing.
        orders.ship(snap.shipments, [o.inter_id for o in snap.orders] + list(held.orders) + list(held.unshipped))
    orders.follow_held(snap, held)
    if snap.uses_tasks:
        Tasks(uow, config, now, result, orders, masters).apply(snap, held.tasks)
    _advance_watermark(uow, snap, config, result)
    uow.flush()
    return result


def _advance_watermark(uow: UnitOfWork, snap: KisSnapshot, config: KisConfig, result: PullResult) -> None:
    row = sync_state.get(uow, sync_state.PULL)
    newest = snap.newest_check
    if newest is not None:
        seen = newest.replace(tzinfo=config.tz).astimezone(UTC)
        if row.watermark is None or seen > row.watermark:
            row.watermark = seen
    result.watermark = row.watermark

