"""Celery: the same task functions as the in-process queue, on Redis. `celery -A factorybot.worker worker`."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.signals import worker_init

from bot.log_masking import secret_values
from bot.observability import configure_logging
from factorybot.celery_app import make_celery
from factorybot.config import ConfigError, Settings
from wecom.errors import Throttled, TransientError

log = logging.getLogger(__name__)


class BaseTask(Task):  # type: ignore[misc]
    acks_late = True
    max_retries = 5
    soft_time_limit = 120


_deps: Any = None


def task_deps() -> Any:
    """Built once per worker process, on first use (never at import: no engine before the fork)."""
    global _deps
    if _deps is None:
        from bot.app import build_deps
        from bot.queue import TaskQueue
        from bot.tasks import TaskDeps
        from bot.undelivered import build_digest_policy
        from reports.schedule import build_report_policy

        class _CeleryQueue:
            def enqueue(self, name: str, **kwargs: Any) -> None:
                from bot.observability import request_id

                celery.send_task(name, kwargs=kwargs, headers={"request_id": request_id.get()})

        queue: TaskQueue = _CeleryQueue()
        deps = build_deps(settings, queue=queue)
        _deps = TaskDeps(deps.core, deps.client, deps.runtime.alert_policy, build_report_policy(deps.settings),
                         digest=build_digest_policy(deps.settings))
    return _deps


def _retrying(task: Task, fn: Any, **kwargs: Any) -> None:
    from bot.observability import request_id

    rid = getattr(task.request, "request_id", None) or (getattr(task.request, "headers", None) or {}).get("request_id")
    request_id.set(rid or f"task-{(task.request.id or '')[:8]}")
    try:
        fn(task_deps(), **kwargs)
    except Throttled as exc:
        raise task.retry(exc=exc, countdown=max(1, int(exc.retry_after) + 1)) from exc
    except TransientError as exc:
        raise task.retry(exc=exc, countdown=2 ** min(task.request.retries, 6)) from exc


# A malformed setting ends the process with the message naming it, not a traceback from the import.
try:
    settings = Settings.from_env()
    celery = make_celery(settings)  # parses the report crontabs and roles for the beat schedule
except ConfigError as exc:
    raise SystemExit(str(exc)) from exc
configure_logging(settings.log_level, settings.log_format, mask_values=secret_values(settings))


@worker_init.connect
def check_start_up(**_: Any) -> None:
    """A worker runs WeCom tasks: without the secrets it must refuse to start, not fail on its first task.

    Celery logs and swallows an Exception raised by a signal handler, so this exits with SystemExit.
    """
    from factorybot.runtime import build_alert_policy, build_policy
    from wecom.crypto import WeComCrypto

    try:
        settings.require_wecom()
        assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
        WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        build_policy(settings)
        build_alert_policy(settings)
    except (ConfigError, ValueError) as exc:
        raise SystemExit(str(exc)) from exc


@celery.task(name="bot.run_deferred", bind=True, base=BaseTask)
def run_deferred_task(self: Task, route_name: str, inbound: dict[str, Any], key: str,
                      event_id: int | None = None) -> None:
    from bot.tasks import run_deferred

    _retrying(self, run_deferred, route_name=route_name, inbound=inbound, key=key, event_id=event_id)


@celery.task(name="bot.send", bind=True, base=BaseTask)
def send_task(self: Task, userids: list[str], text: str | None = None, card: dict[str, Any] | None = None) -> None:
    from bot.tasks import send

    _retrying(self, send, userids=userids, text=text, card=card)


@celery.task(name="alerts.tick", bind=True, base=BaseTask)
def alerts_tick_task(self: Task) -> None:
    from bot.tasks import alerts_tick

    _retrying(self, lambda deps: alerts_tick(deps))


@celery.task(name="alerts.deliver", bind=True, base=BaseTask)
def alerts_deliver_task(self: Task) -> None:
    from bot.tasks import alerts_deliver

    _retrying(self, lambda deps: alerts_deliver(deps))


@celery.task(name="alerts.update_cards", bind=True, base=BaseTask)
def alerts_update_cards_task(self: Task, alert_id: int, tapped_task_id: str, response_code: str) -> None:
    from bot.tasks import alerts_update_cards

    _retrying(self, alerts_update_cards, alert_id=alert_id, tapped_task_id=tapped_task_id,
              response_code=response_code)


@celery.task(name="reports.send_monthly", bind=True, base=BaseTask, soft_time_limit=600)
def reports_send_monthly_task(self: Task, userids: list[str], month: str, as_of: str, file_format: str = "pdf") -> None:
    from bot.tasks import reports_send_monthly

    _retrying(self, reports_send_monthly, userids=userids, month=month, as_of=as_of, file_format=file_format)


@celery.task(name="reports.monthly", bind=True, base=BaseTask, soft_time_limit=600)
def reports_monthly_task(self: Task) -> None:
    from bot.tasks import reports_monthly

    _retrying(self, lambda deps: reports_monthly(deps))


@celery.task(name="reports.daily_summary", bind=True, base=BaseTask)
def reports_daily_summary_task(self: Task) -> None:
    from bot.tasks import reports_daily_summary

    _retrying(self, lambda deps: reports_daily_summary(deps))


@celery.task(name="wecom.undelivered_digest", bind=True, base=BaseTask)
def undelivered_digest_task(self: Task) -> None:
    from bot.tasks import undelivered_digest

    _retrying(self, lambda deps: undelivered_digest(deps))


_kis_jobs: Any = None


def kis_jobs() -> Any:
    """This process's KIS jobs, built on first use; they need the database and KIS, not WeCom."""
    global _kis_jobs
    if _kis_jobs is None:
        from factorybot.runtime import Runtime
        from kis.tasks import jobs_for

        _kis_jobs = jobs_for(Runtime.build(settings))
    return _kis_jobs


@celery.task(name="kis.pull", base=BaseTask, soft_time_limit=1800)
def kis_pull_task(requested_by: str | None = None, since: str | None = None, full: bool = False) -> None:
    from kis.tasks import pull

    pull(kis_jobs(), requested_by=requested_by, since=since, full=full)


@celery.task(name="kis.push", base=BaseTask, soft_time_limit=900)
def kis_push_task(requested_by: str | None = None, scheduled: bool = True) -> None:
    from kis.tasks import push

    push(kis_jobs(), requested_by=requested_by, scheduled=scheduled)
