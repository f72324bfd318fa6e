"""Celery beat runs the pull nightly at 02:00 plant time and the push every few minutes, only with KIS set."""

from __future__ import annotations

from factorybot.celery_app import make_celery
from factorybot.config import Settings

KIS = "Driver=SQLite3;Database=/nonexistent/kis.db"


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
