"""The one periodic schedule, declared once from Settings: Celery beat reads it where Redis exists
(factorybot/celery_app.py), the in-process scheduler runs the same entries otherwise (bot/ticker.py).

Each entry names a registered task (domain/tasks_registry.py); `REGISTRY.check(schedule)` at start-up
refuses an entry whose task nobody registered. Cron entries are read in plant time.
"""

from __future__ import annotations

from bot.undelivered import DIGEST_JOB, build_digest_policy
from domain.tasks_registry import ScheduleEntry
from factorybot.config import Settings
from reports.schedule import DAILY_JOB, MAX_CATCH_UP, MONTHLY_JOB, build_report_policy

# Alerts: rules every two minutes (escalation granularity), notices written elsewhere sent within seconds.
ALERT_TICK_SECONDS = 120.0
ALERT_DELIVER_SECONDS = 15.0


def build_schedule(settings: Settings) -> list[ScheduleEntry]:
    """Every periodic run this configuration asks for; a schedule set to "off" has no entry. A malformed
    cron stops start-up with a message naming its variable."""
    entries = [
        ScheduleEntry("alerts-tick", "alerts.tick", every=ALERT_TICK_SECONDS),
        ScheduleEntry("alerts-deliver", "alerts.deliver", every=ALERT_DELIVER_SECONDS),
    ]
    # Reports and the undelivered digest: a scheduler started just after their minute still sends them
    # (their own claims keep beat and a restarted process from sending twice).
    reports = build_report_policy(settings)
    for name, cron in ((MONTHLY_JOB, reports.monthly), (DAILY_JOB, reports.daily)):
        if cron is not None:
            entries.append(ScheduleEntry(name, name, cron=cron, catch_up=MAX_CATCH_UP))
    # Who could not receive messages: once a day to the administrators (bot/undelivered.py).
    digest = build_digest_policy(settings)
    if digest.cron is not None:
        entries.append(ScheduleEntry(DIGEST_JOB, DIGEST_JOB, cron=digest.cron, catch_up=MAX_CATCH_UP))
    if settings.kis_odbc:
        # KIS: the nightly pull on KIS_PULL_SCHEDULE, the full reconcile of open orders on
        # KIS_RECONCILE_SCHEDULE (the same task reading everything again), the push every few minutes,
        # waiting out its own backoff while KIS is down.
        # Both crontabs were parsed and checked with the settings; "off" is None.
        entries.append(ScheduleEntry("kis-pull", "kis.pull", cron=settings.kis_pull_schedule))
        if settings.kis_reconcile_schedule is not None:
            entries.append(ScheduleEntry("kis-reconcile", "kis.pull", kwargs={"full": True},
                                         cron=settings.kis_reconcile_schedule))
        entries.append(ScheduleEntry("kis-push", "kis.push", every=settings.kis_push_every_minutes * 60.0))
    return entries


def beat_schedule(entries: list[ScheduleEntry]) -> dict[str, dict[str, object]]:
    """The same entries as Celery beat's `beat_schedule` (crontabs in the app's time zone, the plant's)."""
    out: dict[str, dict[str, object]] = {}
    for e in entries:
        entry: dict[str, object] = {"task": e.task, "schedule": e.cron.crontab() if e.cron is not None else e.every}
        if e.kwargs:
            entry["kwargs"] = dict(e.kwargs)
        out[e.key] = entry
    return out

