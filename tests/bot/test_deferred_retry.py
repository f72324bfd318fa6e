"""A deferred route whose send fails: its messages wait in the outbox and are retried from there, with
backoff, by the delivery rounds; no worker waits, no part arrives twice, and running the task again queues
nothing new. The in-process queue and Celery's task wrapper still retry a task that raises a TransientError.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from bot.queue import InProcessQueue
from bot.tasks import TaskDeps, alerts_deliver, run_deferred
from domain.models import ActionEvent, Notice
from tests.bot.conftest import uow_for
from tests.factories import TODAY, add_order
from wecom.errors import Throttled, TransientError, WeComAPIError

CUSTOMER = "大客户家电集团有限公司"
ORDERS = 100  # more than three texts of WeCom's 2048 bytes


class FlakySends:
    """The real client, except that the send_text calls numbered in `fail_on` (1, 2, …) raise `error`."""

    def __init__(self, client: Any, fail_on: set[int] | None = None, *, fail_from: int | None = None,
                 error: Exception | None = None) -> None:
        self.client, self.fail_on, self.fail_from = client, fail_on or set(), fail_from
        self.error = error or TransientError("WeCom HTTP error 502")
        self.calls = 0

    def send_text(self, userids: list[str], text: str) -> Any:
        self.calls += 1
        if self.calls in self.fail_on or (self.fail_from is not None and self.calls >= self.fail_from):
            raise self.error
        return self.client.send_text(userids, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def big_customer(harness, fake_wecom):
    with uow_for(harness) as uow:
        for i in range(ORDERS):
            add_order(uow, bill_no=f"SEORD7{i + 100:04d}", customer=CUSTOMER, wo_code=f"WO20261126-7{i:03d}",
                      due=TODAY + timedelta(days=i % 20))
        uow.commit()
    fake_wecom.reset()
    return harness


def _defer(harness, userid: str, text: str) -> dict[str, Any]:
    """Send a text whose route is deferred; return the task's kwargs, as the callback enqueued them."""
    assert harness.say(userid, text).startswith("正在")
    ((name, kwargs),) = harness.queue.calls
    assert name == "bot.run_deferred" and kwargs["event_id"] is not None
    return kwargs


def _outcome(harness, event_id: int) -> str:
    with uow_for(harness) as uow:
        return uow.session.scalar(select(ActionEvent.outcome).where(ActionEvent.id == event_id))


def _texts(fake_wecom, userid: str) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake_wecom.calls(userid=userid, path="message/send")
            if c.get("errcode") == 0 and c["json"].get("msgtype") == "text"]


def _deps(harness, client: Any) -> TaskDeps:
    deps = harness.app.extensions["bot"]
    return TaskDeps(deps.core, client, deps.runtime.alert_policy)


def _later(h, seconds: float) -> None:
    """Move the bot's clock on (the outbox's backoff goes by it)."""
    core = h.app.extensions["bot"].core
    before = core.clock
    core.clock = lambda: before() + timedelta(seconds=seconds)


def _states(h) -> list[str]:
    with uow_for(h) as uow:
        return [str(n.state) for n in uow.session.scalars(select(Notice).order_by(Notice.id))]


def test_a_failed_send_is_retried_by_the_outbox_and_no_part_arrives_twice(big_customer, fake_wecom):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    assert _outcome(h, kwargs["event_id"]) == "ok"  # answered; the task has not run yet
    flaky = FlakySends(h.app.extensions["bot"].client, fail_on={2})
    deps = _deps(h, flaky)
    run_deferred(deps, **kwargs)  # returns: the failed part waits in the outbox, not in this worker
    assert len(_texts(fake_wecom, "w1")) == 1  # the parts after it wait too, to keep their order
    run_deferred(deps, **kwargs)  # the task run again (a redelivered Celery message): nothing new queued
    _later(h, 6)  # the first backoff (5 s) is over
    alerts_deliver(deps)

    texts = _texts(fake_wecom, "w1")
    assert len(texts) >= 3 and flaky.calls == len(texts) + 1  # 1, 2 (failed); the retry: 2, 3, …
    assert Counter(texts).most_common(1)[0][1] == 1, "a part was sent twice"
    bills = re.findall(r"SEORD7\d{4}", "\n".join(texts))
    assert len(bills) == len(set(bills)) == ORDERS
    assert texts[0].startswith(f"「大客户」的全部未完成订单（{ORDERS} 单）")
    assert set(_states(h)) == {"sent"} and _outcome(h, kwargs["event_id"]) == "ok"


def test_a_deferred_answer_survives_minutes_of_wecom_errors_and_arrives_once(big_customer, fake_wecom):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    deps = _deps(h, h.app.extensions["bot"].client)
    fake_wecom.fault("message/send", http_status=502, count=3)  # 5 s + 30 s + 2 min of WeCom failing
    run_deferred(deps, **kwargs)
    waited = 0.0
    for _ in range(3):
        assert _texts(fake_wecom, "w1") == []
        with uow_for(h) as uow:
            first = uow.session.scalars(select(Notice).order_by(Notice.id)).first()
            wait = (first.next_attempt_at - h.app.extensions["bot"].core.clock()).total_seconds()
        waited += wait
        _later(h, wait + 1)
        alerts_deliver(deps)  # the periodic round (the ticker, Celery beat)
    assert waited >= 120
    texts = _texts(fake_wecom, "w1")
    bills = re.findall(r"SEORD7\d{4}", "\n".join(texts))
    assert len(bills) == len(set(bills)) == ORDERS and set(_states(h)) == {"sent"}


def test_a_throttled_send_waits_as_long_as_wecom_asks(big_customer, fake_wecom):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    deps = _deps(h, FlakySends(h.app.extensions["bot"].client, fail_on={1}, error=Throttled(retry_after=7.2)))
    run_deferred(deps, **kwargs)
    with uow_for(h) as uow:
        first = uow.session.scalars(select(Notice).order_by(Notice.id)).first()
        wait = (first.next_attempt_at - first.claimed_at).total_seconds()
        assert wait == pytest.approx(8.2, abs=0.5)  # WeCom's 7.2 s and a second to spare
    _later(h, 9)
    alerts_deliver(deps)
    texts = _texts(fake_wecom, "w1")
    assert len(texts) >= 3 and len(set(texts)) == len(texts)


def test_a_permanent_error_is_kept_as_failed_and_not_retried(big_customer, fake_wecom):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    flaky = FlakySends(h.app.extensions["bot"].client, fail_on={1}, error=WeComAPIError(40003, "invalid userid"))
    deps = _deps(h, flaky)
    run_deferred(deps, **kwargs)
    calls = flaky.calls
    _later(h, 3600)
    alerts_deliver(deps)
    assert flaky.calls == calls  # the refused part is not sent again by itself: `factorybot outbox retry`
    states = _states(h)
    assert states[0] == "failed" and set(states[1:]) == {"sent"}


def test_a_retried_in_process_task_is_rescheduled_not_slept(monkeypatch):
    """A task failing with a TransientError comes back after its backoff from a timer: no pool thread
    sleeps meanwhile (bot/queue.py has no sleep at all)."""
    import bot.queue as queue_module

    assert not hasattr(queue_module, "time")
    delays: list[float] = []
    monkeypatch.setattr(InProcessQueue, "later", staticmethod(lambda delay, fn: (delays.append(delay), fn())))
    runs: list[int] = []
    done = threading.Event()

    def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise TransientError("WeCom HTTP error 502")
        done.set()

    queue = InProcessQueue({"t": flaky}, workers=1)
    queue.enqueue("t")
    assert done.wait(10)
    queue.pool.shutdown(wait=True)
    # The registry's policy, as Celery's: the n-th retry waits a jittered 0..2**n seconds (n from 0).
    assert runs == [1, 1, 1] and len(delays) == 2 and 0 <= delays[0] <= 1 and 0 <= delays[1] <= 2


def test_a_deferred_refusal_records_user_error(harness, fake_wecom):
    kwargs = _defer(harness, "lead", "打印标签")
    run_deferred(_deps(harness, harness.app.extensions["bot"].client), **kwargs)
    assert _outcome(harness, kwargs["event_id"]) == "user_error"
    assert "打印标签" in _texts(fake_wecom, "lead")[-1]


# --- the Celery wrapper (factorybot/worker.py) ------------------------------------------------------


class FakeTask:
    """What _retrying reads of a bound Celery task, and a retry() that says what it was asked."""

    def __init__(self, retries: int = 0) -> None:
        self.request = SimpleNamespace(id="0123456789abcdef", retries=retries, headers={"request_id": "cb-42"})
        self.asked: list[float] = []

    def retry(self, *, exc: Exception, countdown: float) -> Retry:
        self.asked.append(countdown)
        return Retry(exc=exc, when=countdown)


@pytest.mark.parametrize(("retries", "bound"), [(0, 1), (1, 2), (3, 8), (6, 64), (9, 64)])
def test_celery_retries_a_transient_error_with_exponential_backoff(retries, bound, no_task_deps, monkeypatch):
    """Celery's autoretry, as the registry configures it: exponential backoff capped at 64 s, with jitter."""
    from factorybot import worker

    task = worker.tasks["bot.send"]
    asked: list[float] = []
    monkeypatch.setattr(task, "retry", lambda *, exc, countdown, **kw: asked.append(countdown) or Retry(exc=exc))
    monkeypatch.setitem(worker.REGISTRY.specs, "bot.send",
                        replace(worker.REGISTRY["bot.send"], fn=_raise(TransientError("HTTP 502"))))
    for _ in range(40):
        task.push_request(id="0123456789abcdef", retries=retries, headers={}, called_directly=False)
        try:
            with pytest.raises(Retry):
                task.run()
        finally:
            task.pop_request()
    assert all(0 <= c <= bound for c in asked) and len(asked) == 40
    assert bound < 2 or len(set(asked)) > 1  # jitter: forty retries do not all wait the same


def test_celery_waits_out_throttling_and_keeps_the_request_id(no_task_deps):
    from bot.observability import request_id
    from factorybot import worker

    task = FakeTask()
    seen: list[str] = []

    def throttled(deps: Any) -> None:
        seen.append(request_id.get())
        raise Throttled(retry_after=29.5)

    with pytest.raises(Retry):
        worker._retrying(task, throttled)  # type: ignore[arg-type]
    assert task.asked == [30] and seen == ["cb-42"]


def test_celery_does_not_retry_a_permanent_error(no_task_deps):
    from factorybot import worker

    task = FakeTask()
    with pytest.raises(WeComAPIError):
        worker._retrying(task, _raise(WeComAPIError(40003, "invalid userid")))  # type: ignore[arg-type]
    assert task.asked == []


def _raise(exc: Exception) -> Any:
    def fn(deps: Any) -> None:
        raise exc
    return fn


@pytest.fixture
def no_task_deps(monkeypatch):
    """_retrying builds the worker's deps on first use: tests hand it theirs instead."""
    from factorybot import worker

    def use(deps: TaskDeps) -> None:
        monkeypatch.setattr(worker, "_deps", deps)

    monkeypatch.setattr(worker, "_deps", object())
    return use


def test_the_celery_task_hands_failed_sends_to_the_outbox(big_customer, fake_wecom, no_task_deps):
    from factorybot import worker

    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    flaky = FlakySends(h.app.extensions["bot"].client, fail_from=1)
    no_task_deps(_deps(h, flaky))
    result = worker.tasks["bot.run_deferred"].apply(kwargs=kwargs)
    assert result.successful(), result.traceback  # nothing to retry in the task: its messages are queued
    assert _texts(fake_wecom, "w1") == [] and set(_states(h)) == {"pending"}
    assert worker.tasks["bot.run_deferred"].apply(kwargs=kwargs).successful()  # run again: nothing queued twice
    no_task_deps(_deps(h, h.app.extensions["bot"].client))
    _later(h, 6)
    assert worker.tasks["alerts.deliver"].apply().successful()
    texts = _texts(fake_wecom, "w1")
    assert len(texts) >= 3 and len(set(texts)) == len(texts) and set(_states(h)) == {"sent"}
    assert _outcome(h, kwargs["event_id"]) == "ok"


def test_with_wecom_failing_for_one_person_another_persons_answer_is_not_held_up(big_customer, fake_wecom,
                                                                                   monkeypatch):
    """Four answers for w1 fail (as many as the in-process pool has threads); w2's still arrives. Before the
    outbox each failing task slept in its pool thread between retries, so w2 waited behind them."""
    from bot.tasks import task_table

    h = big_customer
    release = threading.Event()
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:  # a pool thread that sleeps stays asleep until the test ends
        if threading.current_thread().name.startswith("factorybot-task"):
            release.wait(60)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    fake_wecom.fault("message/send", http_status=502, count=10_000, touser="w1")
    first = []
    for _ in range(4):
        first.append(_defer(h, "w1", "全部 大客户"))
        h.queue.calls.clear()
    second = _defer(h, "w2", "全部 大客户")
    deps = h.app.extensions["bot"]
    queue = InProcessQueue(task_table(TaskDeps(deps.core, deps.client, deps.runtime.alert_policy)), workers=4)
    try:
        for kwargs in first:
            queue.enqueue("bot.run_deferred", **kwargs)
        queue.enqueue("bot.run_deferred", **second)
        for _ in range(200):  # a bound on waiting for a failure, not a timing assertion
            if _texts(fake_wecom, "w2"):
                break
            real_sleep(0.1)
        assert _texts(fake_wecom, "w2"), "w2's answer was held up behind w1's retries"
        assert _texts(fake_wecom, "w1") == []
        with uow_for(h) as uow:  # w1's answers wait in the outbox for WeCom to come back
            pending = uow.session.scalars(select(Notice).where(Notice.userids == "w1")).all()
            assert pending and {str(n.state) for n in pending} <= {"pending", "sending"}
    finally:
        release.set()
        queue.pool.shutdown(wait=True)
        fake_wecom.reset()
