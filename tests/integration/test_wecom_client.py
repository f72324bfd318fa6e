from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis as redis_lib

from wecom.cards import Button, button_card
from wecom.client import WeComClient, normalize_api_base
from wecom.errors import Throttled, TransientError, WeComAPIError
from wecom.fake.server import FakeWeComServer

USERS = {"zhangsan": "张三", "lisi": "李四"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeWeComServer]:
    with FakeWeComServer(users=USERS) as srv:
        yield srv


@pytest.fixture
def wecom(server: FakeWeComServer) -> FakeWeComServer:
    server.reset()
    return server


def make_client(srv: FakeWeComServer, **kwargs: object) -> WeComClient:
    return WeComClient(srv.corp_id, srv.secret, srv.agent_id, srv.url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def client(wecom: FakeWeComServer) -> WeComClient:
    return make_client(wecom)


@pytest.fixture
def real_redis(redis_test_url: str) -> Iterator[tuple[redis_lib.Redis, str]]:
    r = redis_lib.Redis.from_url(redis_test_url)
    r.ping()  # fail loudly: these tests are about the real shared Redis
    prefix = f"wecom-test-{uuid.uuid4().hex}"
    yield r, prefix
    for key in r.scan_iter(match=f"{prefix}:*"):
        r.delete(key)
    r.close()


def order_card(task_id: str = "order_SO-1-abc") -> dict:
    return button_card(
        task_id=task_id,
        title="订单 SO-1 待确认",
        rows=[("数量", "5000")],
        buttons=[Button("确认", "ok"), Button("拒绝", "no", style=2)],
    )


def test_api_base_normalisation() -> None:
    assert normalize_api_base("http://127.0.0.1:8930") == "http://127.0.0.1:8930/cgi-bin/"
    assert normalize_api_base("http://127.0.0.1:8930/") == "http://127.0.0.1:8930/cgi-bin/"
    assert normalize_api_base("http://127.0.0.1:8930/cgi-bin") == "http://127.0.0.1:8930/cgi-bin/"
    assert (
        normalize_api_base("https://qyapi.weixin.qq.com/cgi-bin/") == "https://qyapi.weixin.qq.com/cgi-bin/"
    )
    with pytest.raises(ValueError, match="WECOM_API_BASE"):
        normalize_api_base("qyapi.weixin.qq.com")


def test_send_text(client: WeComClient, wecom: FakeWeComServer) -> None:
    result = client.send_text(["zhangsan", "lisi"], "订单 SO-1 已排产")
    assert result["errcode"] == 0 and result["msgid"]
    [call] = wecom.calls(path="message/send")
    assert call["json"]["touser"] == "zhangsan|lisi"
    assert call["json"]["agentid"] == wecom.agent_id
    assert call["json"]["text"] == {"content": "订单 SO-1 已排产"}
    assert call["touser"] == ["zhangsan", "lisi"]
    assert len(wecom.calls(userid="lisi")) == 1
    assert len(wecom.calls(path="gettoken")) == 1


def test_api_base_with_cgi_bin_suffix_works(wecom: FakeWeComServer) -> None:
    c = WeComClient(wecom.corp_id, wecom.secret, wecom.agent_id, wecom.url + "/cgi-bin/")
    assert c.send_markdown(["zhangsan"], "**急单**")["errcode"] == 0
    [call] = wecom.calls(path="message/send")
    assert call["json"]["msgtype"] == "markdown"


def test_long_text_is_truncated_to_2048_bytes(client: WeComClient, wecom: FakeWeComServer) -> None:
    client.send_text(["zhangsan"], "注塑" * 2000)
    [call] = wecom.calls(path="message/send")
    content = call["json"]["text"]["content"]
    assert len(content.encode("utf-8")) <= 2048
    assert content.endswith("…")


def test_send_card_then_update_button_once(client: WeComClient, wecom: FakeWeComServer) -> None:
    result = client.send_card(["zhangsan"], order_card())
    assert result["msgid"] and result["response_code"]
    [call] = wecom.calls(path="message/send")
    assert call["json"]["msgtype"] == "template_card"
    assert call["json"]["template_card"]["task_id"] == "order_SO-1-abc"

    updated = client.update_card(["zhangsan"], result["response_code"], replace_name="已确认")
    assert updated["errcode"] == 0
    [upd] = wecom.calls(path="message/update_template_card")
    assert upd["json"]["button"] == {"replace_name": "已确认"}
    assert upd["json"]["response_code"] == result["response_code"]
    assert upd["touser"] == ["zhangsan"]

    with pytest.raises(WeComAPIError) as err:
        client.update_card(["zhangsan"], result["response_code"], replace_name="再次")
    assert err.value.errcode == 40080


def test_update_with_full_card_and_unknown_code(client: WeComClient, wecom: FakeWeComServer) -> None:
    code = client.send_card(["zhangsan"], order_card())["response_code"]
    new_card = order_card()
    new_card["main_title"]["title"] = "订单 SO-1 已确认"
    assert client.update_card(["zhangsan"], code, card=new_card)["errcode"] == 0
    [upd] = wecom.calls(path="message/update_template_card")
    assert upd["json"]["template_card"]["main_title"]["title"] == "订单 SO-1 已确认"
    with pytest.raises(WeComAPIError) as err:
        client.update_card(["zhangsan"], "never-issued", replace_name="x")
    assert err.value.errcode == 40080
    with pytest.raises(ValueError):
        client.update_card(["zhangsan"], code)


def test_event_response_code_from_fake_is_usable_once(client: WeComClient, wecom: FakeWeComServer) -> None:
    code = wecom.response_code(userid="zhangsan", task_id="order_SO-1-abc")
    assert client.update_card(["zhangsan"], code, replace_name="已处理")["errcode"] == 0
    with pytest.raises(WeComAPIError):
        client.update_card(["zhangsan"], code, replace_name="已处理")


def test_invalid_card_is_refused_locally(client: WeComClient, wecom: FakeWeComServer) -> None:
    card = order_card()
    card["button_list"].append(dict(card["button_list"][0]))
    with pytest.raises(ValueError, match="duplicate"):
        client.send_card(["zhangsan"], card)
    assert wecom.calls(path="message/send") == []


@pytest.mark.redis
def test_token_shared_between_clients_via_redis(
    wecom: FakeWeComServer, real_redis: tuple[redis_lib.Redis, str]
) -> None:
    r, prefix = real_redis
    first = make_client(wecom, redis=r, redis_prefix=prefix)
    second = make_client(wecom, redis=r, redis_prefix=prefix)
    first.send_text(["zhangsan"], "一")
    second.send_text(["zhangsan"], "二")
    assert len(wecom.calls(path="gettoken")) == 1
    assert len(wecom.calls(path="message/send")) == 2
    assert [k.decode() for k in r.scan_iter(match=f"{prefix}:*access_token")], "token not stored in Redis"


@pytest.mark.redis
def test_throttle_counts_across_processes_via_redis(
    wecom: FakeWeComServer, real_redis: tuple[redis_lib.Redis, str]
) -> None:
    r, prefix = real_redis
    a = make_client(wecom, redis=r, redis_prefix=prefix, per_user_per_minute=3)
    b = make_client(wecom, redis=r, redis_prefix=prefix, per_user_per_minute=3)
    a.send_text(["zhangsan"], "1")
    b.send_text(["zhangsan"], "2")
    a.send_text(["zhangsan"], "3")
    with pytest.raises(Throttled) as err:
        b.send_text(["zhangsan"], "4")
    assert 0 < err.value.retry_after <= 60
    assert len(wecom.calls(userid="zhangsan", path="message/send")) == 3


def test_token_revoked_early_is_refetched_once(client: WeComClient, wecom: FakeWeComServer) -> None:
    client.send_text(["zhangsan"], "一")
    wecom.revoke_tokens()
    client.send_text(["zhangsan"], "二")
    sends = wecom.calls(path="message/send")
    assert [c["errcode"] for c in sends] == [0, 40014, 0]
    assert len(wecom.calls(path="gettoken")) == 2


def test_40014_retry_is_bounded(client: WeComClient, wecom: FakeWeComServer) -> None:
    client.get_user("zhangsan")  # warm the token cache
    wecom.fault("message/send", errcode=40014, count=5)
    with pytest.raises(WeComAPIError) as err:
        client.send_text(["zhangsan"], "hi")
    assert err.value.errcode == 40014
    assert len(wecom.calls(path="message/send")) == 2  # original + exactly one retry
    assert len(wecom.calls(path="gettoken")) == 2  # initial + exactly one refetch


def test_42001_then_success(client: WeComClient, wecom: FakeWeComServer) -> None:
    wecom.fault("message/send", errcode=42001, count=1)
    assert client.send_text(["zhangsan"], "hi")["errcode"] == 0
    assert [c["errcode"] for c in wecom.calls(path="message/send")] == [42001, 0]


@pytest.mark.parametrize(
    ("fault", "errcode"),
    [
        ({"http_status": 503}, None),
        ({"http_status": 502}, None),
        ({"errcode": 45009}, 45009),
        ({"errcode": -1}, -1),
    ],
)
def test_transient_faults(
    client: WeComClient, wecom: FakeWeComServer, fault: dict, errcode: int | None
) -> None:
    wecom.fault("message/send", **fault)
    with pytest.raises(TransientError) as err:
        client.send_text(["zhangsan"], "hi")
    assert err.value.errcode == errcode
    assert not isinstance(err.value, Throttled)
    # The fault was single-shot: the Celery retry would succeed.
    assert client.send_text(["zhangsan"], "hi")["errcode"] == 0


def test_permanent_errcode_is_wecom_api_error(client: WeComClient, wecom: FakeWeComServer) -> None:
    wecom.fault("message/send", errcode=81013)
    with pytest.raises(WeComAPIError) as err:
        client.send_text(["zhangsan"], "hi")
    assert err.value.errcode == 81013


def test_gettoken_failure_is_mapped(wecom: FakeWeComServer) -> None:
    wecom.fault("gettoken", http_status=503)
    with pytest.raises(TransientError):
        make_client(wecom).send_text(["zhangsan"], "hi")
    bad = WeComClient(wecom.corp_id, "wrong-secret", wecom.agent_id, wecom.url)
    with pytest.raises(WeComAPIError) as err:
        bad.send_text(["zhangsan"], "hi")
    assert err.value.errcode == 40001
    assert wecom.calls(path="message/send") == []


def test_timeout_is_transient(wecom: FakeWeComServer) -> None:
    c = make_client(wecom, timeout=0.3)
    c.get_user("zhangsan")
    wecom.fault("message/send", delay=1.0)
    with pytest.raises(TransientError, match="network"):
        c.send_text(["zhangsan"], "hi")


def test_gettoken_timeout_is_transient(wecom: FakeWeComServer) -> None:
    wecom.fault("gettoken", delay=1.0)
    with pytest.raises(TransientError):
        make_client(wecom, timeout=0.3).send_text(["zhangsan"], "hi")


def test_connection_refused_is_transient() -> None:
    with FakeWeComServer() as srv:
        url = srv.url
    c = WeComClient("wwfakecorp0001", "fake-secret-0123456789", 1000002, url, timeout=1.0)
    with pytest.raises(TransientError):
        c.send_text(["zhangsan"], "hi")


def test_throttled_after_30_sends_to_one_user(client: WeComClient, wecom: FakeWeComServer) -> None:
    for i in range(30):
        client.send_text(["zhangsan"], f"第{i}条")
    with pytest.raises(Throttled) as err:
        client.send_text(["ZhangSan"], "第31条")  # userids are case-insensitive
    assert 0 < err.value.retry_after <= 60
    assert isinstance(err.value, TransientError)
    assert len(wecom.calls(userid="zhangsan", path="message/send")) == 30  # nothing silently dropped
    # Another member has their own quota; a group send including the throttled member is refused whole.
    assert client.send_text(["lisi"], "你好")["errcode"] == 0
    with pytest.raises(Throttled):
        client.send_text(["lisi", "zhangsan"], "群发")
    assert len(wecom.calls(userid="lisi", path="message/send")) == 1


def test_media_round_trip(client: WeComClient, wecom: FakeWeComServer) -> None:
    pdf = b"%PDF-1.4 fake delivery note " + bytes(range(256))
    media_id = client.upload_media("file", "送货单-SO-1.pdf", pdf)
    [up] = wecom.calls(path="media/upload")
    assert up["params"] == {"type": "file"}
    assert up["files"]["media"]["filename"] == "送货单-SO-1.pdf"  # the name users will see
    data, ctype = client.download_media(media_id)
    assert data == pdf
    assert ctype == "application/pdf"
    assert client.send_file(["zhangsan"], media_id)["errcode"] == 0
    [send] = wecom.calls(path="message/send")
    assert send["json"]["file"] == {"media_id": media_id}


def test_staged_user_photo_download(client: WeComClient, wecom: FakeWeComServer) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"
    media_id = wecom.stage_media(jpeg, "defect.jpg", "image")
    data, ctype = client.download_media(media_id)
    assert data == jpeg and ctype == "image/jpeg"


def test_download_unknown_media_is_api_error(client: WeComClient) -> None:
    with pytest.raises(WeComAPIError) as err:
        client.download_media("MEDIA_does_not_exist")
    assert err.value.errcode == 40007


def test_send_file_with_unknown_media_is_api_error(client: WeComClient) -> None:
    with pytest.raises(WeComAPIError) as err:
        client.send_file(["zhangsan"], "MEDIA_nope")
    assert err.value.errcode == 40007


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        ("file", 5),
        ("image", 3),
        ("image", 10 * 1024 * 1024 + 1),
        ("file", 20 * 1024 * 1024 + 1),
        ("gif", 100),
    ],
)
def test_upload_limits_are_checked_locally(
    client: WeComClient, wecom: FakeWeComServer, kind: str, size: int
) -> None:
    with pytest.raises(ValueError):
        client.upload_media(kind, "x.bin", b"x" * size)
    assert wecom.calls(path="media/upload") == []


def test_fake_enforces_size_limit_too(wecom: FakeWeComServer) -> None:
    import requests

    token = requests.get(
        f"{wecom.url}/cgi-bin/gettoken",
        params={"corpid": wecom.corp_id, "corpsecret": wecom.secret},
        timeout=5,
    ).json()
    res = requests.post(
        f"{wecom.url}/cgi-bin/media/upload",
        params={"access_token": token["access_token"], "type": "image"},
        files={"media": ("big.png", b"x" * (10 * 1024 * 1024 + 1))},
        timeout=30,
    )
    assert res.json()["errcode"] == 40006


def test_oauth_code_is_single_use(client: WeComClient, wecom: FakeWeComServer) -> None:
    code = wecom.oauth_code("zhangsan")
    assert client.userid_from_oauth_code(code) == "zhangsan"
    with pytest.raises(WeComAPIError) as err:
        client.userid_from_oauth_code(code)
    assert err.value.errcode == 40029


def test_get_user(client: WeComClient) -> None:
    assert client.get_user("lisi")["name"] == "李四"
    with pytest.raises(WeComAPIError) as err:
        client.get_user("nobody")
    assert err.value.errcode == 60111
