"""Tasks while Celery's broker (Redis) is down: run them in this process rather than fail the callback.

Celery retries a publish for a long while by default; bounded_publish makes one attempt with short socket
timeouts, and the breaker (shared with the dedup) skips the broker for a few seconds after it failed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.breaker import Breaker
from bot.queue import TaskQueue

log = logging.getLogger(__name__)


def bounded_publish(celery_app: Any, timeout: float) -> Any:
    """The web process's Celery app: a publish to a dead or stalled Redis fails within about `timeout`."""
    options = dict(celery_app.conf.broker_transport_options or {})
    options.update(socket_timeout=timeout, socket_connect_timeout=timeout, max_retries=0)
    celery_app.conf.update(
        task_publish_retry=False,
        broker_connection_timeout=timeout,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        broker_transport_options=options,
    )
    return celery_app


class FallbackQueue:
    """Celery while its broker answers; otherwise the in-process queue (work lost only if this process dies)."""

    def __init__(self, primary: TaskQueue, make_fallback: Callable[[], TaskQueue], breaker: Breaker) -> None:
        self.primary, self.breaker = primary, breaker
        self._make_fallback = make_fallback
        self._fallback: TaskQueue | None = None
        self._lock = threading.Lock()

    @property
    def fallback(self) -> TaskQueue:
        with self._lock:  # its thread pool only once it is needed
            if self._fallback is None:
                self._fallback = self._make_fallback()
            return self._fallback

    def enqueue(self, name: str, **kwargs: Any) -> None:
        if self.breaker.allow():
            try:
                self.primary.enqueue(name, **kwargs)
            except Exception as exc:  # kombu's OperationalError, redis' errors, a timeout: the broker is away
                self.breaker.failed(exc)  # logged once per outage, by the breaker
                log.debug("task %s runs in this process: the broker is unreachable", name)
            else:
                self.breaker.succeeded()
                return
        self.fallback.enqueue(name, **kwargs)
