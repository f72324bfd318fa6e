"""The write-back's local half: completions become outbox rows, outbox rows become staging rows, and what
the KIS job made of them comes back.

A completion is the good quantity reported at a work order's last operation. Rows are made per work order
and production day once the day is over, each under a source key that is also the staging table's primary
key (FSourceKey); a report that arrives later for a day already written adds a supplementary row (…:2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, insert, select, update

from domain.models import (
    KisOutbox,
    Operation,
    Person,
    Product,
    SalesOrder,
    SalesOrderLine,
    WorkOrder,
    WorkReport,
)
from domain.uow import UnitOfWork
from domain.vocab import OutboxStatus
from kis import state as sync_state
from kis.config import KisConfig
from kis.mapping import STAGING_IMPORTED, STAGING_REJECTED, StagingRow, StagingStatus
from kis.odbc import chunks

OPERATOR_WIDTH = 80


def source_key(work_order_code: str, day: date, seq: int) -> str:
    return f"FB:{work_order_code}:{day:%Y%m%d}:{seq}"


@dataclass(frozen=True)
class Collected:
    rows: int
    qty: int
    first_day: date | None  # production days of the rows queued
    last_day: date | None


def collect(uow: UnitOfWork, *, config: KisConfig, today: date, now: datetime) -> Collected:
    """Queue the finished days' completions not queued yet. Idempotent: it queues only the difference.

    today: the production day now (KisConfig.production_day); the days before it are finished."""
    row = sync_state.get(uow, sync_state.PUSH)
    last_day = today - timedelta(days=1)
    lookback = max(config.lookback.days, 1)
    # The last `lookback` days up to the newest day already collected are looked at again, for reports
    # recorded late; the first run starts that far back too, unless KIS_PUSH_START says where.
    newest = row.watermark.astimezone(config.tz).date() if row.watermark is not None else last_day
    first = newest - timedelta(days=lookback - 1)
    if row.watermark is None and config.push_start is not None:
        first = config.push_start
    if config.push_start is not None:
        first = max(first, config.push_start)
    if first > last_day:
        return Collected(0, 0, None, None)

    s = uow.session
    last_seq = (select(Operation.work_order_id, func.max(Operation.seq).label("seq"))
                .group_by(Operation.work_order_id).subquery())
    at_last_op = (
        select(WorkReport)
        .join(Operation, Operation.id == WorkReport.operation_id)
        .join(last_seq, and_(last_seq.c.work_order_id == Operation.work_order_id, last_seq.c.seq == Operation.seq))
        .where(WorkReport.work_day >= first, WorkReport.work_day <= last_day)
    )
    done = s.execute(
        at_last_op.with_only_columns(WorkReport.work_order_id, WorkReport.work_day, func.sum(WorkReport.good_qty),
                                     func.sum(WorkReport.defect_qty))
        .group_by(WorkReport.work_order_id, WorkReport.work_day)
    ).all()
    operators: dict[tuple[int, date], list[str]] = defaultdict(list)
    for wo_id, day, name in s.execute(
        at_last_op.join(Person, Person.id == WorkReport.operator_id)
        .with_only_columns(WorkReport.work_order_id, WorkReport.work_day, Person.name).distinct()
        .order_by(WorkReport.work_order_id, WorkReport.work_day, Person.name)
    ):
        operators[(wo_id, day)].append(name)
    queued = {
        (wo_id, day): (int(q or 0), int(d or 0), int(n))
        for wo_id, day, q, d, n in s.execute(
            select(KisOutbox.work_order_id, KisOutbox.work_day, func.sum(KisOutbox.qty), func.sum(KisOutbox.defect_qty),
                   func.count())
            .where(KisOutbox.work_day >= first, KisOutbox.work_day <= last_day)
            .group_by(KisOutbox.work_order_id, KisOutbox.work_day)
        )
    }
    codes: dict[int, str] = {}
    wanted = sorted({wo_id for wo_id, *_ in done})
    for part in chunks(wanted):
        codes.update((i, c) for i, c in s.execute(select(WorkOrder.id, WorkOrder.code).where(WorkOrder.id.in_(part))))

    rows = qty = 0
    new: list[dict[str, object]] = []
    days: list[date] = []
    for wo_id, day, good, defect in done:
        have_qty, have_defect, n = queued.get((wo_id, day), (0, 0, 0))
        more = int(good or 0) - have_qty
        if more <= 0:
            continue  # nothing new (a smaller total after a correction is left to the people who corrected it)
        names = "、".join(operators.get((wo_id, day), []))
        days.append(day)
        new.append(dict(
            source_key=source_key(codes[wo_id], day, n + 1), work_order_id=wo_id, work_day=day, qty=more,
            defect_qty=max(int(defect or 0) - have_defect, 0),
            operator=names if len(names) <= OPERATOR_WIDTH else names[: OPERATOR_WIDTH - 1] + "…",
            status=OutboxStatus.PENDING, attempts=0, created_at=now,
        ))
        rows += 1
        qty += more
    for start in range(0, len(new), 1000):
        s.execute(insert(KisOutbox), new[start : start + 1000])
    seen = datetime.combine(last_day, datetime.min.time(), tzinfo=config.tz).astimezone(UTC)
    if row.watermark is None or seen > row.watermark:
        row.watermark = seen
    return Collected(rows, qty, min(days, default=None), max(days, default=None))


@dataclass(frozen=True)
class Pending:
    outbox_id: int
    row: StagingRow


def pending_count(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.count()).select_from(KisOutbox)
                              .where(KisOutbox.status == OutboxStatus.PENDING)) or 0


def pending_batch(uow: UnitOfWork, *, config: KisConfig, batch_id: str, limit: int, now: datetime,
                  after_id: int = 0) -> list[Pending]:
    """The next pending rows as staging rows, oldest first."""
    kis_now = now.astimezone(config.tz).replace(tzinfo=None, microsecond=0)
    rows = uow.session.execute(
        select(KisOutbox, WorkOrder.kis_icmo_bill_no, SalesOrder.bill_no, SalesOrderLine.entry_id,
               Product.item_number)
        .join(WorkOrder, WorkOrder.id == KisOutbox.work_order_id)
        .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(KisOutbox.status == OutboxStatus.PENDING, KisOutbox.id > after_id)
        .order_by(KisOutbox.id).limit(limit)
    ).all()
    return [
        Pending(ob.id, StagingRow(
            source_key=ob.source_key, batch_id=batch_id, order_bill_no=bill_no, order_entry_id=entry_id,
            icmo_bill_no=icmo, item_number=item, qty=ob.qty, defect_qty=ob.defect_qty,
            day=datetime.combine(ob.work_day, datetime.min.time()), operator=ob.operator, created_at=kis_now,
        ))
        for ob, icmo, bill_no, entry_id, item in rows
    ]


def mark_sent(uow: UnitOfWork, ids: list[int], *, batch_id: str, now: datetime) -> None:
    for part in chunks(ids):
        uow.session.execute(
            update(KisOutbox).where(KisOutbox.id.in_(part), KisOutbox.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=now, batch_id=batch_id, attempts=KisOutbox.attempts + 1,
                    last_error=None)
            .execution_options(synchronize_session=False))


def mark_failed(uow: UnitOfWork, ids: list[int], *, error: str) -> None:
    for part in chunks(ids):
        uow.session.execute(
            update(KisOutbox).where(KisOutbox.id.in_(part), KisOutbox.status == OutboxStatus.PENDING)
            .values(attempts=KisOutbox.attempts + 1, last_error=error)
            .execution_options(synchronize_session=False))


def first_day_read_back(today: date) -> date:
    """Rejected rows are read back while their production day is in this month or the last: the plant may fix
    the item in KIS and have its job import them after all, up to the month-end reconciliation."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def readback_keys(uow: UnitOfWork, *, today: date) -> tuple[list[str], list[str]]:
    """Keys whose verdict may still come or change: every row written and undecided, and the recent rejections."""
    sent = list(uow.session.scalars(select(KisOutbox.source_key).where(KisOutbox.status == OutboxStatus.SENT)
                                    .order_by(KisOutbox.id)))
    rejected = list(uow.session.scalars(
        select(KisOutbox.source_key)
        .where(KisOutbox.status == OutboxStatus.REJECTED, KisOutbox.work_day >= first_day_read_back(today))
        .order_by(KisOutbox.id)))
    return sent, rejected


@dataclass
class Readback:
    imported: int = 0  # newly imported, recovered rejections included
    rejected: int = 0  # newly rejected
    waiting: int = 0  # in the staging table, not yet taken by the KIS job
    missing: int = 0  # written, but no longer in the staging table
    recovered: int = 0  # rejected before, imported now (fixed in KIS and imported after all)
    requeued: int = 0  # rejected before, waiting again (put back for the KIS job)
    rejections: list[str] = field(default_factory=list)


def apply_readback(uow: UnitOfWork, sent: list[str], rejected: list[str], statuses: list[StagingStatus]) -> Readback:
    """Record the KIS job's verdicts on rows written earlier: 已入库 CIN… or the reason it refused. A rejected
    row may still become imported (or wait again) when the plant fixes the cause in KIS."""
    by_key = {st.source_key: st for st in statuses}
    out = Readback(missing=sum(1 for k in sent if k not in by_key))  # a rejected row someone deleted is no news
    out.waiting = sum(1 for st in statuses if st.status not in (STAGING_IMPORTED, STAGING_REJECTED))
    was_rejected = set(rejected)
    moving = [st for st in statuses
              if st.status in (STAGING_IMPORTED, STAGING_REJECTED) or st.source_key in was_rejected]
    rows: dict[str, KisOutbox] = {}
    for part in chunks([st.source_key for st in moving]):
        rows.update((r.source_key, r) for r in uow.session.scalars(
            select(KisOutbox).where(KisOutbox.source_key.in_(part),
                                    KisOutbox.status.in_((OutboxStatus.SENT, OutboxStatus.REJECTED)))))
    for st in moving:
        row = rows.get(st.source_key)
        if row is None:
            continue
        before = row.status
        row.kis_bill_no = st.kis_bill_no
        row.kis_message = (st.message or "")[:255] or None
        if st.status == STAGING_IMPORTED:
            row.status = OutboxStatus.IMPORTED
            out.imported += 1
            if before == OutboxStatus.REJECTED:
                out.recovered += 1
        elif st.status == STAGING_REJECTED:
            if before == OutboxStatus.SENT:
                row.status = OutboxStatus.REJECTED
                out.rejected += 1
                out.rejections.append(describe_row(uow, row))
        elif before == OutboxStatus.REJECTED:  # put back for the KIS job: waiting again, no longer 被拒
            row.status = OutboxStatus.SENT
            out.requeued += 1
    return out


@dataclass
class PushResult:
    collected: Collected | None = None
    written: int = 0
    already_there: int = 0  # found in the staging table already: written by a run that died before recording it
    batches: int = 0
    readback: Readback = field(default_factory=Readback)
    pending_left: int = 0


def row_label(uow: UnitOfWork, row: KisOutbox) -> str:
    wo = uow.session.get(WorkOrder, row.work_order_id)
    return f"{wo.code if wo else row.work_order_id} {row.work_day} 良品 {row.qty} 件"


def describe_row(uow: UnitOfWork, row: KisOutbox) -> str:
    return f"{row_label(uow, row)}：{row.kis_message or '未说明原因'}"
