"""Dedup across processes (real Redis) and deferred work reaching the user through the fake WeCom."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.queue import RecordingQueue
from domain.db import make_engine, make_session_factory
from domain.models import Base
from domain.uow import UnitOfWork
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, BotHarness, make_settings
from tests.factories import add_order, small_plant
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder

pytestmark = pytest.mark.redis


def plant_file(tmp_path: Path, build: Callable[[UnitOfWork], object]) -> str:
    """An SQLite file the worker subprocesses can open too: the small plant, then `build` on top."""
    url = f"sqlite:///{tmp_path}/plant.db"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        small_plant(uow)
        build(uow)
        uow.commit()
    engine.dispose()
    return url


def _little_bear_orders(uow: UnitOfWork) -> None:
    for i in range(2, 15):
        add_order(uow, bill_no=f"SEORD0000{i:02d}", customer="小熊电器股份有限公司", wo_code=f"WO20261125-{i:02d}")


@pytest.fixture
def sqlite_plant(tmp_path) -> str:
    return plant_file(tmp_path, _little_bear_orders)


def harness_for(app, queue) -> BotHarness:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    return BotHarness(app, app.test_client(), queue, CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto)


def test_a_delivery_repeated_to_two_processes_runs_once(sqlite_plant, fake_wecom, real_redis, redis_test_url):
    settings = make_settings(sqlite_plant, fake_wecom.url, redis_url=redis_test_url)
    queue_a, queue_b = RecordingQueue(), RecordingQueue()
    a = harness_for(create_app(settings, queue=queue_a), queue_a)
    b = harness_for(create_app(settings, queue=queue_b), queue_b)
    resp, signed = a.post(a.builder.text("w1", "全部 小熊"))
    replies = [a.reply_text(resp)]
    for h in (b, a, b):
        again, _ = h.post("", repeat_of=signed)
        replies.append(h.reply_text(again))
    assert replies == ["正在汇总，请稍候……"] * 4
    assert len(queue_a.calls) + len(queue_b.calls) == 1
    assert any(k.startswith(b"wecom:seen:msg:") for k in real_redis.keys("*"))


def sent_messages(fake_wecom, userid: str, msgtype: str, *, at_least: int = 1,
                  timeout: float = 20) -> list[dict[str, Any]]:
    """The messages of one type the fake WeCom accepted for a user, once there are `at_least` of them
    (or whatever came by the timeout)."""
    deadline = time.monotonic() + timeout
    sent: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        sent = [c["json"] for c in fake_wecom.calls(userid=userid, path="message/send")
                if c.get("errcode") == 0 and c["json"].get("msgtype") == msgtype]
        if len(sent) >= at_least:
            return sent
        time.sleep(0.2)
    return sent


def _wait_for_texts(fake_wecom, userid: str, count: int, timeout: float = 20) -> list[str]:
    return [m["text"]["content"] for m in sent_messages(fake_wecom, userid, "text", at_least=count, timeout=timeout)]


def test_deferred_answer_arrives_actively_without_redis(sqlite_plant, fake_wecom):
    fake_wecom.reset()
    app = create_app(make_settings(sqlite_plant, fake_wecom.url))  # no REDIS_URL: in-process queue
    h = harness_for(app, None)
    resp, _ = h.post(h.builder.text("w1", "全部 小熊"))
    assert h.reply_text(resp) == "正在汇总，请稍候……"
    texts = _wait_for_texts(fake_wecom, "w1", 1)
    joined = "\n".join(texts)
    assert len(set(re.findall(r"SEORD0000\d\d", joined))) == 13


def start_celery_worker(db_url: str, redis_url: str, fake_url: str, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A real Celery worker (solo pool) on the test's database, Redis and fake WeCom; its log in tmp_path."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url, WECOM_CORP_ID=CORP_ID,
               WECOM_AGENT_ID=str(AGENT_ID), WECOM_SECRET=SECRET, WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY,
               WECOM_API_BASE=fake_url)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "factorybot.worker", "worker", "--pool", "solo",
         "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    return worker, log


def test_a_real_celery_worker_runs_deferred_routes(sqlite_plant, fake_wecom, real_redis, redis_test_url, tmp_path):
    fake_wecom.reset()
    settings = make_settings(sqlite_plant, fake_wecom.url, redis_url=redis_test_url)
    worker, log = start_celery_worker(sqlite_plant, settings.redis_url, fake_wecom.url, tmp_path)
    try:
        h = harness_for(create_app(settings), None)
        resp, _ = h.post(h.builder.text("w1", "全部 小熊"))
        assert h.reply_text(resp) == "正在汇总，请稍候……"
        texts = _wait_for_texts(fake_wecom, "w1", 1, timeout=40)
        assert texts, log.read_text()[-3000:]
        assert len(set(re.findall(r"SEORD0000\d\d", "\n".join(texts)))) == 13
        assert "bot.run_deferred" in log.read_text()
    finally:
        worker.terminate()
        worker.wait(20)


def test_the_parts_a_task_sent_are_kept_in_redis_for_its_retries(real_redis):
    from bot.dedup import SENT_TTL_SECONDS, RedisDedup, sent_part_key

    store = RedisDedup(real_redis, 600)
    first, second = sent_part_key("msg:4561255354251345929", 0), sent_part_key("msg:4561255354251345929", 1)
    assert first != second and len(sent_part_key("evt:" + "x" * 300, 12)) < 60
    assert not store.was_sent(first)
    store.mark_sent(first)
    assert store.was_sent(first) and not store.was_sent(second)
    assert real_redis.ttl(b"wecom:seen:" + first.encode()) > SENT_TTL_SECONDS - 60
    # A delivery's dedup key and its parts' keys never meet.
    assert store.claim("msg:4561255354251345929") is None
