"""The one task registry, retry policy and schedule (domain/tasks_registry.py, factorybot/schedule.py):
Celery and the in-process runtime read the same entries, wait alike, and refuse an unknown name at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from celery.utils.time import get_exponential_backoff_interval

import bot.task_runtime as task_runtime
from bot.app import create_app
from bot.queue import InProcessQueue, RecordingQueue
from bot.tasks import task_table
from domain.tasks_registry import DEFAULT_RETRY, REGISTRY, RetryPolicy, ScheduleEntry, UnknownTaskError
from factorybot.celery_app import make_celery
from factorybot.config import Settings
from factorybot.schedule import build_schedule
from tests.bot.conftest import make_settings
from wecom.errors import Throttled, TransientError

KIS = "Driver=SQLite3;Database=/nonexistent/kis.db"
ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    # No API is called at start-up; nothing listens on port 9.
    return make_settings(f"sqlite:///{tmp_path}/bot.db", "http://127.0.0.1:9", **extra)


def test_celery_and_the_in_process_queue_run_the_same_registered_tasks_with_the_same_policy():
    import factorybot.worker as worker

    table = task_table(object())  # type: ignore[arg-type]  # bound, not called
    assert set(worker.tasks) == set(table) == set(REGISTRY.specs)
    assert {"bot.run_deferred", "bot.send", "alerts.tick", "kis.pull", "kis.push", "reports.monthly"} <= set(table)
    for spec in REGISTRY:
        celery_task = worker.tasks[spec.name]
        assert celery_task.name == spec.name and celery_task.soft_time_limit == spec.soft_time_limit
        assert celery_task.max_retries == spec.retry.max_retries
        assert (celery_task.retry_backoff, celery_task.retry_backoff_max, celery_task.retry_jitter) == (
            spec.retry.backoff, spec.retry.backoff_max, spec.retry.jitter)
        assert celery_task.autoretry_for == ((TransientError,) if spec.retry.max_retries else ())


def test_the_in_process_queue_gets_each_tasks_registered_retry_policy(tmp_path, monkeypatch):
    monkeypatch.setattr(task_runtime, "start_scheduler", lambda *args: None)  # no periodic thread left behind
    app = create_app(_settings(tmp_path))
    queue = app.extensions["bot"].queue
    assert isinstance(queue, InProcessQueue)
    assert set(queue.tasks) == set(REGISTRY.specs)
    assert queue.retry == {spec.name: spec.retry for spec in REGISTRY}
    queue.pool.shutdown(wait=False)


@pytest.mark.parametrize("retries", [0, 1, 3, 6, 9])
def test_the_backoff_is_celerys_formula_with_jitter_inside_its_bound(retries):
    policy = DEFAULT_RETRY
    bound = get_exponential_backoff_interval(policy.backoff, retries, policy.backoff_max, full_jitter=False)
    assert policy.bound(retries) == bound == min(64, 2**retries)
    delays = [policy.countdown(retries) for _ in range(200)]
    assert all(0 <= d <= bound for d in delays)
    assert len(set(delays)) > 1  # jitter: two runs do not wait alike
    assert RetryPolicy(jitter=False).countdown(retries) == bound


def test_in_process_retries_are_jittered_and_honour_throttling(monkeypatch):
    """Two runs of the same failing task wait differently, each inside the bound; Throttled waits its
    retry_after instead, as in Celery (factorybot/worker.py)."""
    def delays_of(failure: Exception, times: int) -> list[float]:
        delays: list[float] = []
        monkeypatch.setattr(InProcessQueue, "later", staticmethod(lambda delay, fn: (delays.append(delay), fn())))
        done, runs = threading.Event(), []

        def flaky() -> None:
            runs.append(1)
            if len(runs) <= times:
                raise failure
            done.set()

        queue = InProcessQueue({"t": flaky}, workers=1, retry={"t": RetryPolicy(max_retries=times)})
        queue.enqueue("t")
        assert done.wait(10)
        queue.pool.shutdown(wait=True)
        return delays

    runs = [delays_of(TransientError("HTTP 502"), 6) for _ in range(8)]
    assert all(0 <= d <= 2**n for delays in runs for n, d in enumerate(delays))
    assert len({tuple(d) for d in runs}) > 1
    assert delays_of(Throttled(retry_after=29.5), 2) == [30, 30]


def test_an_enqueued_name_nobody_registered_stops_start_up(tmp_path, monkeypatch):
    monkeypatch.setattr(REGISTRY, "refs", [*REGISTRY.refs])
    REGISTRY.ref("alerts.tik")  # a typo in a caller
    with pytest.raises(UnknownTaskError, match=r"unknown task name.*'alerts.tik' \(.*test_task_registry.py:\d+\)"):
        create_app(_settings(tmp_path), queue=RecordingQueue())


def test_a_schedule_entry_nobody_registered_stops_start_up(tmp_path, monkeypatch):
    real = task_runtime.build_schedule
    monkeypatch.setattr(task_runtime, "build_schedule",
                        lambda settings: [*real(settings), ScheduleEntry("nightly", "reports.nightly", every=60.0)])
    with pytest.raises(UnknownTaskError, match=r"'reports.nightly' \(schedule entry 'nightly'\)"):
        create_app(_settings(tmp_path), queue=RecordingQueue())


def test_the_worker_refuses_to_start_on_a_schedule_entry_nobody_registered(tmp_path):
    script = (
        "import factorybot.schedule as s\n"
        "from domain.tasks_registry import ScheduleEntry\n"
        "real = s.build_schedule\n"
        "s.build_schedule = lambda st: [*real(st), ScheduleEntry('nightly', 'reports.nightly', every=60.0)]\n"
        "import factorybot.worker\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
           "REDIS_URL": "redis://127.0.0.1:9/0"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "unknown task name(s): 'reports.nightly' (schedule entry 'nightly')" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_registered_handle_the_callers_use_passes_the_check():
    import bot.task_refs as refs

    handles = [v for k, v in vars(refs).items() if k.isupper()]
    assert handles and all(h in REGISTRY.specs for h in handles)
    REGISTRY.check(build_schedule(Settings(kis_odbc=KIS)))


@pytest.mark.parametrize("extra", [{}, {"kis_odbc": KIS}, {"kis_odbc": KIS, "kis_reconcile_schedule": "off",
                                                            "report_monthly_schedule": "off",
                                                            "wecom_undelivered_schedule": "off"}])
def test_one_schedule_drives_beat_and_the_in_process_scheduler(tmp_path, monkeypatch, extra):
    settings = _settings(tmp_path, **extra)
    entries = build_schedule(settings)
    beat = make_celery(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})).conf.beat_schedule
    assert list(beat) == [e.key for e in entries]
    assert [(b["task"], b.get("kwargs", {})) for b in beat.values()] == [(e.task, dict(e.kwargs)) for e in entries]
    started: list[Any] = []
    monkeypatch.setattr(task_runtime, "start_scheduler", lambda scheduler, tasks, clock: started.append(
        (scheduler, tasks)))
    app = create_app(settings)  # no Redis: the web process runs the schedule itself
    [(scheduler, tasks)] = started
    assert scheduler.entries == entries and {e.task for e in entries} <= set(tasks)
    app.extensions["bot"].queue.pool.shutdown(wait=False)
