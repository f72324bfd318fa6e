"""A deferred route whose send fails is retried: in the in-process queue and in Celery's task wrapper.

The retry runs the route again; the parts already sent are not sent twice, and the callback's action event
ends with the outcome the task really had.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from bot.queue import InProcessQueue
from bot.tasks import TaskDeps, run_deferred
from bot.wecom.errors import Throttled, TransientError, WeComAPIError
from domain.models import ActionEvent
from tests.bot.conftest import uow_for
from tests.factories import TODAY, add_order

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


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr("bot.queue.time.sleep", waited.append)
    return waited


def test_a_retry_after_a_failed_send_sends_no_part_twice(big_customer, fake_wecom, sleeps):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    assert _outcome(h, kwargs["event_id"]) == "ok"  # answered; the task has not run yet
    flaky = FlakySends(h.app.extensions["bot"].client, fail_on={2})
    deps = _deps(h, flaky)
    InProcessQueue._run("bot.run_deferred", lambda **kw: run_deferred(deps, **kw), kwargs)

    texts = _texts(fake_wecom, "w1")
    assert len(texts) >= 3 and flaky.calls == len(texts) + 1  # 1, 2 (failed); the retry: 2, 3, …
    assert Counter(texts).most_common(1)[0][1] == 1, "a part was sent twice"
    bills = re.findall(r"SEORD7\d{4}", "\n".join(texts))
    assert len(bills) == len(set(bills)) == ORDERS
    assert texts[0].startswith(f"「大客户」的全部未完成订单（{ORDERS} 单）")
    assert sleeps == [2]
    assert _outcome(h, kwargs["event_id"]) == "ok"


def test_a_task_that_keeps_failing_gives_up_and_records_failed(big_customer, fake_wecom, sleeps):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    flaky = FlakySends(h.app.extensions["bot"].client, fail_from=2)
    deps = _deps(h, flaky)
    InProcessQueue._run("bot.run_deferred", lambda **kw: run_deferred(deps, **kw), kwargs)

    assert sleeps == [2, 4, 8, 16]  # five attempts, backing off
    assert len(_texts(fake_wecom, "w1")) == 1  # the first part, once, although the route ran five times
    assert _outcome(h, kwargs["event_id"]) == "failed"


def test_a_throttled_send_waits_as_long_as_wecom_asks(big_customer, fake_wecom, sleeps):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    deps = _deps(h, FlakySends(h.app.extensions["bot"].client, fail_on={1}, error=Throttled(retry_after=7.2)))
    InProcessQueue._run("bot.run_deferred", lambda **kw: run_deferred(deps, **kw), kwargs)
    texts = _texts(fake_wecom, "w1")
    assert sleeps == [pytest.approx(8.2)] and len(texts) >= 3 and len(set(texts)) == len(texts)


def test_a_permanent_error_is_not_retried_and_records_failed(big_customer, fake_wecom, sleeps):
    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    flaky = FlakySends(h.app.extensions["bot"].client, fail_on={1}, error=WeComAPIError(40003, "invalid userid"))
    InProcessQueue._run("bot.run_deferred", lambda **kw: run_deferred(_deps(h, flaky), **kw), kwargs)
    assert sleeps == [] and flaky.calls == 1 and _texts(fake_wecom, "w1") == []
    assert _outcome(h, kwargs["event_id"]) == "failed"


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


@pytest.mark.parametrize(("retries", "countdown"), [(0, 1), (1, 2), (3, 8), (6, 64), (9, 64)])
def test_celery_retries_a_transient_error_with_exponential_backoff(retries, countdown, no_task_deps):
    from factorybot import worker

    task = FakeTask(retries)
    with pytest.raises(Retry):
        worker._retrying(task, _raise(TransientError("HTTP 502")))  # type: ignore[arg-type]
    assert task.asked == [countdown]


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


def test_the_celery_task_retried_sends_no_part_twice(big_customer, fake_wecom, no_task_deps):
    from factorybot import worker

    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    flaky = FlakySends(h.app.extensions["bot"].client, fail_on={2, 4})
    no_task_deps(_deps(h, flaky))
    # apply() runs the task here, retries included (their countdowns are not waited in this mode).
    result = worker.run_deferred_task.apply(kwargs=kwargs)
    assert result.successful(), result.traceback
    texts = _texts(fake_wecom, "w1")
    assert len(texts) >= 3 and len(set(texts)) == len(texts) and flaky.calls == len(texts) + 2
    assert _outcome(h, kwargs["event_id"]) == "ok"


def test_the_celery_task_gives_up_after_its_retries(big_customer, fake_wecom, no_task_deps):
    from factorybot import worker

    h = big_customer
    kwargs = _defer(h, "w1", "全部 大客户")
    flaky = FlakySends(h.app.extensions["bot"].client, fail_from=1)
    no_task_deps(_deps(h, flaky))
    result = worker.run_deferred_task.apply(kwargs=kwargs)
    assert result.failed() and isinstance(result.result, TransientError)
    assert flaky.calls == worker.BaseTask.max_retries + 1
    assert _outcome(h, kwargs["event_id"]) == "failed"
