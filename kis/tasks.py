"""The KIS jobs as registered tasks, run by Celery (factorybot/worker.py) and the in-process queue alike.

Thin: arguments are plain values; the jobs record, alert and report their own failures, so nothing here
retries (NO_RETRY: the push's backoff lives in sync_state, where the scheduled run can see it). What a task
needs arrives in `deps` from the entry point; this package imports neither bot/ nor factorybot/.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from alerts.policy import AlertPolicy
from domain.calendar_book import CalendarBook
from domain.tasks_registry import NO_RETRY, task
from kis.config import KisConfig
from kis.jobs import KisJobs, run_pull, run_push

log = logging.getLogger(__name__)

PULL, PUSH = "kis.pull", "kis.push"


class KisTaskDeps(Protocol):
    """What a KIS task is handed: this process's jobs (None without KIS settings) and a delivery round, so
    the result notice goes out right after, like an alert card."""

    @property
    def kis(self) -> Any: ...

    def deliver(self) -> None: ...


class RuntimeLike(Protocol):
    @property
    def session_factory(self) -> sessionmaker[Session]: ...

    @property
    def settings(self) -> Any: ...

    @property
    def alert_policy(self) -> AlertPolicy: ...

    @property
    def calendar(self) -> CalendarBook: ...


def jobs_for(runtime: RuntimeLike) -> KisJobs:
    """The jobs on the plant's calendar (a stored one wins over the settings' shifts)."""
    config = KisConfig.from_settings(runtime.settings, runtime.calendar.current())
    return KisJobs(runtime.session_factory, config, runtime.alert_policy)


@task(PULL, retry=NO_RETRY, soft_time_limit=1800)
def pull(deps: KisTaskDeps, *, requested_by: str | None = None, since: str | None = None,
         full: bool = False) -> None:
    """full: the nightly reconcile of every open order (KIS_RECONCILE_SCHEDULE)."""
    if deps.kis is None:
        log.warning("kis.pull queued in a process without KIS settings; ignored")
        return
    run_pull(deps.kis, since=datetime.fromisoformat(since) if since else None, requested_by=requested_by, full=full)
    deps.deliver()


@task(PUSH, retry=NO_RETRY, soft_time_limit=900)
def push(deps: KisTaskDeps, *, requested_by: str | None = None, scheduled: bool = True) -> None:
    if deps.kis is None:
        log.warning("kis.push queued in a process without KIS settings; ignored")
        return
    run_push(deps.kis, scheduled=scheduled, requested_by=requested_by)
    deps.deliver()
