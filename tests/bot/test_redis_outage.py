"""Redis killed or paused while callbacks arrive: every report is still recorded and answered, fast, through
the database dedup; the outage is logged once, shown in /readyz, and Redis is used again once it is back.

Our own redis-server on a free port (never the shared one): SIGKILL for "killed", SIGSTOP/SIGCONT for "paused".
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import xmltodict
from celery import Celery
from sqlalchemy import func, select

from bot.app import create_app
from bot.breaker import Breaker
from bot.queue import CeleryQueue, InProcessQueue, RecordingQueue
from bot.queue_fallback import FallbackQueue, bounded_publish
from domain.models import WorkReport
from tests.bot.conftest import make_settings
from tests.integration.demo_process import free_port

WO = "WO20261125-01"
N = 6


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.proc.send_signal(signal.SIGCONT)
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def bot(db_url, plant_db, fake_wecom, own_redis):
    # A breaker cooldown longer than the test: the only slow attempt is the one that found Redis gone.
    app = create_app(make_settings(db_url, fake_wecom.url, redis_url=own_redis.url, redis_retry_seconds=600),
                     queue=RecordingQueue())
    return app


def _say(app, text: str) -> tuple[int, str, str]:
    """(status, reply text, dedup key) for a text from w1, as WeCom would deliver it."""
    from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN
    from wecom.crypto import WeComCrypto
    from wecom.simulate import CallbackBuilder

    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    msg_id = uuid.uuid4().int % 10**18
    signed = CallbackBuilder(crypto, CORP_ID, AGENT_ID).sign(
        CallbackBuilder(crypto, CORP_ID, AGENT_ID).text("w1", text, msg_id=msg_id))
    resp = app.test_client().post("/wecom/callback", query_string=signed.query, data=signed.body)
    body = xmltodict.parse(crypto.open_reply(resp.get_data(as_text=True)))["xml"]["Content"] if resp.data else ""
    return resp.status_code, body, f"msg:{msg_id}"


def _reports(app) -> int:
    with app.extensions["bot"].runtime.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(WorkReport))


def _redis_check(app) -> dict:
    body = app.test_client().get("/readyz").get_json()
    return body["checks"]["redis"]


def _outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.breaker"]


@pytest.mark.parametrize("fault", ["killed", "paused"])
def test_callbacks_are_recorded_and_answered_while_redis_is_away(bot, own_redis, caplog, fault):
    caplog.set_level(logging.INFO)
    status, text, key = _say(bot, f"报工 {WO} 良品 10")
    assert status == 200 and "良品 10" in text
    assert own_redis.client().exists(f"wecom:seen:{key}")  # Redis is the dedup while it answers

    own_redis.signal(signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
    answers, slowest = [], 0.0
    for i in range(N):
        started = time.monotonic()
        answers.append(_say(bot, f"报工 {WO} 良品 {i + 1}"))
        slowest = max(slowest, time.monotonic() - started)
    assert [(s, f"良品 {i + 1}" in t) for i, (s, t, _) in enumerate(answers)] == [(200, True)] * N
    assert _reports(bot) == N + 1
    breaker: Breaker = bot.extensions["bot"].core.dedup.breaker
    assert breaker.slow_attempts == 1  # one short timeout found Redis gone; the rest skipped it
    assert slowest < 2.0  # WeCom's deadline is 5 s (a correctness bound: old code took 5.01 s)
    assert [line.split(" (")[0] for line in _outage_lines(caplog)] == ["Redis unreachable"]

    if fault == "killed":
        check = _redis_check(bot)
        assert not check["ok"] and "回退到数据库去重" in check["detail"]
        own_redis.start()
    else:
        own_redis.signal(signal.SIGCONT)
    check = _redis_check(bot)  # /readyz probes Redis itself: no need to wait out the breaker
    assert check == {**check, "ok": True, "detail": "ok"}
    assert _outage_lines(caplog)[-1] == "Redis is back: the database dedup no longer used"
    assert len(_outage_lines(caplog)) == 2

    status, text, key = _say(bot, f"报工 {WO} 良品 20")
    assert status == 200 and "良品 20" in text
    assert own_redis.client().exists(f"wecom:seen:{key}")  # dedup is back on Redis
    assert _reports(bot) == N + 2


@pytest.mark.parametrize("fault", ["killed", "paused"])
def test_tasks_run_in_this_process_while_the_broker_is_away(own_redis, fault):
    """Celery's broker down: enqueue returns at once and the task runs here; back on Celery after."""
    ran: list[dict] = []
    done = threading.Event()

    def task(**kwargs):
        ran.append(kwargs)
        done.set()

    celery = bounded_publish(Celery("fallback-test", broker=own_redis.url), 0.5)
    now = [0.0]
    breaker = Breaker("Celery's broker (Redis)", "in-process tasks", cooldown=5, clock=lambda: now[0])
    queue = FallbackQueue(CeleryQueue(celery), lambda: InProcessQueue({"t.run": task}), breaker)
    queue.enqueue("t.run", n=0)
    assert own_redis.client().llen("celery") == 1 and ran == []  # default queue name of a bare Celery app

    own_redis.signal(signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
    for n in range(1, 4):
        done.clear()
        queue.enqueue("t.run", n=n)
        assert done.wait(10)
    assert ran == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert breaker.slow_attempts == 1 and breaker.down

    if fault == "killed":
        own_redis.start()
    else:
        own_redis.signal(signal.SIGCONT)
    now[0] += 6  # past the cooldown: the next task probes the broker, and goes to Celery again
    queue.enqueue("t.run", n=4)
    assert not breaker.down and ran == [{"n": 1}, {"n": 2}, {"n": 3}]
    # Killed: a fresh Redis holds only n=4. Paused: the publish that timed out had reached the stopped Redis
    # and is delivered too, so that task runs twice (here and in Celery): tasks are idempotent by their key.
    assert own_redis.client().llen("celery") == (1 if fault == "killed" else 3)


def test_a_report_while_the_broker_is_killed_is_answered_and_its_tasks_run_here(db_url, plant_db, fake_wecom,
                                                                               own_redis, caplog):
    """The bot as production wires it (Celery on Redis): the report's follow-up tasks (alerts.tick, the
    next operation's notice) cannot reach the broker, so they run in this process and the user gets the
    normal reply, not 系统暂时出错 for a report that was in fact stored."""
    caplog.set_level(logging.INFO)
    app = create_app(make_settings(db_url, fake_wecom.url, redis_url=own_redis.url, redis_retry_seconds=600))
    deps = app.extensions["bot"]
    assert isinstance(deps.queue, FallbackQueue)
    own_redis.signal(signal.SIGKILL)
    for i in range(3):
        status, text, _ = _say(app, f"报工 {WO} 良品 {i + 1}")
        assert status == 200 and f"良品 {i + 1}" in text and "系统暂时出错" not in text
    assert _reports(app) == 3
    assert deps.queue.breaker.down and deps.queue.breaker.slow_attempts == 1
    assert any(line.startswith("Celery's broker (Redis) unreachable") for line in _outage_lines(caplog))
