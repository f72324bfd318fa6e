"""Celery beat runs the pull nightly at 02:00 plant time and the push every few minutes, only with KIS set."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.tasks_registry import Scheduler
from factorybot.celery_app import make_celery
from factorybot.config import ConfigError, Settings
from factorybot.schedule import build_schedule

KIS = "Driver=SQLite3;Database=/nonexistent/kis.db"
TZ = ZoneInfo("Asia/Shanghai")


def test_beat_schedules_the_kis_jobs_in_plant_time():
    app = make_celery(Settings(redis_url="redis://127.0.0.1:6379/15", kis_odbc=KIS))
    pull = app.conf.beat_schedule["kis-pull"]
    assert pull["task"] == "kis.pull"
    assert (pull["schedule"].hour, pull["schedule"].minute) == ({2}, {0})
    assert app.conf.timezone == "Asia/Shanghai"
    assert app.conf.beat_schedule["kis-push"] == {"task": "kis.push", "schedule": 300.0}


def test_the_schedule_is_configurable_and_absent_without_kis():
    app = make_celery(Settings(redis_url="redis://127.0.0.1:6379/15", kis_odbc=KIS, kis_pull_schedule="30 1 * * 1-6",
                               kis_push_every_minutes=10))
    cron = app.conf.beat_schedule["kis-pull"]["schedule"]
    assert (cron.hour, cron.minute, cron.day_of_week) == ({1}, {30}, {1, 2, 3, 4, 5, 6})
    assert app.conf.beat_schedule["kis-push"]["schedule"] == 600.0
    bare = make_celery(Settings(redis_url="redis://127.0.0.1:6379/15"))
    assert not {"kis-pull", "kis-push"} & set(bare.conf.beat_schedule)


def test_beat_runs_the_full_reconcile_nightly_and_it_can_be_turned_off():
    app = make_celery(Settings(redis_url="redis://127.0.0.1:6379/15", kis_odbc=KIS))
    reconcile = app.conf.beat_schedule["kis-reconcile"]
    assert (reconcile["task"], reconcile["kwargs"]) == ("kis.pull", {"full": True})
    assert (reconcile["schedule"].hour, reconcile["schedule"].minute) == ({2}, {30})
    off = make_celery(Settings(redis_url="redis://127.0.0.1:6379/15", kis_odbc=KIS, kis_reconcile_schedule="off"))
    assert "kis-reconcile" not in off.conf.beat_schedule and "kis-pull" in off.conf.beat_schedule


def test_without_beat_the_ticker_runs_the_nightly_pull_and_then_the_reconcile():
    watch = _kis_pulls(Settings(kis_odbc=KIS, kis_reconcile_schedule="0 3 * * *"), datetime(2026, 12, 2, 1, 58, tzinfo=TZ))
    assert watch(datetime(2026, 12, 2, 1, 59, tzinfo=TZ)) == []
    assert watch(datetime(2026, 12, 2, 2, 0, 5, tzinfo=TZ)) == [{}]
    assert watch(datetime(2026, 12, 2, 2, 1, tzinfo=TZ)) == []
    assert watch(datetime(2026, 12, 2, 3, 0, 30, tzinfo=TZ)) == [{"full": True}]
    bare = _kis_pulls(Settings(), datetime(2026, 12, 2, 1, 0, tzinfo=TZ))
    assert bare(datetime(2026, 12, 2, 4, 0, tzinfo=TZ)) == []


def _kis_pulls(settings: Settings, started: datetime):  # type: ignore[no-untyped-def]
    """The in-process scheduler over the schedule's kis.pull entries: the arguments of each pull due."""
    scheduler = Scheduler([e for e in build_schedule(settings) if e.task == "kis.pull"], TZ, started)
    return lambda now: [dict(e.kwargs) for e in scheduler.due(now)]


def test_a_malformed_reconcile_schedule_stops_start_up_naming_the_setting():
    with pytest.raises(ConfigError, match="KIS_RECONCILE_SCHEDULE"):
        Settings.from_env(kis_reconcile_schedule="nightly")
