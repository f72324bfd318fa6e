"""sync_state rows of the KIS jobs: a lease so runs never overlap (with who holds it and since when), the last
outcome, backoff after failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from domain.models import SyncState
from domain.uow import UnitOfWork

PULL = "kis_pull"
PUSH = "kis_push"

# Backoff of the scheduled push while KIS fails: 2, 4, 8 … minutes, at most an hour between attempts.
BACKOFF_FIRST = timedelta(minutes=2)
BACKOFF_MAX = timedelta(hours=1)
HOLDER_WIDTH = 120  # sync_state.lease_holder


def backoff(failures: int) -> timedelta:
    return min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX)


def get(uow: UnitOfWork, name: str) -> SyncState:
    """The job's row, created on first use (two first runs racing: the loser reads the winner's row)."""
    row = uow.session.get(SyncState, name)
    if row is not None:
        return row
    try:
        with uow.session.begin_nested():
            row = SyncState(name=name, failures=0)
            uow.session.add(row)
    except IntegrityError:
        row = uow.session.get(SyncState, name)
        assert row is not None
    return row


def acquire(uow: UnitOfWork, name: str, now: datetime, ttl: timedelta, *, holder: str, force: bool = False) -> bool:
    """Take the job's lease unless a live run holds it; a run that crashed lets it expire after ttl.

    force takes it over from a run that holds it, for a run killed where it could not give it back.
    """
    get(uow, name)
    uow.flush()
    where = [SyncState.name == name]
    if not force:
        where.append(or_(SyncState.lease_until.is_(None), SyncState.lease_until < now))
    taken = uow.session.execute(
        update(SyncState).where(*where)
        .values(lease_until=now + ttl, lease_since=now, lease_holder=holder[:HOLDER_WIDTH])
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(taken)


def renew(uow: UnitOfWork, name: str, now: datetime, ttl: timedelta, *, holder: str) -> bool:
    """Extend the lease; False when another run has taken it over meanwhile."""
    return bool(uow.session.execute(
        update(SyncState).where(SyncState.name == name, SyncState.lease_holder == holder[:HOLDER_WIDTH])
        .values(lease_until=now + ttl).execution_options(synchronize_session=False)
    ).rowcount)  # type: ignore[attr-defined]


def release(uow: UnitOfWork, name: str, *, holder: str) -> None:
    """Give the lease back, unless another run has taken it over (then it is that run's to give back)."""
    uow.session.execute(
        update(SyncState).where(SyncState.name == name, SyncState.lease_holder == holder[:HOLDER_WIDTH])
        .values(lease_until=None, lease_since=None, lease_holder=None)
        .execution_options(synchronize_session=False))


def record_ok(uow: UnitOfWork, name: str, now: datetime, message: str) -> SyncState:
    row = get(uow, name)
    row.last_run_at = row.last_ok_at = now
    row.last_ok = True
    row.last_message = message
    row.failures = 0
    row.retry_at = None
    return row


def record_failure(uow: UnitOfWork, name: str, now: datetime, reason: str) -> SyncState:
    row = get(uow, name)
    row.last_run_at = now
    row.last_ok = False
    row.last_message = reason
    row.failures = (row.failures or 0) + 1
    row.retry_at = now + backoff(row.failures)
    return row
