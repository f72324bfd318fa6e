"""Without Redis there is no Celery beat: a daemon thread in the web process runs the same schedule
(factorybot/schedule.py) with domain/tasks_registry.py's Scheduler, calling the registered tasks here."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from domain.tasks_registry import Scheduler

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0  # how often it asks what came due; each entry keeps its own interval or cron


def start_scheduler(scheduler: Scheduler, tasks: Mapping[str, Callable[..., None]],
                    clock: Callable[[], datetime]) -> threading.Thread:
    def loop() -> None:
        while True:
            try:
                scheduler.run_due(clock(), tasks)
            except Exception:  # a bad round must not stop the next one
                log.exception("periodic round failed")
            time.sleep(POLL_SECONDS)

    thread = threading.Thread(target=loop, name="factorybot-ticker", daemon=True)
    thread.start()
    return thread
