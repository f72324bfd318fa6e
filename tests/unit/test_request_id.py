"""The request id of a callback follows its work into the in-process task pool and into Celery messages."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from celery.worker.request import Request
from kombu import Connection

from bot.observability import new_request_id, request_id
from bot.queue import CeleryQueue, InProcessQueue


def test_a_task_run_on_the_pool_sees_the_callbacks_request_id():
    seen: list[str] = []
    done = threading.Event()

    def task() -> None:
        seen.append(request_id.get())
        done.set()

    rid = new_request_id()
    InProcessQueue({"t": task}).enqueue("t")
    assert done.wait(5) and seen == [rid]


def test_a_celery_message_carries_it_in_a_header():
    sent: list[dict] = []

    class FakeCeleryApp:  # records what would go to the broker; the real worker path is tested elsewhere
        def send_task(self, name: str, kwargs: dict, headers: dict) -> None:
            sent.append({"name": name, "headers": headers})

    rid = new_request_id()
    CeleryQueue(FakeCeleryApp()).enqueue("bot.send", userids=["w1"], text="x")
    assert sent == [{"name": "bot.send", "headers": {"request_id": rid}}]


def _through_the_worker(monkeypatch, send: Callable[[Any], None]) -> list[tuple[str, dict]]:
    """Publish with `send` on kombu's in-memory broker, then run what arrives as the Celery worker does
    (celery.worker.request.Request → the task's tracer), with no worker process. Returns, for each task run,
    the request id its function saw and its arguments."""
    from dataclasses import replace

    import factorybot.worker as worker

    seen: list[tuple[str, dict]] = []
    monkeypatch.setitem(worker.REGISTRY.specs, "bot.send", replace(
        worker.REGISTRY["bot.send"], fn=lambda deps, **kwargs: seen.append((request_id.get(), kwargs))))
    monkeypatch.setattr(worker, "_deps", object())  # the task's dependencies are not needed by the stand-in
    app = worker.celery
    queue = app.amqp.queues[app.conf.task_default_queue]
    with Connection("memory://") as conn:
        queue(conn.default_channel).declare()
        send(conn)
        message = conn.SimpleQueue(queue).get(timeout=5)
        # The worker runs the task in its own context, not the callback's.
        contextvars.Context().run(Request(message, app=app, task=app.tasks[message.headers["task"]]).execute)
    return seen


def test_a_celery_task_runs_under_the_request_id_of_the_callback_that_queued_it(monkeypatch):
    import factorybot.worker as worker

    class OnTheMemoryBroker:
        def __init__(self, conn: Connection) -> None:
            self.conn = conn

        def send_task(self, name: str, **kwargs: Any) -> None:
            worker.celery.send_task(name, connection=self.conn, **kwargs)

    rid = new_request_id()
    seen = _through_the_worker(monkeypatch, lambda conn: CeleryQueue(OnTheMemoryBroker(conn)).enqueue(
        "bot.send", userids=["w1"], text="x"))
    assert seen == [(rid, {"userids": ["w1"], "text": "x"})]


def test_a_task_nobody_queued_from_a_callback_gets_its_own_id(monkeypatch):
    """A beat-scheduled task carries no request id: its lines join up under task-<first 8 of its task id>."""
    import factorybot.worker as worker

    seen = _through_the_worker(monkeypatch, lambda conn: worker.celery.send_task(
        "bot.send", kwargs={"userids": ["w1"], "text": "x"}, connection=conn, task_id="0badc0de-1234"))
    assert [rid for rid, _ in seen] == ["task-0badc0de"]
