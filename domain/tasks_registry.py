"""The one task registry: name → function, retry policy and time limit, registered once by a decorator in
each package's tasks module; and the one periodic schedule's entry type with its in-process runner.

Pure Python (no celery here: domain/ imports none). factorybot/worker.py builds a Celery task from every
entry in a loop, bot/queue.py's InProcessQueue runs the same entries on a thread pool; both retry with
`RetryPolicy`, whose formula is Celery's own `retry_backoff` + `retry_jitter` (full jitter), so the two
runtimes wait alike. Callers enqueue through `ref(name)` handles taken at import, and the entry points call
`check` at start-up: a name nobody registered stops the process there, naming the file that used it.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, as Celery's `retry_backoff=backoff`, `retry_backoff_max`,
    `retry_jitter=True`: the n-th retry (n from 0) waits a random whole number of seconds in
    [0, min(backoff_max, backoff * 2**n)], so tasks that failed together do not come back together."""

    max_retries: int = 5
    backoff: int = 1
    backoff_max: int = 64
    jitter: bool = True

    def bound(self, retries: int) -> int:
        return min(self.backoff_max, self.backoff * 2**retries)

    def countdown(self, retries: int, rng: random.Random | None = None) -> int:
        bound = self.bound(retries)
        return (rng or _rng).randrange(bound + 1) if self.jitter else bound

    @staticmethod
    def throttled(retry_after: float) -> int:
        """WeCom said when to come back (Throttled.retry_after): one second past it, not the backoff."""
        return max(1, int(retry_after) + 1)


_rng = random.Random()
DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_retries=0)


class UnknownTaskError(RuntimeError):
    """A task name used (enqueued or scheduled) that no tasks module registered."""


class TaskRef(str):
    """A task name taken from the registry at import; `where` is the file and line that took it, for the
    start-up check's message. A str, so queues and tests that compare names keep working."""

    where: str


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: Callable[..., None]  # fn(deps, **primitive kwargs)
    retry: RetryPolicy = DEFAULT_RETRY
    soft_time_limit: int = 120


class TaskRegistry:
    def __init__(self) -> None:
        self.specs: dict[str, TaskSpec] = {}
        self.refs: list[TaskRef] = []

    def task(self, name: str, *, retry: RetryPolicy = DEFAULT_RETRY,
             soft_time_limit: int = 120) -> Callable[[Callable[..., None]], Callable[..., None]]:
        def register(fn: Callable[..., None]) -> Callable[..., None]:
            if name in self.specs and self.specs[name].fn is not fn:
                raise UnknownTaskError(f"task {name!r} registered twice ({self.specs[name].fn.__module__}, "
                                       f"{fn.__module__})")
            self.specs[name] = TaskSpec(name, fn, retry, soft_time_limit)
            return fn
        return register

    def ref(self, name: str) -> TaskRef:
        handle = TaskRef(name)
        caller = sys._getframe(1)  # the module that will enqueue it, named in the start-up error
        handle.where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        self.refs.append(handle)
        return handle

    def check(self, scheduled: Iterable[ScheduleEntry] = ()) -> None:
        """Every name taken with `ref` and every schedule entry's task must be registered."""
        missing = [f"{r!r} ({r.where})" for r in self.refs if r not in self.specs]
        missing += [f"{e.task!r} (schedule entry {e.key!r})" for e in scheduled if e.task not in self.specs]
        if missing:
            raise UnknownTaskError("未注册的任务 / unknown task name(s): " + ", ".join(missing)
                                   + f"; registered: {', '.join(sorted(self.specs)) or 'none'}")

    def __getitem__(self, name: str) -> TaskSpec:
        return self.specs[name]

    def __iter__(self) -> Iterator[TaskSpec]:
        return iter(list(self.specs.values()))


REGISTRY = TaskRegistry()
task = REGISTRY.task
ref = REGISTRY.ref


class CronLike(Protocol):
    def due_since(self, after: datetime, upto: datetime, tz: ZoneInfo) -> datetime | None: ...

    def crontab(self) -> Any: ...


@dataclass(frozen=True)
class ScheduleEntry:
    """One periodic run: a cron in plant time or an interval in seconds. Celery beat reads it as
    {key: {"task", "schedule"[, "kwargs"]}}; without beat, `Scheduler` runs the same entries.
    `catch_up`: how far back a scheduler just started still runs a cron minute it missed."""

    key: str
    task: str
    cron: CronLike | None = None
    every: float | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    catch_up: timedelta = timedelta(0)


class Scheduler:
    """The in-process runner of the schedule (no Redis, so no beat): asked every few seconds which entries
    came due since it last looked. Interval entries run at once and then every `every` seconds."""

    def __init__(self, entries: Iterable[ScheduleEntry], tz: ZoneInfo, started: datetime,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.entries, self.tz, self.monotonic = list(entries), tz, monotonic
        self.last_cron = {e.key: started - e.catch_up for e in self.entries if e.cron is not None}
        self.last_run: dict[str, float] = {}

    def due(self, now: datetime) -> list[ScheduleEntry]:
        out: list[ScheduleEntry] = []
        tick = self.monotonic()
        for entry in self.entries:
            if entry.cron is not None:
                if entry.cron.due_since(self.last_cron[entry.key], now, self.tz):
                    out.append(entry)
                self.last_cron[entry.key] = now
            elif entry.every is not None:
                last = self.last_run.get(entry.key)
                if last is None or tick - last >= entry.every:
                    self.last_run[entry.key] = tick
                    out.append(entry)
        return out

    def run_due(self, now: datetime, tasks: Mapping[str, Callable[..., None]]) -> None:
        """Run what came due, here and in order; one failing entry does not stop the others."""
        for entry in self.due(now):
            try:
                tasks[entry.task](**entry.kwargs)
            except Exception:  # each run records its own failure; the next round comes back
                log.exception("scheduled task %s (%s) failed", entry.task, entry.key)
