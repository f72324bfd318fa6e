from __future__ import annotations

import pytest
import xmltodict

from wecom.crypto import WeComCrypto, sign
from wecom.errors import CallbackRejected

# Set B: the legacy 企业号 sample from Tencent's WXBizMsgCrypt docs and SDK samples.
B_TOKEN = "QDG6eK"
B_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
B_CORP = "wx5823bf96d3bd56c7"
B_GET = {
    "signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
B_POST_SIG = "477715d11cdb4164915debcba66cb864d751f3e6"
B_POST_TS = "1409659813"
B_POST_NONCE = "1372623149"
B_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+"
    "HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJ"
    "B3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fV"
    "Kn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
B_BODY = (
    f"<xml><ToUserName><![CDATA[{B_CORP}]]></ToUserName><Encrypt><![CDATA[{B_ENCRYPT}]]></Encrypt>"
    "<AgentID><![CDATA[218]]></AgentID></xml>"
)

# Set C: wechatpy v1.8.18 tests/test_crypto.py (enterprise).
C_TOKEN = "123456"
C_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
C_CORP = "wx49f0ab532d5d035a"
C_BODY = """<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>"""
C_SIG = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
C_TS = "1411525903"
C_NONCE = "461056294"

PLAIN = (
    "<xml><ToUserName><![CDATA[wwfakecorp0001]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[你好 ]]]]><![CDATA[> +/=]]></Content><MsgId>1</MsgId><AgentID>1000002</AgentID></xml>"
)


@pytest.fixture
def crypto_b() -> WeComCrypto:
    return WeComCrypto(B_TOKEN, B_KEY, B_CORP)


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto("factorybot-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wwfakecorp0001")


def test_set_b_get_verify_returns_echostr_plaintext(crypto_b: WeComCrypto) -> None:
    assert crypto_b.verify_url(**B_GET) == "1616140317555161061"


def test_set_b_get_verify_tolerates_plus_decoded_as_space(crypto_b: WeComCrypto) -> None:
    mangled = {**B_GET, "echostr": B_GET["echostr"].replace("+", " ")}
    assert crypto_b.verify_url(**mangled) == "1616140317555161061"


def test_set_b_post_decrypts_hello_from_mycreate(crypto_b: WeComCrypto) -> None:
    plain = crypto_b.decrypt(B_BODY.encode(), B_POST_SIG, B_POST_TS, B_POST_NONCE)
    msg = xmltodict.parse(plain)["xml"]
    assert msg["Content"] == "hello"
    assert msg["FromUserName"] == "mycreate"
    assert msg["MsgId"] == "4561255354251345929"
    assert msg["AgentID"] == "218"


def test_set_c_decrypt(ours: WeComCrypto) -> None:
    crypto = WeComCrypto(C_TOKEN, C_KEY, C_CORP)
    msg = xmltodict.parse(crypto.decrypt(C_BODY, C_SIG, C_TS, C_NONCE))["xml"]
    assert (msg["Content"], msg["FromUserName"]) == ("test", "messense")


def test_sign_matches_official_vector() -> None:
    assert sign(B_TOKEN, B_POST_TS, B_POST_NONCE, B_ENCRYPT) == B_POST_SIG


def test_round_trip_seal_decrypt_encrypt_open(ours: WeComCrypto) -> None:
    body, signature = ours.seal(PLAIN, "1700000000", "nonce123")
    envelope = xmltodict.parse(body)["xml"]
    assert list(envelope) == ["ToUserName", "Encrypt", "AgentID"]
    assert envelope["ToUserName"] == "wwfakecorp0001"
    assert envelope["AgentID"] == "1000002"
    assert ours.decrypt(body, signature, "1700000000", "nonce123") == PLAIN

    reply = "<xml><Content><![CDATA[收到]]></Content></xml>"
    encrypted = ours.encrypt(reply, "n2", 1700000001)
    fields = xmltodict.parse(encrypted)["xml"]
    assert fields["TimeStamp"] == "1700000001" and fields["Nonce"] == "n2"
    assert "收到" not in encrypted
    assert ours.open_reply(encrypted) == reply


def test_seal_echostr_round_trip(ours: WeComCrypto) -> None:
    echostr, signature = ours.seal_echostr("424242", "1", "n")
    assert ours.verify_url(signature, "1", "n", echostr) == "424242"


def test_bad_signature_is_403(crypto_b: WeComCrypto) -> None:
    with pytest.raises(CallbackRejected) as err:
        crypto_b.decrypt(B_BODY, "0" * 40, B_POST_TS, B_POST_NONCE)
    assert err.value.status == 403
    with pytest.raises(CallbackRejected) as err:
        crypto_b.verify_url(**{**B_GET, "nonce": "1"})
    assert err.value.status == 403


def test_tampered_reply_signature_is_403(ours: WeComCrypto) -> None:
    encrypted = ours.encrypt("<xml/>", "n", "1")
    sig = xmltodict.parse(encrypted)["xml"]["MsgSignature"]
    with pytest.raises(CallbackRejected) as err:
        ours.open_reply(encrypted.replace(sig, "f" * 40))
    assert err.value.status == 403


def test_wrong_corp_id_is_403() -> None:
    crypto = WeComCrypto(B_TOKEN, B_KEY, "wwsomeothercorp")
    with pytest.raises(CallbackRejected) as err:
        crypto.decrypt(B_BODY, B_POST_SIG, B_POST_TS, B_POST_NONCE)
    assert err.value.status == 403
    assert "corp" in err.value.reason


def test_not_xml_is_400(crypto_b: WeComCrypto) -> None:
    with pytest.raises(CallbackRejected) as err:
        crypto_b.decrypt(b'{"Encrypt": "x"}', B_POST_SIG, B_POST_TS, B_POST_NONCE)
    assert err.value.status == 400


def test_non_utf8_body_is_400(crypto_b: WeComCrypto) -> None:
    with pytest.raises(CallbackRejected) as err:
        crypto_b.decrypt(b"<xml>\xff\xfe</xml>", B_POST_SIG, B_POST_TS, B_POST_NONCE)
    assert err.value.status == 400


def test_missing_encrypt_is_400(crypto_b: WeComCrypto) -> None:
    with pytest.raises(CallbackRejected) as err:
        crypto_b.decrypt("<xml><ToUserName>x</ToUserName></xml>", B_POST_SIG, B_POST_TS, B_POST_NONCE)
    assert err.value.status == 400
    assert "Encrypt" in err.value.reason


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        "<xml><Encrypt>&lol2;</Encrypt></xml>",
        '<!doctype xml SYSTEM "file:///etc/passwd"><xml><Encrypt>a</Encrypt></xml>',
        '<xml><!ENTITY x "y"><Encrypt>a</Encrypt></xml>',
    ],
)
def test_doctype_and_entities_are_400(crypto_b: WeComCrypto, body: str) -> None:
    with pytest.raises(CallbackRejected) as err:
        crypto_b.decrypt(body.encode(), B_POST_SIG, B_POST_TS, B_POST_NONCE)
    assert err.value.status == 400
    assert "DOCTYPE" in err.value.reason


@pytest.mark.parametrize("garbage", ["not-base64!!", "QUJD", "A" * 64])
def test_garbage_ciphertext_with_valid_signature_is_400(ours: WeComCrypto, garbage: str) -> None:
    signature = sign(ours.token, "1", "n", garbage)
    body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>"
    with pytest.raises(CallbackRejected) as err:
        ours.decrypt(body, signature, "1", "n")
    assert err.value.status == 400


def test_wrong_but_well_formed_key_is_rejected_not_500(ours: WeComCrypto) -> None:
    body, signature = ours.seal(PLAIN, "1", "n")
    other = WeComCrypto(ours.token, "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut", ours.corp_id)
    with pytest.raises(CallbackRejected) as err:
        other.decrypt(body, signature, "1", "n")
    assert err.value.status in (400, 403)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "short",
        B_KEY[:42],  # 42 chars: binascii padding error inside wechatpy
        B_KEY + "A",
        B_KEY[:42] + "!",  # non-base64 character
    ],
)
def test_bad_aes_key_names_the_variable(key: str) -> None:
    with pytest.raises(ValueError, match="WECOM_AES_KEY"):
        WeComCrypto(B_TOKEN, key, B_CORP)


@pytest.mark.parametrize("dtd", ['<!DOCTYPE xml [<!ENTITY a "b">]>', "<!doctype xml>", '<!ENTITY a "b">'])
def test_a_dtd_inside_the_plaintext_is_refused_after_decrypting(ours: WeComCrypto, dtd: str) -> None:
    from wechatpy.enterprise.crypto import PrpCrypto

    encrypt = PrpCrypto(ours.key).encrypt(dtd + PLAIN, "wwfakecorp0001").decode("ascii")
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    with pytest.raises(CallbackRejected) as info:
        ours.decrypt(body, sign(ours.token, "1", "n", encrypt), "1", "n")
    assert info.value.status == 400 and "plaintext" in str(info.value)
