"""月报 through a real Celery worker: the chat answers at once, the worker renders the PDF, uploads it to the fake
WeCom and sends it with its headline figures (the in-process path is tests/bot/test_monthly_report_chat.py)."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import requests

from bot.app import create_app
from domain.db import make_engine, make_session_factory
from domain.models import Base
from domain.uow import UnitOfWork
from tests.bot.conftest import make_settings
from tests.factories import small_plant
from tests.integration.test_delivery_paths import harness_for, start_celery_worker
from tests.reports.hand_month import build_october

pytestmark = pytest.mark.redis


@pytest.fixture
def october_plant(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/plant.db"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        small_plant(uow)  # boss is an executive
        build_october(uow)
        uow.commit()
    engine.dispose()
    return url


def _wait_for(fake_wecom, userid: str, msgtype: str, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = [c["json"] for c in fake_wecom.calls(userid=userid, path="message/send")
                if c.get("errcode") == 0 and c["json"].get("msgtype") == msgtype]
        if sent:
            return sent
        time.sleep(0.3)
    return []


def test_a_real_celery_worker_renders_uploads_and_sends_the_monthly_report(october_plant, fake_wecom, real_redis,
                                                                           tmp_path):
    fake_wecom.reset()
    settings = make_settings(october_plant, fake_wecom.url, redis_url="redis://127.0.0.1:6379/13")
    worker, log = start_celery_worker(october_plant, settings.redis_url, fake_wecom.url, tmp_path)
    try:
        h = harness_for(create_app(settings), None)
        resp, _ = h.post(h.builder.text("boss", "月报 2026-10"))
        assert h.reply_text(resp) == "正在生成2026年10月月度订单达成分析表（PDF），完成后以文件发给您，请稍候……"
        files = _wait_for(fake_wecom, "boss", "file", timeout=90)
        assert files, log.read_text()[-3000:]
        texts = _wait_for(fake_wecom, "boss", "text", timeout=20)
    finally:
        worker.terminate()
        worker.wait(20)

    [upload] = fake_wecom.calls(path="media/upload")
    assert upload["files"]["media"]["filename"] == "月度订单达成分析表-2026-10.pdf"
    [sent] = files
    got = requests.get(f"{fake_wecom.url}/_fake/media/{sent['file']['media_id']}", timeout=10)
    got.raise_for_status()
    (tmp_path / "got.pdf").write_bytes(got.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "got.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "2026年10月" in text and "40.0%" in text and "美的集团" in text
    [summary] = [t["text"]["content"] for t in texts]
    assert summary.startswith("《月度订单达成分析表-2026-10.pdf》已生成（")
    assert "交期达成率 40.0%：应交 5 行，逾期 3 行" in summary
    assert "reports.send_monthly" in log.read_text()  # the worker ran it, not the web process
