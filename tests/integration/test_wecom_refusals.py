"""The refusals a go-live meets (untrusted IP, API forbidden, nobody in the visible range, a suite token, another
app's agent), answered by the fake WeCom over HTTP as WeCom answers them: each becomes one Chinese line for the
operator, in the error, in the log and in /readyz, until a call to that API succeeds again."""

from __future__ import annotations

import logging
import uuid

import pytest
import redis as redis_lib

from bot.app import create_app
from bot.queue import RecordingQueue
from tests.bot.conftest import make_settings
from wecom.client import WeComClient
from wecom.errors import WeComAPIError
from wecom.fake.server import FakeWeComServer

IP_LINE = "企业微信拒绝了本服务器的 IP：请在应用的企业可信IP中加入"


@pytest.fixture
def wecom(fake_wecom: FakeWeComServer) -> FakeWeComServer:
    fake_wecom.reset()
    return fake_wecom


def client_for(srv: FakeWeComServer, **kwargs: object) -> WeComClient:
    return WeComClient(srv.corp_id, srv.secret, srv.agent_id, srv.url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("errcode", "api", "line"),
    [
        (60020, "message/send", f"{IP_LINE} 203.0.113.7；该项需先设置接收消息服务器 URL 或可信域名"),
        (48002, "message/send", "企业微信拒绝调用该接口（API 无权限）：请确认 WECOM_SECRET 是本自建应用的 Secret"),
        (81013, "message/send", "企业微信认为接收人全部无效：这些成员已被删除，或不在应用的可见范围"),
        (40082, "gettoken", "企业微信不接受调用凭证（不合法的 suite_token）：本服务按企业自建应用调用"),
        (301002, "message/send", "企业微信拒绝操作该应用（无权限操作指定的应用）：WECOM_AGENT_ID 与 WECOM_SECRET 不属于同一个应用"),
    ],
)
def test_each_refusal_is_one_chinese_line_in_the_error_and_the_log(
    wecom: FakeWeComServer, caplog: pytest.LogCaptureFixture, errcode: int, api: str, line: str
) -> None:
    client = client_for(wecom)

    def call() -> None:
        if api == "gettoken":
            client.check_token()
        else:
            client.send_text(["zhangsan"], "早班开工")

    wecom.fault(api, errcode=errcode, from_ip="203.0.113.7")
    with caplog.at_level(logging.ERROR, logger="wecom.client"), pytest.raises(WeComAPIError) as err:
        call()
    assert err.value.errcode == errcode
    assert str(err.value).startswith(line)
    assert f"WeCom errcode {errcode}" in str(err.value)  # WeCom's own text stays, for a ticket to Tencent
    assert [r.getMessage() for r in caplog.records if r.name == "wecom.client"] == [
        f"{api}：{err.value.hint}"]
    assert [(r.api, r.errcode) for r in client.refusals()] == [(api, errcode)]
    call()  # fixed in the console: the next call goes through
    assert client.refusals() == []


def test_untrusted_ip_names_the_callers_address(wecom: FakeWeComServer) -> None:
    wecom.fault("media/upload", errcode=60020)  # no from_ip: WeCom names the address the call came from
    with pytest.raises(WeComAPIError) as err:
        client_for(wecom).upload_media("file", "a.pdf", b"%PDF-1.4 data")
    assert err.value.hint == f"{IP_LINE} 127.0.0.1；该项需先设置接收消息服务器 URL 或可信域名"


def test_other_errors_keep_wecoms_text_alone(wecom: FakeWeComServer) -> None:
    wecom.fault("message/send", errcode=40058)
    client = client_for(wecom)
    with pytest.raises(WeComAPIError) as err:
        client.send_text(["zhangsan"], "hi")
    assert err.value.hint == "" and str(err.value) == "WeCom errcode 40058: fault injected"
    assert client.refusals() == []


def test_a_refusal_met_by_the_worker_is_seen_by_the_web_process_through_redis(
    wecom: FakeWeComServer, redis_test_url: str
) -> None:
    r = redis_lib.Redis.from_url(redis_test_url)
    prefix = f"wecom-test-{uuid.uuid4().hex}"
    try:
        worker, web = (client_for(wecom, redis=r, redis_prefix=prefix) for _ in range(2))
        wecom.fault("message/send", errcode=48002)
        with pytest.raises(WeComAPIError):
            worker.send_text(["zhangsan"], "hi")
        assert [x.errcode for x in web.refusals()] == [48002]
        worker.send_text(["zhangsan"], "hi")
        assert web.refusals() == []
    finally:
        for key in r.scan_iter(match=f"{prefix}:*"):
            r.delete(key)
        r.close()


def test_readyz_says_what_to_change_and_recovers(db_url: str, wecom: FakeWeComServer) -> None:
    app = create_app(make_settings(db_url, wecom.url), queue=RecordingQueue())
    client = app.test_client()  # from 127.0.0.1: allowed without OPS_TOKEN
    deps = app.extensions["bot"]

    wecom.fault("gettoken", errcode=60020, from_ip="198.51.100.20")
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["failing"] == ["wecom"]
    assert body["checks"]["wecom"]["detail"].startswith(f"{IP_LINE} 198.51.100.20；")

    assert client.get("/readyz").status_code == 200  # the token came: nothing else was refused yet
    wecom.fault("message/send", errcode=301002)
    with pytest.raises(WeComAPIError):
        deps.client.send_text(["zhangsan"], "hi")
    body = client.get("/readyz").get_json()
    assert body["failing"] == ["wecom"]
    assert body["checks"]["wecom"]["detail"] == (
        "message/send：企业微信拒绝操作该应用（无权限操作指定的应用）：WECOM_AGENT_ID 与 WECOM_SECRET 不属于同一个应用，"
        "请在应用详情页核对 AgentId 和 Secret")
    deps.client.send_text(["zhangsan"], "hi")
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.get_json()["checks"]["wecom"]["detail"] == "access token ok"
