"""gunicorn settings of the web process: `gunicorn -c python:factorybot.gunicorn_conf 'bot:create_app()'`
(the Procfile and bench/ use it).

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics to files in that directory and /metrics
merges them (bot/observability.py). The directory must exist before a worker imports prometheus-client, and
an exited worker's live gauges go with it (mark_process_dead); its counters and histograms stay in the sum,
as prometheus-client intends. The directory is not emptied here: the Celery worker may share it. Empty it
when all of them start (a directory under /run is emptied at boot).

Secrets are masked in every log line, the access log included (bot/log_masking.py).
"""

from __future__ import annotations

import os
from typing import Any

from bot import log_masking

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The master logs before any worker builds the app (at --log-level debug its whole configuration, -e values
# included), and the access log (off unless --access-logfile is given) has gunicorn's own handler, not ours:
# records are masked from here on, by name and by the secrets the environment holds.
log_masking.install(log_masking.env_secret_values(os.environ))


def on_starting(server: Any) -> None:
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, path)
