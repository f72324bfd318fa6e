"""Faults at random moments (a seeded RNG): processes killed and paused, WeCom failing in the ways it does.

One fault at a time, each bounded (a killed Redis is back within seconds), so the soak measures what a fault
costs and not how long the plant stays down. `restore` puts everything back for the drain.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import requests

from bench.soak_stack import Stack
from bench.soak_traffic import Journal

GUNICORN_KILL = "gunicorn worker SIGKILL mid-request"
CELERY_KILL = "celery worker SIGKILL + restart"
REDIS_KILL = "redis SIGKILL + restart"
REDIS_PAUSE = "redis SIGSTOP/SIGCONT"
WECOM_BUSY = "wecom errcode -1"
WECOM_502 = "wecom HTTP 502"
WECOM_60020 = "wecom errcode 60020 for a while"
WECOM_TIMEOUT_AFTER_SUCCESS = "wecom timeout after success"
WECOM_CLIENT_TIMEOUT = 5.0  # wecom/client.py's default timeout on every WeCom call
ALL_KINDS = (GUNICORN_KILL, CELERY_KILL, REDIS_KILL, REDIS_PAUSE, WECOM_BUSY, WECOM_502, WECOM_60020,
             WECOM_TIMEOUT_AFTER_SUCCESS)


class FaultInjector(threading.Thread):
    def __init__(self, stack: Stack, journal: Journal, seed: int, stop: threading.Event,
                 kinds: tuple[str, ...]) -> None:
        super().__init__(name="faults", daemon=True)
        self.stack, self.journal, self.stop, self.kinds = stack, journal, stop, kinds
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.log: list[tuple[float, str, str]] = []  # (wall time, kind, detail)
        self.error: BaseException | None = None

    def run(self) -> None:
        actions: dict[str, Callable[[], str]] = {
            GUNICORN_KILL: self.kill_gunicorn_worker, CELERY_KILL: self.kill_celery, REDIS_KILL: self.kill_redis,
            REDIS_PAUSE: self.pause_redis, WECOM_BUSY: lambda: self.wecom_fault(errcode=-1),
            WECOM_502: lambda: self.wecom_fault(http_status=502),
            WECOM_60020: lambda: self.wecom_fault(errcode=60020, count=self.rng.randint(2, 4)),
            WECOM_TIMEOUT_AFTER_SUCCESS: self.wecom_timeout_after_success,
        }
        order: list[str] = []
        if not self.kinds:
            return  # the baseline: the same traffic, no fault
        try:
            self.stop.wait(self.rng.uniform(1.0, 3.0))
            while not self.stop.is_set():
                for name in self.stack.revive():
                    self.log.append((time.time(), "supervisor", f"{name} had exited: started again"))
                if not order:  # every kind once, in a random order, before any comes again
                    order = list(self.kinds)
                    self.rng.shuffle(order)
                kind = order.pop()
                detail = actions[kind]()
                self.injected[kind] += 1
                self.log.append((time.time(), kind, detail))
                self.stop.wait(self.rng.uniform(1.0, 3.0))
        except BaseException as exc:  # noqa: BLE001 - reported by the harness
            self.error = exc

    def _hold(self, low: float, high: float) -> float:
        """How long a fault lasts; cut short when the traffic phase ends."""
        seconds = self.rng.uniform(low, high)
        self.stop.wait(seconds)
        return seconds

    def kill_gunicorn_worker(self) -> str:
        # Mid-request: wait (briefly) until a callback is in flight, then kill one of the workers.
        deadline = time.monotonic() + 2
        while self.journal.inflight == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        workers = self.stack.gunicorn_workers()
        if not workers:
            return "no worker up"
        pid = self.rng.choice(workers)
        self.stack.kill_gunicorn_worker(pid)
        return f"pid {pid}, {self.journal.inflight} in flight"

    def kill_celery(self) -> str:
        self.stack.kill_celery()
        down = self._hold(1.0, 4.0)
        self.stack.start_celery()
        return f"down {down:.1f} s"

    def kill_redis(self) -> str:
        self.stack.kill_redis()
        down = self._hold(2.0, 5.0)
        self.stack.start_redis()
        return f"down {down:.1f} s"

    def pause_redis(self) -> str:
        self.stack.pause_redis()
        paused = self._hold(2.0, 5.0)
        self.stack.resume_redis()
        return f"paused {paused:.1f} s"

    def wecom_fault(self, *, errcode: int | None = None, http_status: int | None = None,
                    count: int | None = None) -> str:
        assert self.stack.fake is not None
        # One call per transient fault: the outbox backs a message off 5 s, then 30 s, then 2 min, and holds
        # that person's later messages behind it, so a fault that hit the same message three times would
        # outlast any bounded drain without being a loss.
        n = count or 1
        self.stack.fake.fault("message/send", errcode=errcode, http_status=http_status, count=n)
        return f"next {n} message/send"


    def wecom_timeout_after_success(self) -> str:
        """WeCom delivers the message but the answer comes after our client gave up (5 s): the sender cannot
        tell it from a failure and sends again."""
        assert self.stack.fake is not None
        before = _sends(self.stack)
        self.stack.fake.fault("message/send", delay=WECOM_CLIENT_TIMEOUT + 1.0, count=1,  # type: ignore[call-arg]
                              after=True)
        # The fault lasts until its late answer is out: one fault at a time, so no kill lands inside it.
        deadline = time.monotonic() + 15
        while _sends(self.stack) == before and time.monotonic() < deadline and not self.stop.is_set():
            time.sleep(0.2)
        self.stop.wait(WECOM_CLIENT_TIMEOUT + 2.0)
        return f"next message/send answered after {WECOM_CLIENT_TIMEOUT + 1.0:.0f} s"


def _sends(stack: Stack) -> int:
    """message/send calls the fake has seen, those its duplicate check dropped included."""
    assert stack.fake is not None
    resp = requests.get(f"{stack.fake.url}/_fake/calls", params={"path": "message/send", "duplicates": "1"},
                        timeout=10)
    resp.raise_for_status()
    return len(resp.json())


def restore(stack: Stack) -> None:
    """Everything up again and no WeCom fault left queued, for the drain."""
    if stack.redis_paused:
        stack.resume_redis()
    if "redis" not in stack.procs:
        stack.start_redis()
    if "celery" not in stack.procs:
        stack.start_celery()
    stack.revive()
    stack.gunicorn_ready()
    clear_wecom_faults(stack)


def clear_wecom_faults(stack: Stack, path: str = "message/send") -> int:
    """Use up the faults still queued on `path`: the fake takes a fault before it looks at the token, so a call
    without one answers the fault while any is left and 41001 (token missing) after. Returns how many."""
    assert stack.fake is not None
    for used in range(200):
        resp = requests.post(f"{stack.fake.url}/cgi-bin/{path}", json={}, timeout=10)
        if resp.ok and resp.json().get("errcode") == 41001:
            return used
    raise RuntimeError(f"faults on {path} never ran out")
