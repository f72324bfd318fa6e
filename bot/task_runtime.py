"""Where the web process's tasks run, wired once from Settings: Celery when Redis is configured (with the
in-process queue while its broker is away), else the in-process queue plus the in-process scheduler.

Both read the one registry (domain/tasks_registry.py) and the one schedule (factorybot/schedule.py);
`check_tasks` is the start-up check that every enqueued handle and every schedule entry is registered.
"""

from __future__ import annotations

from bot.breaker import Breaker
from bot.dispatch import BotCore
from bot.queue import CeleryQueue, InProcessQueue, TaskQueue
from bot.queue_fallback import FallbackQueue, bounded_publish
from bot.tasks import TaskDeps, task_table
from bot.ticker import start_scheduler
from bot.undelivered import build_digest_policy
from domain.tasks_registry import REGISTRY, Scheduler
from factorybot.celery_app import make_celery
from factorybot.config import Settings
from factorybot.runtime import Runtime
from factorybot.schedule import build_schedule
from kis.tasks import jobs_for
from reports.schedule import build_report_policy
from wecom.client import WeComClient


def check_tasks(settings: Settings) -> None:
    """Refuse to start when a handle or a schedule entry names a task nobody registered (UnknownTaskError)."""
    REGISTRY.check(build_schedule(settings))


def task_deps_for(settings: Settings, runtime: Runtime, core: BotCore, client: WeComClient) -> TaskDeps:
    """What every task body is handed, the same in the web process and in a Celery worker."""
    return TaskDeps(core, client, runtime.alert_policy, build_report_policy(settings), kis=jobs_for(runtime),
                    digest=build_digest_policy(settings))


def build_queue(settings: Settings, runtime: Runtime, core: BotCore, client: WeComClient, *,
                start_periodic: bool) -> TaskQueue:
    table = task_table(task_deps_for(settings, runtime, core, client))
    retry = {spec.name: spec.retry for spec in REGISTRY}
    if settings.redis_url:
        # Celery's broker is Redis too: while it is down, tasks run here rather than fail the callback.
        return FallbackQueue(CeleryQueue(bounded_publish(make_celery(settings), settings.redis_timeout_seconds)),
                             lambda: InProcessQueue(table, retry=retry),
                             Breaker("Celery's broker (Redis)", "in-process tasks", settings.redis_retry_seconds))
    queue = InProcessQueue(table, retry=retry)
    if start_periodic:
        scheduler = Scheduler(build_schedule(settings), settings.tz, core.clock())
        start_scheduler(scheduler, table, lambda: core.clock())
    return queue
