"""A circuit breaker for Redis: after one failure, callers skip it for a few seconds, then one probes again.

So an outage costs one short timeout per cooldown, not one per callback, and is logged once when it starts
and once when it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Breaker:
    def __init__(self, name: str, fallback: str, cooldown: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.fallback, self.cooldown, self.clock = name, fallback, cooldown, clock
        self._lock = threading.Lock()
        self._down = False
        self._probing = False
        self._retry_at = 0.0
        self.reason = ""
        self.slow_attempts = 0  # calls that went to the primary and failed: one per cooldown in an outage

    @property
    def down(self) -> bool:
        return self._down

    def allow(self) -> bool:
        """Whether this call should try the primary: always while it works, one caller per cooldown after."""
        with self._lock:
            if not self._down:
                return True
            if self._probing or self.clock() < self._retry_at:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            was_down, self._down, self._probing = self._down, False, False
        if was_down:
            log.warning("%s is back: %s no longer used", self.name, self.fallback)

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            was_down, self._down, self._probing = self._down, True, False
            self._retry_at = self.clock() + self.cooldown
            self.reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            self.slow_attempts += 1
        if not was_down:
            log.error("%s unreachable (%s): using %s until it answers again", self.name, self.reason, self.fallback)
