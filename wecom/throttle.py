"""WeCom's per-member send quota (30 messages a minute, over which WeCom silently drops), kept on our side:
in Redis when the processes share one, else in this process."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from wecom.errors import Throttled

RATE_WINDOW_SECONDS = 60.0


# Sliding 60 s window over a sorted set per member, checked for all recipients atomically:
# either every recipient gets a slot or none does (returns the wait in seconds).
_RATE_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, math.ceil(window) + 1)
end
return '0'
"""


class RateLimiter:
    def __init__(
        self, limit: int, redis: Any | None, prefix: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._local: dict[str, deque[float]] = {}
        self._script = redis.register_script(_RATE_SCRIPT) if redis is not None else None

    def key(self, userid: str) -> str:
        # WeCom userids are case-insensitive; count "ZhangSan" and "zhangsan" together.
        return f"{self._prefix}:rate:{userid.lower()}"

    def acquire(self, userids: Sequence[str]) -> None:
        """Reserve one send for each recipient or raise Throttled without reserving any."""
        if self.limit <= 0 or not userids:
            return
        now = self._clock()
        if self._script is not None:
            keys = sorted({self.key(u) for u in userids})
            wait = float(
                self._script(
                    keys=keys,
                    args=[repr(now), RATE_WINDOW_SECONDS, self.limit, f"{now!r}:{uuid.uuid4().hex}"],
                )
            )
        else:
            wait = self._acquire_local(sorted({u.lower() for u in userids}), now)
        if wait > 0:
            raise Throttled(retry_after=wait, message=f"per-member quota of {self.limit}/min reached")

    def _acquire_local(self, users: list[str], now: float) -> float:
        with self._lock:
            wait = 0.0
            for user in users:
                q = self._local.setdefault(user, deque())
                while q and q[0] <= now - RATE_WINDOW_SECONDS:
                    q.popleft()
                if len(q) >= self.limit:
                    wait = max(wait, q[0] + RATE_WINDOW_SECONDS - now)
            if wait > 0:
                return wait
            for user in users:
                self._local[user].append(now)
            return 0.0
