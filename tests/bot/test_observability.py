"""Every callback is counted by route and outcome, timed, logged as one JSON line, and kept for usage."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.observability import JsonFormatter
from domain.migrate import upgrade
from domain.models import ActionEvent
from factorybot import gunicorn_conf
from tests.bot.conftest import uow_for

ROOT = Path(__file__).resolve().parents[2]


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and line.split("}")[0].split("{")[1] == want:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_callbacks_are_counted_timed_logged_and_kept(live, caplog):
    before = live.client.get("/metrics").get_data(as_text=True)
    with caplog.at_level(logging.INFO, logger="factorybot.callback"):
        live.say("w1", "SEORD000001")
        live.say("w1", "报工 WO20261125-01 良品 abc")
        live.say("nobody", "SEORD000001")
    after = live.client.get("/metrics").get_data(as_text=True)
    assert metric(after, "factorybot_callbacks_total", route="orders.order_by_bill", outcome="ok") \
        == metric(before, "factorybot_callbacks_total", route="orders.order_by_bill", outcome="ok") + 1
    assert metric(after, "factorybot_callbacks_total", route="text_report.report_by_text", outcome="user_error") >= 1
    assert metric(after, "factorybot_callbacks_total", route="orders.order_by_bill", outcome="refused") >= 1
    assert metric(after, "factorybot_callback_seconds_count", route="orders.order_by_bill") >= 1
    assert 'factorybot_http_request_seconds_bucket{endpoint="wecom.receive",le="0.5"}' in after

    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "factorybot.callback"]
    assert [(x["route"], x["user"], x["outcome"]) for x in lines] == [
        ("orders.order_by_bill", "w1", "ok"), ("text_report.report_by_text", "w1", "user_error"),
        ("orders.order_by_bill", "nobody", "refused")]
    assert all(len(x["request_id"]) == 12 and x["latency_ms"] >= 0 for x in lines)
    assert len({x["request_id"] for x in lines}) == 3
    assert not any("SEORD000001" in json.dumps(x, ensure_ascii=False) for x in lines)  # no message bodies

    with uow_for(live) as uow:
        kept = [(e.userid, e.route, e.outcome, e.subject) for e in uow.session.scalars(
            select(ActionEvent).order_by(ActionEvent.id))]
    assert kept == [("w1", "orders.order_by_bill", "ok", None),
                    ("w1", "text_report.report_by_text", "user_error", "WO20261125-01"),
                    ("nobody", "orders.order_by_bill", "refused", None)]


def test_usage_in_chat_is_for_managers(live):
    live.say("w1", "SEORD000001")
    reply = live.say("admin", "使用情况")
    assert "使用情况" in reply and "企业微信操作" in reply and "成功率" in reply
    assert "没有使用该功能的权限" in live.say("w1", "使用情况")


def test_wecom_calls_are_counted_by_outcome(live):
    live.say("w1", "全部 小熊")  # a deferred answer: sent through the API
    text = live.client.get("/metrics").get_data(as_text=True)
    assert metric(text, "factorybot_wecom_calls_total", api="message/send", outcome="ok") >= 1


# Each snippet runs in a fresh interpreter: prometheus-client picks its multiprocess mode when first imported.
_WRITER = """
import sys
from bot.observability import CALLBACK_SECONDS, CALLBACKS
CALLBACKS.labels("orders.order_by_bill", "ok").inc()
CALLBACK_SECONDS.labels("orders.order_by_bill").observe(float(sys.argv[1]))
"""
_SCRAPER = """
import sys
from bot.app import create_app
from bot.queue import RecordingQueue
from tests.bot.conftest import make_settings
app = create_app(make_settings(sys.argv[1], sys.argv[2]), queue=RecordingQueue())
sys.stdout.write(app.test_client().get("/metrics").get_data(as_text=True))
"""


def test_with_a_multiprocess_directory_metrics_adds_up_every_process(tmp_path, fake_wecom):
    """gunicorn -w 2: two workers count callbacks; whichever answers the scrape shows both, and the store
    gauges once (they are read at scrape time, not added up per process)."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), PYTHONPATH=str(ROOT))
    for seconds in ("0.02", "0.3"):  # two processes, one after the other, each with its own file
        subprocess.run([sys.executable, "-c", _WRITER, seconds], env=env, cwd=ROOT, check=True)
    assert len(list(metrics_dir.glob("*.db"))) >= 2
    url = f"sqlite:///{tmp_path}/mp.db"
    upgrade(url)
    out = subprocess.run([sys.executable, "-c", _SCRAPER, url, fake_wecom.url], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert metric(out, "factorybot_callbacks_total", route="orders.order_by_bill", outcome="ok") == 2
    assert metric(out, "factorybot_callback_seconds_count", route="orders.order_by_bill") == 2
    assert metric(out, "factorybot_callback_seconds_sum", route="orders.order_by_bill") == pytest.approx(0.32)
    assert metric(out, "factorybot_callback_seconds_bucket", route="orders.order_by_bill", le="0.025") == 1
    assert metric(out, "factorybot_callback_seconds_bucket", route="orders.order_by_bill", le="0.5") == 2
    assert [line for line in out.splitlines() if line.startswith("factorybot_notices_waiting ")] \
        == ["factorybot_notices_waiting 0.0"]


def test_the_gunicorn_hook_drops_a_dead_workers_live_gauges(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    gunicorn_conf.on_starting(None)  # creates the directory the workers will write to
    for name in ("gauge_livesum_4242.db", "counter_4242.db", "gauge_livesum_4343.db"):
        (tmp_path / "metrics" / name).write_bytes(b"")
    gunicorn_conf.child_exit(None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir()) == ["counter_4242.db", "gauge_livesum_4343.db"]


def test_rejected_callbacks_are_counted_but_kept_as_nobodys_action(harness, caplog):
    """Forged, undecryptable and malformed callbacks answer 403/400 before anything runs; /metrics counts
    them (route callback.rejected, outcome rejected). The usage store does not: its sender is unknown."""
    before = metric(harness.client.get("/metrics").get_data(as_text=True), "factorybot_callbacks_total",
                    route="callback.rejected", outcome="rejected")
    signed = harness.builder.sign(harness.builder.text("w1", "SEORD000001"))
    with caplog.at_level(logging.WARNING, logger="bot.callback"):
        statuses = [
            harness.client.post("/wecom/callback", query_string=dict(signed.query, msg_signature="0" * 40),
                                data=signed.body).status_code,
            harness.client.post("/wecom/callback", query_string=signed.query, data="hello").status_code,
            harness.client.get("/wecom/callback", query_string=dict(signed.query, echostr="x")).status_code,
        ]
    assert statuses == [403, 400, 403]
    after = harness.client.get("/metrics").get_data(as_text=True)
    assert metric(after, "factorybot_callbacks_total", route="callback.rejected", outcome="rejected") == before + 3
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "bot.callback"]
    assert [(x["route"], x["outcome"], x["status"]) for x in lines] == [
        ("callback.rejected", "rejected", 403), ("callback.rejected", "rejected", 400),
        ("callback.rejected", "rejected", 403)]
    with uow_for(harness) as uow:
        assert uow.session.scalars(select(ActionEvent)).all() == []


def test_a_callback_that_breaks_outside_any_route_is_counted_as_failed(harness, monkeypatch):
    """The dedup store down: the callback gets 503 so that WeCom sends it again (an empty 200 would lose it;
    WeCom retries three times at most), and the failure is a number."""
    def broken(key: str) -> None:
        raise ConnectionError("dedup store unreachable")

    before = metric(harness.client.get("/metrics").get_data(as_text=True), "factorybot_callbacks_total",
                    route="callback.unhandled", outcome="failed")
    monkeypatch.setattr(harness.app.extensions["bot"].core.dedup, "claim", broken)
    resp, _ = harness.post(harness.builder.text("w1", "SEORD000001"))
    assert resp.status_code == 503
    after = harness.client.get("/metrics").get_data(as_text=True)
    assert metric(after, "factorybot_callbacks_total", route="callback.unhandled", outcome="failed") == before + 1
