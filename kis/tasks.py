"""The KIS jobs as task bodies, shared by Celery (factorybot/worker.py) and the in-process queue (bot/tasks.py).

Thin: arguments are plain values; the jobs record, alert and report their own failures, so nothing here
retries (the push's backoff lives in sync_state, where the scheduled run can see it).
"""

from __future__ import annotations

import logging
from datetime import datetime

from factorybot.runtime import Runtime
from kis.config import KisConfig
from kis.jobs import KisJobs, run_pull, run_push

log = logging.getLogger(__name__)


def jobs_for(runtime: Runtime) -> KisJobs:
    return KisJobs(runtime.session_factory, KisConfig.from_settings(runtime.settings), runtime.alert_policy)


def pull(jobs: KisJobs | None, *, requested_by: str | None = None, since: str | None = None,
         full: bool = False) -> None:
    """full: the nightly reconcile of every open order (KIS_RECONCILE_SCHEDULE)."""
    if jobs is None:
        log.warning("kis.pull queued in a process without KIS settings; ignored")
        return
    run_pull(jobs, since=datetime.fromisoformat(since) if since else None, requested_by=requested_by, full=full)


def push(jobs: KisJobs | None, *, requested_by: str | None = None, scheduled: bool = True) -> None:
    if jobs is None:
        log.warning("kis.push queued in a process without KIS settings; ignored")
        return
    run_push(jobs, scheduled=scheduled, requested_by=requested_by)
