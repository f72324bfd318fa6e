"""A pull or a push as one run: lease, KIS I/O outside any local transaction, local changes in short
transactions, and the outcome recorded (sync_state), alerted on failure and told to whoever asked.

Exactly once, step by step, for the push: (1) completions are queued in kis_outbox under their source key;
(2) a batch is inserted into the staging table in one KIS transaction, skipping keys already there;
(3) the batch is marked sent locally. A crash between (2) and (3) leaves the rows pending; the next run finds
their keys in the staging table in step (2) and only records them. FSourceKey being the staging table's
primary key makes a duplicate impossible even for two runs racing past the lease.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerts.policy import AlertPolicy
from domain.models import Notice
from domain.uow import UnitOfWork
from kis import alerting, pull, push, texts
from kis import state as sync_state
from kis.config import KisConfig
from kis.errors import KisError, KisNotConfigured
from kis.gateway import KisLink, open_kis
from kis.mapping import KisSnapshot
from kis.pull import PullResult
from kis.push import PushResult

log = logging.getLogger(__name__)

PULL_LEASE = timedelta(minutes=30)
PUSH_LEASE = timedelta(minutes=10)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class KisJobs:
    session_factory: sessionmaker[Session]
    config: KisConfig
    alert_policy: AlertPolicy
    clock: Callable[[], datetime] = _utcnow
    open_link: Callable[[KisConfig], AbstractContextManager[KisLink]] = field(default=open_kis)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def current_config(self) -> KisConfig:
        """The config on the plant calendar of this moment: the alert policy's book, when it has one (the
        runtime's), is asked at every run, so a calendar stored with `factorybot calendar set` reaches a
        running worker within CALENDAR_REFRESH_SECONDS, as it reaches the other policies."""
        if self.alert_policy.book is None:
            return self.config
        return self.config.on_calendar(self.alert_policy.plant)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str
    skipped: bool = False
    pull: PullResult | None = None
    push: PushResult | None = None


def _tell(uow: UnitOfWork, userid: str | None, text: str, now: datetime) -> None:
    # Written with the outcome; the running bot sends it (alerts.outbox), so the reply survives a WeCom outage.
    if userid:
        uow.session.add(Notice(userids=userid, text=text, created_at=now))


def holder_name(who: str) -> str:
    """Who holds a lease, as `kis status` shows it: what started the run, and the process it runs in."""
    return f"{who}，{socket.gethostname()} 进程 {os.getpid()}"


def _holder(holder: str | None, requested_by: str | None) -> str:
    return holder or holder_name(f"聊天 {requested_by}" if requested_by else "定时任务")


def _release(jobs: KisJobs, name: str, holder: str) -> None:
    with jobs.uow() as uow:
        sync_state.release(uow, name, holder=holder)
        uow.commit()


def _not_configured(jobs: KisJobs, userid: str | None) -> Outcome | None:
    if jobs.config.odbc:
        return None
    text = KisNotConfigured().message
    if userid:
        with jobs.uow() as uow:
            _tell(uow, userid, text, jobs.clock())
            uow.commit()
    return Outcome(False, text)


def _busy(jobs: KisJobs, uow: UnitOfWork, name: str, label: str, userid: str | None, now: datetime) -> Outcome:
    row = sync_state.get(uow, name)
    since = f"，{row.lease_since.astimezone(jobs.config.tz):%m-%d %H:%M} 起" if row.lease_since else ""
    text = f"另一次 KIS {label}正在进行（{row.lease_holder or '未记录由谁运行'}{since}），本次跳过。"
    _tell(uow, userid, text, now)
    uow.commit()
    log.info("%s skipped: another run holds the lease", name)
    return Outcome(False, text, skipped=True)


# --- the pull ------------------------------------------------------------------------------------------------


def run_pull(
    jobs: KisJobs, *, since: datetime | None = None, requested_by: str | None = None,
    on_snapshot: Callable[[KisSnapshot], None] | None = None, progress: Callable[[int], None] | None = None,
    holder: str | None = None, force: bool = False, full: bool = False,
) -> Outcome:
    """since: KIS-local lower bound of FCheckDate (default: the watermark minus the lookback).

    full: the reconcile. Every approved open order and every held one is read again whatever its dates, so a
    change KIS stamped with no date (or one older than the lookback) is still seen; the watermark only rises.

    holder names the run in the lease (see holder_name); force takes the lease over from a run that holds it.
    """
    if (refused := _not_configured(jobs, requested_by)) is not None:
        return refused
    now = jobs.clock()
    config = jobs.current_config()
    holder = _holder(holder, requested_by)
    with jobs.uow() as uow:
        if not sync_state.acquire(uow, sync_state.PULL, now, PULL_LEASE, holder=holder, force=force):
            return _busy(jobs, uow, sync_state.PULL, "订单同步", requested_by, now)
        bound = None if full else pull.since_for(uow, config, since)
        held = pull.held(uow, full=full)
        uow.commit()
    try:
        with jobs.open_link(jobs.config) as kis:
            snap = kis.read_snapshot(since=bound, held=held)
        if on_snapshot is not None:
            on_snapshot(snap)
        with jobs.uow() as uow:
            result = pull.apply_snapshot(uow, snap, held=held, config=config, now=now, progress=progress)
            result.reconcile = full
            text = texts.pull_text(result, config.tz)
            sync_state.record_ok(uow, sync_state.PULL, now, texts.pull_line(result))
            alerting.sync_recorded(uow, jobs.alert_policy, now)
            _tell(uow, requested_by, text, now)
            uow.commit()
        log.info("kis pull done: %s", texts.pull_line(result))
        return Outcome(True, text, pull=result)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, alerted and reported, never half-applied
        _reraise_interrupt(exc)
        reason = _reason(exc)
        with jobs.uow() as uow:
            sync_state.record_failure(uow, sync_state.PULL, now, reason)
            alerting.sync_recorded(uow, jobs.alert_policy, now)
            text = texts.pull_failed_text(reason)
            _tell(uow, requested_by, text, now)
            uow.commit()
        return Outcome(False, text)
    finally:
        _release(jobs, sync_state.PULL, holder)


def _reraise_interrupt(exc: BaseException) -> None:
    """Ctrl-C or SIGTERM (see kis.cli) landing inside a C call comes out as that call's SystemError: it is
    still a stop, not a failure to record and alert on."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            raise KeyboardInterrupt from exc
        seen = seen.__cause__ or seen.__context__


def _reason(exc: Exception) -> str:
    if isinstance(exc, KisError):
        log.error("kis job failed: %s", exc.message)
        return exc.message
    log.exception("kis job failed unexpectedly")
    return f"内部错误：{type(exc).__name__}: {exc}"[:300]


# --- the push ------------------------------------------------------------------------------------------------


def run_push(
    jobs: KisJobs, *, scheduled: bool = False, requested_by: str | None = None,
    after_kis_commit: Callable[[list[str]], None] | None = None,
    on_pending: Callable[[int], None] | None = None, progress: Callable[[int], None] | None = None,
    holder: str | None = None, force: bool = False,
) -> Outcome:
    """scheduled: a periodic run, which waits out the backoff after failures; a person's run does not.

    after_kis_commit runs right after each batch is committed in KIS and before it is recorded locally.
    holder and force: as for run_pull.
    """
    if (refused := _not_configured(jobs, requested_by)) is not None:
        return refused
    now = jobs.clock()
    config = jobs.current_config()
    tz = config.tz
    # Only finished production days are written: the calendar date on a one-shift plant (a day is written
    # after its midnight), on two 12-hour shifts the day that began at 08:00 (00:30 is still its night shift).
    today = config.production_day(now)
    holder = _holder(holder, requested_by)
    with jobs.uow() as uow:
        if not sync_state.acquire(uow, sync_state.PUSH, now, PUSH_LEASE, holder=holder, force=force):
            return _busy(jobs, uow, sync_state.PUSH, "完工回写", requested_by, now)
        row = sync_state.get(uow, sync_state.PUSH)
        if scheduled and row.retry_at is not None and row.retry_at > now:
            sync_state.release(uow, sync_state.PUSH, holder=holder)
            uow.commit()
            return Outcome(False, f"KIS 完工回写等待重试（{row.retry_at.astimezone(tz):%H:%M} 后）。", skipped=True)
        uow.commit()
    result = PushResult()
    batch_id = f"FB{now.astimezone(tz):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        with jobs.uow() as uow:
            result.collected = push.collect(uow, config=config, today=today, now=now)
            uow.commit()
        with jobs.uow() as uow:
            if on_pending is not None:
                on_pending(push.pending_count(uow))
        with jobs.open_link(jobs.config) as kis:
            _send(jobs, kis, result, batch_id=batch_id, now=now, holder=holder, after_kis_commit=after_kis_commit,
                  progress=progress)
            with jobs.uow() as uow:
                sent, rejected = push.readback_keys(uow, today=today)
            statuses = kis.read_staging(sent + rejected)
        with jobs.uow() as uow:
            result.readback = push.apply_readback(uow, sent, rejected, statuses)
            if result.readback.rejected:
                alerting.raise_rejections(uow, jobs.alert_policy, count=result.readback.rejected,
                                          examples=result.readback.rejections, now=now)
            text = texts.push_text(result)
            sync_state.record_ok(uow, sync_state.PUSH, now, texts.push_line(result))
            alerting.sync_recorded(uow, jobs.alert_policy, now)
            _tell(uow, requested_by, text, now)
            uow.commit()
        log.info("kis push done: %s", texts.push_line(result))
        return Outcome(True, text, push=result)
    except Exception as exc:  # noqa: BLE001 - rows stay pending; the next run (after backoff) catches up
        _reraise_interrupt(exc)
        reason = _reason(exc)
        with jobs.uow() as uow:
            row = sync_state.record_failure(uow, sync_state.PUSH, now, reason)
            alerting.sync_recorded(uow, jobs.alert_policy, now)
            result.pending_left = push.pending_count(uow)
            text = texts.push_failed_text(reason, result.pending_left, row.retry_at, tz)
            _tell(uow, requested_by, text, now)
            uow.commit()
        return Outcome(False, text, push=result)
    finally:
        _release(jobs, sync_state.PUSH, holder)


def _send(jobs: KisJobs, kis: KisLink, result: PushResult, *, batch_id: str, now: datetime, holder: str,
          after_kis_commit: Callable[[list[str]], None] | None, progress: Callable[[int], None] | None) -> None:
    after_id = 0
    while True:
        with jobs.uow() as uow:
            batch = push.pending_batch(uow, config=jobs.config, batch_id=batch_id, limit=jobs.config.push_batch,
                                       now=now, after_id=after_id)
        if not batch:
            return
        ids = [p.outbox_id for p in batch]
        after_id = ids[-1]  # never the same rows twice in one run, whatever happened to them
        try:
            written = kis.write_staging([p.row for p in batch], after_commit=after_kis_commit)
        except KisError as exc:
            with jobs.uow() as uow:
                push.mark_failed(uow, ids, error=exc.message)
                uow.commit()
            raise
        with jobs.uow() as uow:
            push.mark_sent(uow, ids, batch_id=batch_id, now=now)
            kept = sync_state.renew(uow, sync_state.PUSH, jobs.clock(), PUSH_LEASE, holder=holder)
            uow.commit()
        result.written += written.inserted
        result.already_there += written.already_there
        result.batches += 1
        if not kept:  # taken over (--force) by a run that thought this one dead: leave the rest to it
            raise KisError("另一次完工回写接管了本次运行（--force），本次在写完当前批次后停止。")
        if progress is not None:
            progress(len(batch))

