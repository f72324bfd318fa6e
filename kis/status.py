"""Where the KIS sync stands, from FactoryBot's own store only (answering it never waits on KIS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from domain.models import KisOutbox, SyncState
from domain.uow import UnitOfWork
from domain.vocab import OutboxStatus
from kis import state as sync_state
from kis.push import describe_row, row_label


@dataclass(frozen=True)
class JobStatus:
    last_run_at: datetime | None
    last_ok: bool | None
    last_ok_at: datetime | None
    message: str | None
    failures: int
    retry_at: datetime | None
    watermark: datetime | None
    running: bool  # a run holds the lease now
    lease_holder: str | None = None
    lease_since: datetime | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class KisStatus:
    configured: bool | None  # None: the asker cannot know (a chat handler has no settings)
    pull: JobStatus | None
    push: JobStatus | None
    counts: dict[OutboxStatus, int]
    pending_qty: int
    pending_since: date | None
    pending_error: str | None  # why the oldest pending row has not gone yet
    rejections: list[str]
    imports: list[str]


def _job(row: SyncState | None, now: datetime) -> JobStatus | None:
    if row is None:
        return None
    running = row.lease_until is not None and row.lease_until > now
    return JobStatus(row.last_run_at, row.last_ok, row.last_ok_at, row.last_message, row.failures or 0,
                     row.retry_at, row.watermark, running, row.lease_holder if running else None,
                     row.lease_since if running else None, row.lease_until if running else None)


def kis_status(uow: UnitOfWork, *, configured: bool | None, now: datetime) -> KisStatus:
    s = uow.session
    counts = {OutboxStatus(st): int(n) for st, n in s.execute(
        select(KisOutbox.status, func.count()).group_by(KisOutbox.status))}
    pending = s.execute(select(func.coalesce(func.sum(KisOutbox.qty), 0), func.min(KisOutbox.work_day))
                        .where(KisOutbox.status == OutboxStatus.PENDING)).one()
    error = s.scalar(select(KisOutbox.last_error).where(KisOutbox.status == OutboxStatus.PENDING,
                                                        KisOutbox.last_error.is_not(None))
                     .order_by(KisOutbox.id).limit(1))
    rejected = s.scalars(select(KisOutbox).where(KisOutbox.status == OutboxStatus.REJECTED)
                         .order_by(KisOutbox.sent_at.desc(), KisOutbox.id.desc()).limit(5)).all()
    imported = s.scalars(select(KisOutbox).where(KisOutbox.status == OutboxStatus.IMPORTED)
                         .order_by(KisOutbox.sent_at.desc(), KisOutbox.id.desc()).limit(3)).all()
    return KisStatus(
        configured=configured,
        pull=_job(s.get(SyncState, sync_state.PULL), now),
        push=_job(s.get(SyncState, sync_state.PUSH), now),
        counts=counts, pending_qty=int(pending[0] or 0), pending_since=pending[1], pending_error=error,
        rejections=[describe_row(uow, r) for r in rejected],
        imports=[f"{row_label(uow, r)} → 已入库 {r.kis_bill_no or '-'}" for r in imported],
    )
