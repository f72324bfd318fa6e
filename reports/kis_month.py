"""The month-end numbers KIS needs: finished pieces per product, against what was written back to KIS.

Finished pieces are the products' finished good (reports.production: last operation, by production day);
written back are the completion rows of the KIS outbox (kis_outbox) for the same production days, by their
status. A report undone or corrected after its day was written back leaves a compensating row (negative when
the figure went down, kis/push.collect), summed with the rest, so the month stays exact: once it is pushed
and imported, the 差异 of the corrected day is 0 again. A non-zero 差异 is what finance reconciles before
closing the month in KIS.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from domain.models import KisOutbox, Product, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import OutboxStatus
from reports.month import Month
from reports.production import QualityRow


@dataclass(frozen=True)
class KisRow:
    item_number: str
    product: str
    finished: int  # what FactoryBot counted as finished into stock
    imported: int  # turned into a 产品入库 bill by the KIS job
    written: int  # in the staging table, not yet imported
    queued: int  # still in FactoryBot's outbox
    rejected: int

    @property
    def difference(self) -> int:
        """Finished pieces not (yet) on their way into KIS; rejected rows count as missing."""
        return self.finished - self.imported - self.written - self.queued


def kis_month_end(uow: UnitOfWork, month: Month, quality_rows: list[QualityRow]) -> list[KisRow]:
    by_status: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item, name, status, qty in uow.session.execute(
        select(Product.item_number, Product.name, KisOutbox.status, func.sum(KisOutbox.qty))
        .join(WorkOrder, WorkOrder.id == KisOutbox.work_order_id)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(KisOutbox.work_day >= month.first, KisOutbox.work_day <= month.last)
        .group_by(Product.item_number, Product.name, KisOutbox.status)
    ):
        by_status[(item, name)][OutboxStatus(status).value] += int(qty)
    finished: dict[tuple[str, str], int] = defaultdict(int)
    for row in quality_rows:
        finished[(row.item_number, row.product)] += row.finished_good
    keys = sorted(set(finished) | set(by_status))
    out = []
    for item, name in keys:
        st = by_status.get((item, name), {})
        out.append(KisRow(item, name, finished.get((item, name), 0), st.get(OutboxStatus.IMPORTED, 0),
                          st.get(OutboxStatus.SENT, 0), st.get(OutboxStatus.PENDING, 0),
                          st.get(OutboxStatus.REJECTED, 0)))
    return [r for r in out if r.finished or r.imported or r.written or r.queued or r.rejected]


def kis_total(rows: list[KisRow]) -> KisRow:
    return KisRow("", "合计", sum(r.finished for r in rows), sum(r.imported for r in rows),
                  sum(r.written for r in rows), sum(r.queued for r in rows), sum(r.rejected for r in rows))
