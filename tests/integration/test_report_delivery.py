"""月报 through a real Celery worker: the chat answers at once, the worker renders the PDF, uploads it to the fake
WeCom and sends it with its headline figures (the in-process path is tests/bot/test_monthly_report_chat.py)."""

from __future__ import annotations

import subprocess

import pytest
import requests

from bot.app import create_app
from tests.bot.conftest import make_settings
from tests.integration.test_delivery_paths import harness_for, plant_file, sent_messages, start_celery_worker
from tests.reports.hand_month import build_october

pytestmark = pytest.mark.redis


@pytest.fixture
def october_plant(tmp_path) -> str:
    return plant_file(tmp_path, build_october)  # the small plant's boss is an executive


def test_a_real_celery_worker_renders_uploads_and_sends_the_monthly_report(october_plant, fake_wecom, real_redis,
                                                                           redis_test_url, tmp_path):
    fake_wecom.reset()
    settings = make_settings(october_plant, fake_wecom.url, redis_url=redis_test_url)
    worker, log = start_celery_worker(october_plant, settings.redis_url, fake_wecom.url, tmp_path)
    try:
        h = harness_for(create_app(settings), None)
        resp, _ = h.post(h.builder.text("boss", "月报 2026-10"))
        assert h.reply_text(resp) == "正在生成2026年10月月度订单达成分析表（PDF），完成后以文件发给您，请稍候……"
        files = sent_messages(fake_wecom, "boss", "file", timeout=90)
        assert files, log.read_text()[-3000:]
        texts = sent_messages(fake_wecom, "boss", "text", timeout=20)
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
