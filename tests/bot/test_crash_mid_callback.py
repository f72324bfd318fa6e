"""A bot process killed in the middle of a callback: WeCom's retry after the claim's lease runs the work,
and the report is counted once whether the kill came before or after its commit.

A real child process (tests/bot/crash_child.py) serves the encrypted callback on the shared database (SQLite
file or PostgreSQL) and the real Redis, blocks, and is SIGKILLed; a fresh app then gets WeCom's retries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import xmltodict
from sqlalchemy import select

from bot.app import create_app
from bot.queue import RecordingQueue
from domain.models import Operation, WorkOrder, WorkReport
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN, make_settings
from tests.conftest import flush_keeping_claim

WO = "WO20261125-01"
LEASE = 4
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["database", "redis"])
def dedup_redis_url(request):
    if request.param == "database":
        yield None
        return
    import redis

    url = request.getfixturevalue("redis_test_url")
    client = redis.Redis.from_url(url)
    flush_keeping_claim(client)
    yield url
    flush_keeping_claim(client)
    client.close()


def _start_child(db_url: str, redis_url: str | None, api_base: str, block: str, marker: Path) -> tuple:
    config = {"database_url": db_url, "redis_url": redis_url, "api_base": api_base, "lease": LEASE,
              "block": block, "marker": str(marker)}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.bot.crash_child", json.dumps(config)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(proc.stdout.readline())  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}/wecom/callback"


def _reports(app) -> list[tuple[str, int]]:
    with app.extensions["bot"].runtime.uow() as uow:
        return [(r.source_key, r.good_qty) for r in uow.session.scalars(select(WorkReport))]


def _good(app) -> int:
    with app.extensions["bot"].runtime.uow() as uow:
        return uow.session.scalar(select(Operation.good_qty).join(WorkOrder)
                                  .where(WorkOrder.code == WO, Operation.name == "注塑"))


@pytest.mark.parametrize("block", ["handler", "store"])
def test_a_worker_killed_mid_callback_loses_nothing_and_counts_once(db_url, plant_db, fake_wecom, dedup_redis_url,
                                                                    tmp_path, block):
    from wecom.crypto import WeComCrypto
    from wecom.simulate import CallbackBuilder

    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    builder = CallbackBuilder(crypto, CORP_ID, AGENT_ID)
    msg_id = uuid.uuid4().int % 10**18
    signed = builder.sign(builder.text("w1", f"报工 {WO} 良品 300", msg_id=msg_id))
    marker = tmp_path / "blocked"
    child, url = _start_child(db_url, dedup_redis_url, fake_wecom.url, block, marker)
    # WeCom's retries reach another process: a fresh app on the same database and Redis.
    retry = create_app(make_settings(db_url, fake_wecom.url, redis_url=dedup_redis_url, dedup_lease_seconds=LEASE,
                                     dedup_wait_seconds=0.3), queue=RecordingQueue()).test_client()
    first: dict = {}

    def deliver() -> None:
        try:
            first["resp"] = requests.post(url, params=signed.query, data=signed.body, timeout=60)
        except requests.RequestException as exc:
            first["error"] = exc

    sender = threading.Thread(target=deliver)
    try:
        sender.start()
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "the child never reached the handler"
        claimed_at = time.monotonic()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        sender.join()
    assert "error" in first  # the first delivery died with its process: WeCom saw no answer

    # Inside the lease the first run might still be alive: not '' (which WeCom takes as received) but 503.
    busy = retry.post("/wecom/callback", query_string=signed.query, data=signed.body)
    if time.monotonic() - claimed_at < LEASE:
        assert busy.status_code == 503
    time.sleep(max(0.0, claimed_at + LEASE + 0.5 - time.monotonic()))  # WeCom's next retry, past the lease

    resp = retry.post("/wecom/callback", query_string=signed.query, data=signed.body)
    assert resp.status_code == 200 and resp.data
    text = xmltodict.parse(crypto.open_reply(resp.get_data(as_text=True)))["xml"]["Content"]
    assert f"工单 {WO} 注塑：良品 300" in text
    if block == "store":  # the first run had committed: the retry finds the report by its message id
        assert "（这条报工之前已记录，本次未重复计数）" in text
    reports = _reports(retry.application)
    assert reports == [(f"msg:{msg_id}", 300)]
    assert _good(retry.application) == 300

    # A later retry is answered from the store, and still counts once.
    again = retry.post("/wecom/callback", query_string=signed.query, data=signed.body)
    assert again.status_code == 200
    assert xmltodict.parse(crypto.open_reply(again.get_data(as_text=True)))["xml"]["Content"] == text
    assert len(_reports(retry.application)) == 1 and _good(retry.application) == 300
