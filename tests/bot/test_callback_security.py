"""Only WeCom's own, well-formed callbacks run anything."""

from __future__ import annotations

import pytest
import xmltodict
from sqlalchemy import func, select

from bot.app import create_app
from bot.queue import RecordingQueue
from domain.models import ProcessedMessage
from tests.bot.conftest import make_settings, uow_for
from wecom.crypto import WeComCrypto

# Tencent's legacy 企业号 sample (WXBizMsgCrypt), as quoted in the WeCom docs.
VECTOR_TOKEN = "QDG6eK"
VECTOR_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
VECTOR_CORP = "wx5823bf96d3bd56c7"
VECTOR_GET = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
VECTOR_POST = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
               "nonce": "1372623149"}
VECTOR_NOW = 1409659700  # between the GET (…589) and the POST (…813) timestamps
VECTOR_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsi"
    "jff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax"
    "5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGH"
    "BZZIs2pDBS8R07+qN+E7Q=="
)


@pytest.fixture
def vector_app(db_url, fake_wecom):
    settings = make_settings(db_url, fake_wecom.url).model_copy(
        update={"wecom_token": VECTOR_TOKEN, "wecom_aes_key": VECTOR_KEY, "wecom_corp_id": VECTOR_CORP,
                "wecom_agent_id": 218}
    )
    app = create_app(settings, queue=RecordingQueue())
    # Tencent signed the vectors in 2014: our clock is set to then, so only the signature is under test here.
    app.extensions["bot"].crypto.clock = lambda: VECTOR_NOW
    return app


def test_official_url_verification_vector(vector_app):
    resp = vector_app.test_client().get("/wecom/callback", query_string=VECTOR_GET)
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "1616140317555161061"


def test_official_message_vector_is_accepted_and_answered(vector_app):
    body = f"<xml><ToUserName><![CDATA[{VECTOR_CORP}]]></ToUserName><Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt>" \
           "<AgentID><![CDATA[218]]></AgentID></xml>"
    resp = vector_app.test_client().post("/wecom/callback", query_string=VECTOR_POST, data=body)
    assert resp.status_code == 200
    plain = WeComCrypto(VECTOR_TOKEN, VECTOR_KEY, VECTOR_CORP).open_reply(resp.get_data(as_text=True))
    reply = xmltodict.parse(plain)["xml"]
    # The vector's sender "mycreate" is not one of the plant's people.
    assert reply["ToUserName"] == "mycreate" and "尚未开通" in reply["Content"]


def processed_count(harness) -> int:
    with uow_for(harness) as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessedMessage))


def test_forged_and_hostile_callbacks_are_rejected_and_change_nothing(harness):
    signed = harness.builder.sign(harness.builder.text("w1", "全部 小熊"))
    client = harness.client
    cases = {
        "bad signature": (dict(signed.query, msg_signature="0" * 40), signed.body, 403),
        "missing signature": ({k: v for k, v in signed.query.items() if k != "msg_signature"}, signed.body, 400),
        "not xml": (signed.query, "hello world", 400),
        "no Encrypt": (signed.query, "<xml><ToUserName>x</ToUserName></xml>", 400),
        "entity bomb": (signed.query, '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                        '<!ENTITY lol2 "&lol;&lol;&lol;">]><xml><Encrypt>&lol2;</Encrypt></xml>', 400),
        "oversized": (signed.query, "<xml><Encrypt>" + "A" * 200_000 + "</Encrypt></xml>", 400),
    }
    for name, (query, body, status) in cases.items():
        resp = client.post("/wecom/callback", query_string=query, data=body)
        assert resp.status_code == status, name
    assert harness.queue.calls == [] and processed_count(harness) == 0


def test_wrong_corp_id_is_rejected(harness):
    from tests.bot.conftest import AES_KEY, TOKEN

    other = WeComCrypto(TOKEN, AES_KEY, "wwsomeoneelse")
    harness_other = type(harness)(harness.app, harness.client, harness.queue,
                                  type(harness.builder)(other, "wwsomeoneelse", 1000002), other)
    resp, _ = harness_other.post(harness_other.builder.text("w1", "帮助"))
    assert resp.status_code == 403 and processed_count(harness) == 0


def test_same_key_right_corp_but_other_agent_is_rejected(harness):
    builder = type(harness.builder)(harness.crypto, harness.builder.corp_id, 999)
    resp = harness.client.post("/wecom/callback", **_req(builder.sign(builder.text("w1", "帮助"))))
    assert resp.status_code == 400


def _req(signed):
    return {"query_string": signed.query, "data": signed.body}


def test_bad_verify_request(harness):
    assert harness.client.get("/wecom/callback", query_string={"msg_signature": "x", "timestamp": "1", "nonce": "1",
                                                               "echostr": "abc"}).status_code == 403
    assert harness.client.get("/wecom/callback").status_code == 400


def _sealed_raw(harness, plain: str) -> dict[str, object]:
    """Encrypt and sign `plain` as WeCom would, without our own sealer's refusal of a DTD."""
    import secrets
    import time

    from wechatpy.enterprise.crypto import PrpCrypto

    from tests.bot.conftest import CORP_ID, TOKEN
    from wecom.crypto import sign

    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    encrypt = PrpCrypto(harness.crypto.key).encrypt(plain, CORP_ID).decode("ascii")
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>" \
           "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    query = {"msg_signature": sign(TOKEN, timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}
    return {"query_string": query, "data": body}


@pytest.mark.parametrize("dtd", [
    '<!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
    '<!DOCTYPE xml SYSTEM "file:///etc/passwd">',
    '<!doctype xml>',
])
def test_a_doctype_inside_the_decrypted_plaintext_is_rejected_and_changes_nothing(harness, dtd):
    from domain.models import ActionEvent

    message = harness.builder.text("w1", "全部 小熊")
    # The same message without the DTD is a good callback: only the DTD is refused.
    hostile = message.replace("<xml>", f'<?xml version="1.0"?>{dtd}<xml>', 1).replace("全部 小熊", "&lol2;")
    resp = harness.client.post("/wecom/callback", **_sealed_raw(harness, hostile))
    assert resp.status_code == 400 and b"lol" not in resp.data
    with uow_for(harness) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ActionEvent)) == 0
    assert harness.queue.calls == [] and processed_count(harness) == 0
    good = harness.client.post("/wecom/callback", **_sealed_raw(harness, message))
    assert good.status_code == 200 and [name for name, _ in harness.queue.calls] == ["bot.run_deferred"]


# --- freshness: a signed callback is refused when its timestamp is not within ±10 minutes of our clock ------

NOW = 1_800_000_000


def _signed_at(harness, plain: str, timestamp: str) -> dict[str, object]:
    """`plain` sealed and signed by WeCom's key with this timestamp, whatever it is."""
    nonce = "n0nce"
    body, signature = harness.crypto.seal(plain, timestamp, nonce)
    return {"query_string": {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, "data": body}


def _rejected_total(harness) -> float:
    from tests.bot.test_observability import metric

    return metric(harness.client.get("/metrics").get_data(as_text=True), "factorybot_callbacks_total",
                  route="callback.rejected", outcome="rejected")


@pytest.mark.parametrize("timestamp", ["0", "-1", "abc", "1e9", str(NOW - 601), str(NOW + 601),
                                       str(NOW - 365 * 86400)])
def test_a_signed_callback_outside_the_window_is_refused_and_changes_nothing(harness, timestamp):
    from domain.models import ActionEvent

    harness.app.extensions["bot"].crypto.clock = lambda: NOW
    before = _rejected_total(harness)
    resp = harness.client.post("/wecom/callback", **_signed_at(harness, harness.builder.text("w1", "SEORD000001"),
                                                               timestamp))
    assert resp.status_code == 400 and resp.get_data(as_text=True) == "bad request"
    assert _rejected_total(harness) == before + 1
    assert harness.queue.calls == [] and processed_count(harness) == 0
    with uow_for(harness) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ActionEvent)) == 0


def test_an_unsigned_old_callback_is_still_refused_as_unsigned(harness):
    """The timestamp is looked at only after the signature: a forger learns nothing from it."""
    harness.app.extensions["bot"].crypto.clock = lambda: NOW
    signed = _signed_at(harness, harness.builder.text("w1", "SEORD000001"), "0")
    forged = dict(signed, query_string=dict(signed["query_string"], msg_signature="0" * 40))
    assert harness.client.post("/wecom/callback", **forged).status_code == 403
    missing = dict(signed, query_string={k: v for k, v in signed["query_string"].items() if k != "msg_signature"})
    assert harness.client.post("/wecom/callback", **missing).status_code == 400


@pytest.mark.parametrize("timestamp", [NOW - 599, NOW + 599])
def test_a_callback_inside_the_window_is_answered(harness, timestamp):
    harness.app.extensions["bot"].crypto.clock = lambda: NOW
    resp = harness.client.post("/wecom/callback", **_signed_at(harness, harness.builder.text("w1", "SEORD000001"),
                                                               str(timestamp)))
    assert "SEORD000001" in harness.reply_text(resp) and processed_count(harness) == 1


def test_a_replay_inside_the_window_is_answered_from_dedup_and_after_it_refused(harness):
    clock = {"now": NOW}
    harness.app.extensions["bot"].crypto.clock = lambda: clock["now"]
    request = _signed_at(harness, harness.builder.text("w1", "SEORD000001"), str(NOW))
    first = harness.client.post("/wecom/callback", **request)
    clock["now"] = NOW + 300
    again = harness.client.post("/wecom/callback", **request)
    assert harness.reply(again) == harness.reply(first) and "SEORD000001" in harness.reply_text(first)
    assert processed_count(harness) == 1
    # Past the window (and so past the dedup TTL of the same length) the identical request no longer runs.
    clock["now"] = NOW + 601
    assert harness.client.post("/wecom/callback", **request).status_code == 400
    assert processed_count(harness) == 1


def test_url_verification_checks_the_timestamp_too(harness):
    harness.app.extensions["bot"].crypto.clock = lambda: NOW

    def verify(timestamp: str):
        echostr, signature = harness.crypto.seal_echostr("4242", timestamp, "n")
        return harness.client.get("/wecom/callback", query_string={"msg_signature": signature, "timestamp": timestamp,
                                                                   "nonce": "n", "echostr": echostr})

    assert [verify(t).status_code for t in ("0", "abc", str(NOW - 601), str(NOW + 601))] == [400] * 4
    ok = verify(str(NOW - 599))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "4242"


def test_the_window_is_a_setting(db_url, plant_db, fake_wecom):
    from tests.bot.conftest import AGENT_ID, CORP_ID
    from wecom.simulate import CallbackBuilder

    app = create_app(make_settings(db_url, fake_wecom.url, callback_max_skew_seconds=60), queue=RecordingQueue())
    crypto = app.extensions["bot"].crypto
    crypto.clock = lambda: NOW
    builder = CallbackBuilder(crypto, CORP_ID, AGENT_ID, clock=lambda: NOW - 61)
    signed = builder.sign(builder.text("w1", "SEORD000001"))
    assert app.test_client().post("/wecom/callback", query_string=signed.query, data=signed.body).status_code == 400
