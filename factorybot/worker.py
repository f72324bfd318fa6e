"""Celery: the registered tasks (domain/tasks_registry.py), on Redis. `celery -A factorybot.worker worker`.

Every Celery task is built here in one loop from the registry, with the task's own retry policy as Celery's
autoretry options (`autoretry_for=(TransientError,)`, `retry_backoff`, `retry_jitter`, `max_retries`): the
same formula the in-process queue applies. WeCom's Throttled is retried after its retry_after instead.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.signals import worker_init

from bot.app import build_deps
from bot.log_masking import secret_values
from bot.observability import configure_logging, request_id
from bot.queue import CeleryQueue
from bot.task_runtime import check_tasks, task_deps_for
from domain.tasks_registry import REGISTRY, RetryPolicy, TaskSpec, UnknownTaskError
from factorybot.celery_app import make_celery
from factorybot.config import ConfigError, Settings
from factorybot.runtime import build_alert_policy, build_policy
from wecom.crypto import WeComCrypto
from wecom.errors import Throttled, TransientError

log = logging.getLogger(__name__)


class BaseTask(Task):
    acks_late = True
    soft_time_limit = 120


_deps: Any = None


def task_deps() -> Any:
    """Built once per worker process, on first use (never at import: no engine before the fork)."""
    global _deps
    if _deps is None:
        deps = build_deps(settings, queue=CeleryQueue(celery))
        _deps = task_deps_for(deps.settings, deps.runtime, deps.core, deps.client)
    return _deps


def _retrying(task: Task, fn: Any, **kwargs: Any) -> None:
    """Run a registered function under the request id of the callback that queued it. A TransientError is
    left to Celery's autoretry (backoff with jitter); Throttled is retried when WeCom said to come back."""
    rid = getattr(task.request, "request_id", None) or (getattr(task.request, "headers", None) or {}).get("request_id")
    request_id.set(rid or f"task-{(task.request.id or '')[:8]}")
    try:
        fn(task_deps(), **kwargs)
    except Throttled as exc:
        raise task.retry(exc=exc, countdown=RetryPolicy.throttled(exc.retry_after)) from exc


def celery_task(spec: TaskSpec) -> Task:
    def run(self: Task, **kwargs: Any) -> None:
        _retrying(self, REGISTRY[spec.name].fn, **kwargs)  # looked up per run: tests stand a function in

    run.__name__ = run.__qualname__ = spec.name.replace(".", "_")
    policy = spec.retry
    return celery.task(name=spec.name, bind=True, base=BaseTask, soft_time_limit=spec.soft_time_limit,
                       autoretry_for=(TransientError,) if policy.max_retries else (),
                       max_retries=policy.max_retries, retry_backoff=policy.backoff,
                       retry_backoff_max=policy.backoff_max, retry_jitter=policy.jitter)(run)


# A malformed setting, or a task name nobody registered, ends the process with the message naming it, not
# a traceback from the import.
try:
    settings = Settings.from_env()
    celery = make_celery(settings)  # parses the report crontabs and roles for the beat schedule
    check_tasks(settings)
except (ConfigError, UnknownTaskError) as exc:
    raise SystemExit(str(exc)) from exc
configure_logging(settings.log_level, settings.log_format, mask_values=secret_values(settings))
tasks: dict[str, Task] = {spec.name: celery_task(spec) for spec in REGISTRY}


@worker_init.connect
def check_start_up(**_: Any) -> None:
    """A worker runs WeCom tasks: without the secrets it must refuse to start, not fail on its first task.

    Celery logs and swallows an Exception raised by a signal handler, so this exits with SystemExit.
    """
    try:
        settings.require_wecom()
        assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
        WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        build_policy(settings)
        build_alert_policy(settings)
    except (ConfigError, ValueError) as exc:
        raise SystemExit(str(exc)) from exc
