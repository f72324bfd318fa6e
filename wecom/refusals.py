"""Refusals an operator must fix in WeCom's admin console (untrusted IP, API forbidden, …), kept for /readyz."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REFUSAL_TTL_SECONDS = 24 * 3600  # a refusal not seen again for a day no longer makes /readyz fail


@dataclass(frozen=True)
class Refusal:
    api: str
    errcode: int
    hint: str
    at: float


class Refusals:
    """The last refusal with a hint, per API, until a call to that API succeeds. In Redis when there is one,
    so /readyz in the web process sees what the Celery worker's sends met."""

    def __init__(self, redis: Any | None, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis, self._key, self._clock = redis, f"{prefix}:refusals", clock
        self._local: dict[str, Refusal] = {}
        self._lock = threading.Lock()

    def record(self, api: str, errcode: int, hint: str) -> None:
        refusal = Refusal(api, errcode, hint, self._clock())
        if self._redis is not None:
            self._redis.hset(self._key, api, json.dumps(dataclasses.asdict(refusal), ensure_ascii=False))
            self._redis.expire(self._key, REFUSAL_TTL_SECONDS)
        else:
            with self._lock:
                self._local[api] = refusal

    def clear(self, api: str) -> None:
        if self._redis is not None:
            self._redis.hdel(self._key, api)
        else:
            with self._lock:
                self._local.pop(api, None)

    def current(self) -> list[Refusal]:
        if self._redis is not None:
            found = [Refusal(**json.loads(v)) for v in self._redis.hgetall(self._key).values()]
        else:
            with self._lock:
                found = list(self._local.values())
        horizon = self._clock() - REFUSAL_TTL_SECONDS
        return sorted((r for r in found if r.at >= horizon), key=lambda r: r.api)
