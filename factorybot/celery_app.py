"""The Celery app factory, with no environment reading (worker.py is the entry point that does that)."""

from __future__ import annotations

from celery import Celery

from factorybot.config import Settings

ALERT_TICK_SECONDS = 120.0
ALERT_DELIVER_SECONDS = 15.0


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
    # Alerts: rules every two minutes (escalation granularity), notices written elsewhere sent within seconds.
    app.conf.beat_schedule = {
        "alerts-tick": {"task": "alerts.tick", "schedule": ALERT_TICK_SECONDS},
        "alerts-deliver": {"task": "alerts.deliver", "schedule": ALERT_DELIVER_SECONDS},
    }
    return app
