"""When the scheduled reports go out: cron strings in plant time, for Celery beat and for the in-process ticker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.tasks_registry import Scheduler
from factorybot.celery_app import make_celery
from factorybot.config import ConfigError, Settings
from factorybot.schedule import build_schedule
from reports.schedule import DAILY_JOB, MONTHLY_JOB, Cron, ScheduleError, build_report_policy

TZ = ZoneInfo("Asia/Shanghai")


def plant(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def test_the_defaults_are_the_first_at_eight_and_the_shift_start() -> None:
    policy = build_report_policy(Settings(shift_hours="07:30-19:30"))
    assert policy.monthly is not None and policy.monthly.matches(plant(2026, 12, 1, 8, 0))
    assert not policy.monthly.matches(plant(2026, 12, 2, 8, 0))
    assert policy.daily is not None and policy.daily.text == "30 7 * * *"
    assert policy.monthly_to == ("executive",) and policy.daily_to == ("supervisor", "ops_manager")
    assert policy.board_url == "http://127.0.0.1:8000/board"


def test_schedules_can_be_changed_or_switched_off() -> None:
    policy = build_report_policy(Settings(report_monthly_schedule="30 9 2 * *", report_daily_schedule="off",
                                          report_daily_to="ops_manager"))
    assert policy.monthly is not None and policy.monthly.matches(plant(2026, 12, 2, 9, 30))
    assert policy.daily is None and policy.daily_to == ("ops_manager",)
    weekdays = Cron.parse("0 8 * * 1-6", "X")
    assert weekdays.matches(plant(2026, 11, 28, 8, 0)) and not weekdays.matches(plant(2026, 11, 29, 8, 0))  # Sat, Sun


@pytest.mark.parametrize(("settings", "message"), [
    ({"report_monthly_schedule": "0 8 1 *"}, "REPORT_MONTHLY_SCHEDULE: '0 8 1 *' is not a five-field cron"),
    ({"report_daily_schedule": "0 25 * * *"}, "REPORT_DAILY_SCHEDULE: '0 25 * * *'"),
    ({"report_monthly_to": "executive,boss"}, "REPORT_MONTHLY_TO: unknown role(s) ['boss']"),
])
def test_a_bad_setting_stops_start_up_naming_it(settings, message) -> None:
    with pytest.raises(ConfigError) as err:
        build_report_policy(Settings(**settings))
    assert message in str(err.value)


def test_catching_up_finds_a_minute_missed_but_not_hours_of_downtime() -> None:
    cron = Cron.parse("0 8 * * *", "X")
    assert cron.due_since(plant(2026, 11, 25, 7, 59, 58), plant(2026, 11, 25, 8, 1, 3), TZ) == plant(2026, 11, 25, 8, 0)
    assert cron.due_since(plant(2026, 11, 25, 8, 0, 0), plant(2026, 11, 25, 8, 1), TZ) is None  # already seen
    assert cron.due_since(plant(2026, 11, 25, 6, 0), plant(2026, 11, 25, 11, 0), TZ) is None  # 3 h late: skipped
    with pytest.raises(ScheduleError):
        Cron.parse("every morning", "X")


def test_the_ticker_runs_each_report_once_when_it_comes_due() -> None:
    watch = _report_scheduler(plant(2026, 12, 1, 7, 0))
    seen = []
    moment = plant(2026, 12, 1, 7, 58)
    while moment < plant(2026, 12, 1, 8, 3):
        seen += [(moment.strftime("%H:%M:%S"), entry.task) for entry in watch.due(moment)]
        moment += timedelta(seconds=5)
    assert [job for _, job in seen] == [MONTHLY_JOB, DAILY_JOB]
    assert {t for t, _ in seen} == {"08:00:00"}


def test_a_ticker_started_just_after_eight_still_sends_the_eight_oclock_reports() -> None:
    watch = _report_scheduler(plant(2026, 12, 1, 8, 10))
    assert [entry.task for entry in watch.due(plant(2026, 12, 1, 8, 10))] == [MONTHLY_JOB, DAILY_JOB]


def _report_scheduler(started: datetime) -> Scheduler:
    """The in-process scheduler over the schedule's report entries (the same ones beat gets)."""
    entries = [e for e in build_schedule(Settings()) if e.task in (MONTHLY_JOB, DAILY_JOB)]
    return Scheduler(entries, TZ, started)


def test_celery_beat_reads_the_crons_in_plant_time() -> None:
    app = make_celery(Settings(redis_url="redis://127.0.0.1:6379/0", report_daily_schedule="0 7 * * *"))
    assert app.conf.timezone == "Asia/Shanghai"
    monthly = app.conf.beat_schedule[MONTHLY_JOB]
    assert monthly["task"] == MONTHLY_JOB
    assert monthly["schedule"].hour == {8} and monthly["schedule"].day_of_month == {1}
    assert app.conf.beat_schedule[DAILY_JOB]["schedule"].hour == {7}
    # Beat computes the next run in the app's zone: from 23:00 UTC on 11-30 (07:00 on 12-01 in the plant), one hour.
    last = datetime(2026, 11, 30, 22, 59, tzinfo=UTC)
    remaining = monthly["schedule"].remaining_delta(last)
    next_run = remaining[0] + remaining[1]
    assert next_run.astimezone(TZ) == plant(2026, 12, 1, 8, 0)
    off = make_celery(Settings(redis_url="redis://127.0.0.1:6379/0", report_monthly_schedule="off"))
    assert MONTHLY_JOB not in off.conf.beat_schedule
