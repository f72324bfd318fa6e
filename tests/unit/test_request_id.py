"""The request id of a callback follows its work into the in-process task pool and into Celery messages."""

from __future__ import annotations

import threading

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
