"""The Celery app factory, with no environment reading (worker.py is the entry point that does that)."""

from __future__ import annotations

from celery import Celery

from factorybot.config import Settings
from factorybot.schedule import beat_schedule, build_schedule


def make_celery(settings: Settings) -> Celery:
    app = Celery("factorybot", broker=settings.redis_url, backend=None)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_default_queue="factorybot",
    )
    # The one schedule (factorybot/schedule.py); beat reads its crontabs in the plant's time zone.
    app.conf.timezone = settings.plant_tz
    app.conf.beat_schedule = beat_schedule(build_schedule(settings))
    return app
