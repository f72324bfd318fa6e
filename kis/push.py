"""The write-back's local half: completions become outbox rows, outbox rows become staging rows, and what
the KIS job made of them comes back.

A completion is the good quantity reported at a work order's last operation. Rows are made per work order
and production day once the day is over, each under a source key that is also the staging table's primary
key (FSourceKey); a report that arrives later for a day already written adds a supplementary row (…:2), and
a report undone or corrected after its day was queued a compensating one (negative when the figure went down).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, insert, select, update

from domain.models import (
    KisOutbox,
    Operation,
    Person,
    Product,
    ReportCorrection,
    SalesOrder,
    SalesOrderLine,
    SyncState,
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
    corrections: int = 0  # of the rows, those that correct what was queued before (a 撤销 or 更正 since)
    correction_qty: int = 0  # their quantity, negative when the figure went down


def collect(uow: UnitOfWork, *, config: KisConfig, today: date, now: datetime) -> Collected:
    """Queue the finished days' completions not queued yet. Idempotent: it queues only the difference.

    today: the production day now (KisConfig.production_day); the days before it are finished.

    A day whose total went down after it was queued (a report undone or corrected) gets a compensating row
    with the negative difference under the next key (FB:<wo>:<day>:<n+1>), a 红字 receipt for the KIS job;
    one that went up, a supplementary row. Days before the look-back are no longer compared with the outbox:
    for them the corrections not yet seen (ReportCorrection.kis_seen_at) say what changed, each counted once,
    since every correction of a finished day is stamped seen by the run that took it into account."""
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
    done = s.execute(
        _at_last_op().with_only_columns(WorkReport.work_order_id, WorkReport.work_day, func.sum(WorkReport.good_qty),
                                        func.sum(WorkReport.defect_qty))
        .where(WorkReport.work_day >= first, WorkReport.work_day <= last_day)
        .group_by(WorkReport.work_order_id, WorkReport.work_day)
    ).all()
    queued = {
        (wo_id, day): (int(q or 0), int(d or 0), int(n))
        for wo_id, day, q, d, n in s.execute(
            select(KisOutbox.work_order_id, KisOutbox.work_day, func.sum(KisOutbox.qty), func.sum(KisOutbox.defect_qty),
                   func.count())
            .where(KisOutbox.work_day >= first, KisOutbox.work_day <= last_day)
            .group_by(KisOutbox.work_order_id, KisOutbox.work_day)
        )
    }
    # (work order, day) → (good, defect) to queue, and whether it corrects what was queued before
    wanted: dict[tuple[int, date], tuple[int, int, bool]] = {}
    for wo_id, day, good, defect in done:
        have_qty, have_defect, n = queued.get((wo_id, day), (0, 0, 0))
        more = int(good or 0) - have_qty
        if more > 0:
            wanted[(wo_id, day)] = (more, max(int(defect or 0) - have_defect, 0), False)
        elif more < 0:  # fewer than were queued: a report was undone or corrected since
            wanted[(wo_id, day)] = (more, int(defect or 0) - have_defect, True)
    for (wo_id, day), (good, defect) in _late_corrections(uow, before=first).items():
        if good:
            wanted[(wo_id, day)] = (good, defect, True)
    # Every correction of a finished day is accounted for now: by the difference above, or by itself.
    s.execute(update(ReportCorrection)
              .where(ReportCorrection.kis_seen_at.is_(None),
                     ReportCorrection.work_report_id.in_(select(WorkReport.id).where(WorkReport.work_day <= last_day)))
              .values(kis_seen_at=now).execution_options(synchronize_session=False))
    if not wanted:
        _raise_watermark(row, config, last_day)
        return Collected(0, 0, None, None)

    codes: dict[int, str] = {}
    for part in chunks(sorted({wo_id for wo_id, _ in wanted})):
        codes.update((i, c) for i, c in s.execute(select(WorkOrder.id, WorkOrder.code).where(WorkOrder.id.in_(part))))
    names = _operators(uow, sorted(wanted))
    new: list[dict[str, object]] = []
    for (wo_id, day), (qty, defect, _fix) in sorted(wanted.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        n = queued[(wo_id, day)][2] if (wo_id, day) in queued else _queued_rows(uow, wo_id, day)
        who = "、".join(names.get((wo_id, day), []))
        new.append(dict(
            source_key=source_key(codes[wo_id], day, n + 1), work_order_id=wo_id, work_day=day, qty=qty,
            defect_qty=defect, operator=who if len(who) <= OPERATOR_WIDTH else who[: OPERATOR_WIDTH - 1] + "…",
            status=OutboxStatus.PENDING, attempts=0, created_at=now,
        ))
    for start in range(0, len(new), 1000):
        s.execute(insert(KisOutbox), new[start : start + 1000])
    _raise_watermark(row, config, last_day)
    days = [day for _, day in wanted]
    fixes = [qty for qty, _d, fix in wanted.values() if fix]
    return Collected(len(new), sum(qty for qty, _d, _f in wanted.values()), min(days), max(days),
                     corrections=len(fixes), correction_qty=sum(fixes))


def _at_last_op() -> Select[Any]:
    """Reports at their work order's last operation: the completions KIS receives."""
    last_seq = (select(Operation.work_order_id, func.max(Operation.seq).label("seq"))
                .group_by(Operation.work_order_id).subquery())
    return (select(WorkReport)
            .join(Operation, Operation.id == WorkReport.operation_id)
            .join(last_seq, and_(last_seq.c.work_order_id == Operation.work_order_id, last_seq.c.seq == Operation.seq)))


def _late_corrections(uow: UnitOfWork, *, before: date) -> dict[tuple[int, date], tuple[int, int]]:
    """Corrections not seen yet of completions on days before the look-back: (work order, day) → the change
    in (good, defect) they made."""
    out: dict[tuple[int, date], tuple[int, int]] = {}
    for wo_id, day, good, defect in uow.session.execute(
        _at_last_op().join(ReportCorrection, ReportCorrection.work_report_id == WorkReport.id)
        .with_only_columns(WorkReport.work_order_id, WorkReport.work_day,
                           func.sum(ReportCorrection.new_good - ReportCorrection.old_good),
                           func.sum(ReportCorrection.new_defect - ReportCorrection.old_defect))
        .where(ReportCorrection.kis_seen_at.is_(None), WorkReport.work_day < before)
        .group_by(WorkReport.work_order_id, WorkReport.work_day)
    ):
        out[(wo_id, day)] = (int(good or 0), int(defect or 0))
    return out


def _queued_rows(uow: UnitOfWork, work_order_id: int, day: date) -> int:
    return uow.session.scalar(select(func.count()).select_from(KisOutbox).where(
        KisOutbox.work_order_id == work_order_id, KisOutbox.work_day == day)) or 0


def _operators(uow: UnitOfWork, pairs: list[tuple[int, date]]) -> dict[tuple[int, date], list[str]]:
    """Who reported the last step of each (work order, day), by name."""
    out: dict[tuple[int, date], list[str]] = defaultdict(list)
    if not pairs:
        return out
    wanted = set(pairs)
    for part in chunks(sorted({wo_id for wo_id, _ in pairs})):
        for wo_id, day, name in uow.session.execute(
            _at_last_op().join(Person, Person.id == WorkReport.operator_id)
            .with_only_columns(WorkReport.work_order_id, WorkReport.work_day, Person.name).distinct()
            .where(WorkReport.work_order_id.in_(part), WorkReport.work_day >= min(d for _, d in pairs),
                   WorkReport.work_day <= max(d for _, d in pairs))
            .order_by(WorkReport.work_order_id, WorkReport.work_day, Person.name)
        ):
            if (wo_id, day) in wanted:
                out[(wo_id, day)].append(name)
    return out


def _raise_watermark(row: SyncState, config: KisConfig, last_day: date) -> None:
    seen = datetime.combine(last_day, datetime.min.time(), tzinfo=config.tz).astimezone(UTC)
    if row.watermark is None or seen > row.watermark:
        row.watermark = seen


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
