"""Every callback is counted by route and outcome, timed, logged as one JSON line, and kept for usage."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from bot.observability import JsonFormatter
from domain.models import ActionEvent
from tests.bot.conftest import uow_for


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
