"""Without Redis there is no Celery beat: a daemon thread in the web process runs the same periodic tasks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
DELIVER_SECONDS = 5.0


def start_ticker(tick: Callable[[], None], deliver: Callable[[], None],
                 reports: Callable[[], None] | None = None,
                 kis: Callable[[], None] | None = None,
                 others: Sequence[Callable[[], None]] = ()) -> threading.Thread:
    """`reports`, `kis` and each of `others` run every round; each is cheap unless its schedule came due."""
    def loop() -> None:
        last_tick = 0.0
        while True:
            now = time.monotonic()
            try:
                if now - last_tick >= TICK_SECONDS:
                    last_tick = now
                    tick()
                else:
                    deliver()
            except Exception:  # a bad round must not stop the next one
                log.exception("periodic alert round failed")
            if reports is not None:
                try:
                    reports()  # cheap unless a scheduled report is due: it only compares the clock
                except Exception:
                    log.exception("scheduled report failed")
            if kis is not None:
                try:
                    kis()  # the nightly KIS pull and reconcile, when one is due; each run records its own failure
                except Exception:
                    log.exception("scheduled KIS pull failed")
            for job in others:
                try:
                    job()
                except Exception:  # one failing schedule must not stop the others
                    log.exception("scheduled job failed")
            time.sleep(DELIVER_SECONDS)

    thread = threading.Thread(target=loop, name="factorybot-ticker", daemon=True)
    thread.start()
    return thread
