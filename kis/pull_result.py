"""What a pull did (PullResult), and the work-order states and KIS moments its parts share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from domain.vocab import WorkOrderStatus
from kis.config import KisConfig

LIVE = (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS)
FINISHED = (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED, WorkOrderStatus.VOIDED)
DELETED_IN_KIS = "KIS 中已删除"


@dataclass
class PullResult:
    since: datetime | None  # KIS-local; None = every approved open order was read
    orders_read: int = 0
    lines_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    voided: int = 0
    closed: int = 0
    unaudited: int = 0  # held orders not (or no longer) audited in KIS; they come back when audited
    linked: int = 0  # orders FactoryBot knew by bill number only, now tied to their FInterID
    customers_new: int = 0
    products_new: int = 0
    uses_tasks: bool = False
    tasks_read: int = 0
    wo_created: int = 0
    wo_updated: int = 0
    wo_voided: int = 0
    wo_closed: int = 0
    tasks_skipped: int = 0
    wo_stopped: int = 0  # work orders of voided orders
    alerts_closed: int = 0
    lines_closed: int = 0  # order lines closed in KIS (FMRPClosed)
    shipments_changed: int = 0  # orders whose shipped quantities changed (销售出库)
    shipped: int = 0  # orders that reached 出货 (every owed line shipped in full)
    uses_shipments: bool = False
    uses_receipts: bool = False
    wo_received: int = 0  # work orders done by product receipts (产品入库) covering their quantity
    reconcile: bool = False  # every open order was read again, whatever its dates
    watermark: datetime | None = None  # aware; the newest FCheckDate (or FChangeDate) seen so far
    notes: list[str] = field(default_factory=list)


# --- what FactoryBot holds: the ids a pull asks KIS about ------------------------------------------------

def kis_moment(kis_local: datetime, default: time, config: KisConfig, *, day_end: bool = False) -> datetime:
    """A KIS-local moment as an aware one. KIS keeps many dates as a day at midnight (plans, bill dates):
    that day's shift boundary is what is meant; with day_end, the day's end (the next morning when the last
    shift crosses midnight: KisConfig.day_end_of)."""
    if kis_local.time() != time(0):
        at = kis_local
    elif day_end:
        at = config.day_end_of(kis_local.date())
    else:
        at = datetime.combine(kis_local.date(), default)
    return at.replace(tzinfo=config.tz).astimezone(UTC)


