"""Where work leaves the callback: Celery on Redis, or a thread pool in this process when there is no Redis."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol

from bot.observability import request_id
from domain.tasks_registry import DEFAULT_RETRY, RetryPolicy
from wecom.errors import Throttled, TransientError

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

    A task that fails with a TransientError is put back on the pool after its backoff by a timer, never by
    sleeping in a pool thread: one task waiting out WeCom must not hold up anyone else's. The backoff is the
    task's registered RetryPolicy, the one Celery applies (exponential, full jitter, Throttled's retry_after
    honoured). Messages themselves go through the outbox, which keeps retrying them for hours
    (bot/outbox.py); what is retried here is the rest (a file upload, a KIS call). Work queued here is lost
    if the process stops; the README says to configure Redis in production.
    """

    def __init__(self, tasks: Mapping[str, Callable[..., None]], workers: int = 4,
                 retry: Mapping[str, RetryPolicy] | None = None) -> None:
        self.tasks = tasks
        self.retry = retry or {}
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="factorybot-task")

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self._submit(name, kwargs, 0)

    def _submit(self, name: str, kwargs: dict[str, Any], retries: int) -> None:
        fn = self.tasks[name]
        # The pool's thread runs in a copy of this context: same request id in its log lines.
        self.pool.submit(contextvars.copy_context().run, self._run, name, fn, kwargs, retries)

    def _run(self, name: str, fn: Callable[..., None], kwargs: dict[str, Any], retries: int = 0) -> None:
        policy = self.retry.get(name, DEFAULT_RETRY)
        try:
            fn(**kwargs)
        except TransientError as exc:
            if retries >= policy.max_retries:
                log.error("in-process task %s gave up after %d attempts: %s", name, retries + 1, exc)
                return
            delay = policy.throttled(exc.retry_after) if isinstance(exc, Throttled) else policy.countdown(retries)
            log.warning("in-process task %s: %s; retry in %ds", name, exc, delay)
            self.later(delay, partial(contextvars.copy_context().run, self._submit, name, kwargs, retries + 1))
        except Exception:
            log.exception("in-process task %s failed", name)

    @staticmethod
    def later(delay: float, fn: Callable[[], None]) -> None:
        """Run `fn` after `delay` seconds from a timer thread of its own, which only hands it back to the pool."""
        timer = threading.Timer(delay, fn)
        timer.daemon = True
        timer.start()


class RecordingQueue:
    """Keeps what was enqueued; for tests that assert on what the callback handed off."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
