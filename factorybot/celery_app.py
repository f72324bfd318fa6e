"""The Celery app factory, with no environment reading (worker.py is the entry point that does that)."""

from __future__ import annotations

from celery import Celery

from bot.undelivered import DIGEST_JOB, build_digest_policy
from factorybot.config import Settings
from reports.schedule import DAILY_JOB, MONTHLY_JOB, build_report_policy

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
    # Reports: cron entries read in plant time (beat reads crontabs in the app's time zone).
    reports = build_report_policy(settings)
    app.conf.timezone = settings.plant_tz
    for name, cron in ((MONTHLY_JOB, reports.monthly), (DAILY_JOB, reports.daily)):
        if cron is not None:
            app.conf.beat_schedule[name] = {"task": name, "schedule": cron.crontab()}
    # Who could not receive messages: once a day to the administrators (bot/undelivered.py).
    digest = build_digest_policy(settings)
    if digest.cron is not None:
        app.conf.beat_schedule[DIGEST_JOB] = {"task": DIGEST_JOB, "schedule": digest.cron.crontab()}
    if settings.kis_odbc:
        # KIS: the nightly pull on KIS_PULL_SCHEDULE (plant time, like the reports); the push every few
        # minutes, waiting out its own backoff while KIS is down.
        app.conf.beat_schedule["kis-pull"] = {"task": "kis.pull", "schedule": settings.kis_pull_schedule.crontab()}
        # The full reconcile of open orders (KIS_RECONCILE_SCHEDULE), the same task reading everything again.
        if settings.kis_reconcile_schedule is not None:
            app.conf.beat_schedule["kis-reconcile"] = {"task": "kis.pull", "kwargs": {"full": True},
                                                       "schedule": settings.kis_reconcile_schedule.crontab()}
        app.conf.beat_schedule["kis-push"] = {"task": "kis.push", "schedule": settings.kis_push_every_minutes * 60.0}
    return app
