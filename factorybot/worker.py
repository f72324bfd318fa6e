"""Celery: the same task functions as the in-process queue, on Redis. `celery -A factorybot.worker worker`."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from bot.wecom.errors import Throttled, TransientError
from factorybot.celery_app import make_celery
from factorybot.config import Settings

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

        class _CeleryQueue:
            def enqueue(self, name: str, **kwargs: Any) -> None:
                celery.send_task(name, kwargs=kwargs)

        queue: TaskQueue = _CeleryQueue()
        deps = build_deps(Settings.from_env(), queue=queue)
        _deps = TaskDeps(deps.core, deps.client, deps.runtime.alert_policy)
    return _deps


def _retrying(task: Task, fn: Any, **kwargs: Any) -> None:
    try:
        fn(task_deps(), **kwargs)
    except Throttled as exc:
        raise task.retry(exc=exc, countdown=max(1, int(exc.retry_after) + 1)) from exc
    except TransientError as exc:
        raise task.retry(exc=exc, countdown=2 ** min(task.request.retries, 6)) from exc


celery = make_celery(Settings.from_env())


@celery.task(name="bot.run_deferred", bind=True, base=BaseTask)
def run_deferred_task(self: Task, route_name: str, inbound: dict[str, Any], key: str) -> None:
    from bot.tasks import run_deferred

    _retrying(self, run_deferred, route_name=route_name, inbound=inbound, key=key)


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
