"""Tokens a request carries: a bad one (non-ASCII included) is a 4xx, never a 500; the ops endpoints are
open to this machine's own socket only, and behind a trusted proxy only with OPS_TOKEN."""

from __future__ import annotations

import pytest
from flask import request, url_for

from bot.app import create_app
from bot.queue import RecordingQueue
from bot.web_auth import SESSION_USER
from domain import qr_payload
from factorybot.config import ConfigError
from tests.bot.conftest import LABEL_KEY, make_settings

OPS_TOKEN = "ops-token-0123456789abcdef"
PROXY_HEADERS = ("X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Via", "X-Original-Forwarded-For",
                 "X-Forwarded-Server", "X-Forwarded-For", "X-Real-IP", "Forwarded", "Fastly-Client-IP",
                 "X-Cluster-Client-IP", "X-Forwarded-Host")


def app_with(db_url, fake_wecom, **extra):
    return create_app(make_settings(db_url, fake_wecom.url, label_key=LABEL_KEY, **extra), queue=RecordingQueue())


def test_a_non_ascii_form_token_is_refused_not_a_500(harness):
    client = harness.client
    with client.session_transaction() as s:
        s[SESSION_USER] = "w1"
    payload = qr_payload.encode("WO20261125-01", b"unused")
    for token in ("é.x", "é", "工单.令牌"):
        resp = client.post("/forms/report", data={"wo": payload, "token": token, "good": "1"})
        assert resp.status_code == 400 and "表单已失效" in resp.get_data(as_text=True), token
    raw = client.post("/forms/report", data=b"wo=x&token=%FF%FE.x&good=1",
                      content_type="application/x-www-form-urlencoded")  # not even UTF-8
    assert raw.status_code == 400 and "表单已失效" in raw.get_data(as_text=True)


def test_a_non_ascii_bearer_token_is_a_403(db_url, plant_db, fake_wecom):
    client = app_with(db_url, fake_wecom, ops_token=OPS_TOKEN).test_client()
    for given in ("Bearer é", "Bearer " + "é" * 30, "é", "Bearer ops-token-0123456789abcdeé"):
        for path in ("/readyz", "/metrics"):
            assert client.get(path, headers={"Authorization": given}).status_code == 403, (path, given)
    assert client.get("/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"}).status_code == 200


def test_a_non_ascii_display_token_is_refused_not_a_500(harness):
    client = harness.client
    assert client.get("/board/wall?token=%C3%A9").status_code == 403
    assert client.get("/board/wall?token=%FF%FE").status_code == 403
    assert client.get("/board/data.json", headers={"X-Display-Token": "é"}).status_code == 401
    assert client.get("/board/data.json?token=%C3%A9").status_code == 401


@pytest.mark.parametrize("header", PROXY_HEADERS)
def test_any_forwarding_header_makes_a_loopback_request_remote(harness, header):
    client = harness.client
    for path in ("/readyz", "/metrics"):
        resp = client.get(path, headers={header: "203.0.113.9"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert resp.status_code == 403, (path, header)


def test_this_machine_without_a_proxy_still_reads_metrics(harness):
    resp = harness.client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 200 and b"factorybot_" in resp.data
    assert harness.client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 403


def test_behind_a_trusted_proxy_the_app_refuses_to_start_without_an_ops_token(db_url, plant_db, fake_wecom):
    with pytest.raises(ConfigError) as refused:
        app_with(db_url, fake_wecom, trusted_proxies=1)
    assert "TRUSTED_PROXIES" in str(refused.value) and "OPS_TOKEN" in str(refused.value)


def test_behind_a_trusted_proxy_the_token_opens_ops_and_the_clients_scheme_and_host_are_used(
        db_url, plant_db, fake_wecom):
    app = app_with(db_url, fake_wecom, trusted_proxies=1, ops_token=OPS_TOKEN,
                   public_url="https://bot.example.com")

    @app.get("/_probe")
    def probe() -> dict[str, str | None]:
        return {"url": url_for("ops.healthz", _external=True), "client": request.remote_addr,
                "scheme": request.scheme}

    client = app.test_client()
    caddy = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com"}
    seen = client.get("/_probe", headers=caddy, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_json()
    assert seen == {"url": "https://bot.example.com/healthz", "client": "203.0.113.9", "scheme": "https"}
    assert client.get("/metrics", headers=caddy).status_code == 403
    ok = client.get("/metrics", headers={**caddy, "Authorization": f"Bearer {OPS_TOKEN}"})
    assert ok.status_code == 200
