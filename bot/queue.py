"""Where work leaves the callback: Celery on Redis, or a thread pool in this process when there is no Redis."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from bot.observability import request_id

log = logging.getLogger(__name__)


class TaskQueue(Protocol):
    def enqueue(self, name: str, **kwargs: Any) -> None: ...


class CeleryQueue:
    def __init__(self, celery_app: Any) -> None:
        self.celery = celery_app

    def enqueue(self, name: str, **kwargs: Any) -> None:
        # The request id rides in a message header, so the worker's log lines join the callback's.
        self.celery.send_task(name, kwargs=kwargs, headers={"request_id": request_id.get()})


class InProcessQueue:
    """The zero-install default: the same task functions, run on a small thread pool.

    Work queued here is lost if the process stops; the README says to configure Redis in production.
    """

    def __init__(self, tasks: dict[str, Callable[..., None]], workers: int = 4) -> None:
        self.tasks = tasks
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="factorybot-task")

    def enqueue(self, name: str, **kwargs: Any) -> None:
        fn = self.tasks[name]
        # The pool's thread runs in a copy of this context: same request id in its log lines.
        self.pool.submit(contextvars.copy_context().run, self._run, name, fn, kwargs)

    @staticmethod
    def _run(name: str, fn: Callable[..., None], kwargs: dict[str, Any], attempts: int = 5) -> None:
        from bot.wecom.errors import Throttled, TransientError

        for attempt in range(1, attempts + 1):
            try:
                fn(**kwargs)
                return
            except TransientError as exc:
                if attempt == attempts:
                    log.error("in-process task %s gave up after %d attempts: %s", name, attempts, exc)
                    return
                delay = exc.retry_after + 1 if isinstance(exc, Throttled) else 2**attempt
                log.warning("in-process task %s: %s; retry in %.0fs", name, exc, delay)
                time.sleep(delay)
            except Exception:
                log.exception("in-process task %s failed", name)
                return


class RecordingQueue:
    """Keeps what was enqueued; for tests that assert on what the callback handed off."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
