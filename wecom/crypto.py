"""Callback encryption (WXBizMsgCrypt) on top of wechatpy's enterprise crypto.

wechatpy does the AES work; this wrapper adds what it lacks: key validation at startup,
a constant-time signature check, refusal of DTD/entity payloads before any XML parser
sees them, and one exception type (CallbackRejected) carrying the HTTP status to answer.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Callable
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from wecom.aes_key import decode_aes_key
from wecom.errors import CallbackRejected

# Everything a corrupt ciphertext, wrong key or odd body can raise inside wechatpy.
_DECODE_ERRORS = (
    KeyError,
    ExpatError,
    ValueError,
    struct.error,
    binascii.Error,
    UnicodeDecodeError,
    TypeError,
    IndexError,
    AttributeError,
)

_TIMESTAMP = re.compile(r"-?[0-9]{1,15}")
_DTD_MARKERS = (b"<!doctype", b"<!entity")


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """msg_signature = sha1 of the four strings sorted and concatenated."""
    parts = sorted(str(p) for p in (token, timestamp, nonce, encrypt))
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def validate_aes_key(aes_key: str) -> bytes:
    """Return the 32-byte key or raise ValueError naming the env variable operators must fix."""
    try:
        return decode_aes_key(aes_key)
    except ValueError as exc:
        raise ValueError(f"WECOM_AES_KEY {exc}") from None


def _has_dtd(data: bytes | str) -> bool:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    lowered = raw.lower()
    return any(marker in lowered for marker in _DTD_MARKERS)


def _parse_envelope(body: bytes | str) -> dict[str, object]:
    """Parse a small WeCom XML envelope (<xml>…</xml>) or raise CallbackRejected(400)."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CallbackRejected(400, "body is not UTF-8") from exc
    elif isinstance(body, str):
        text = body
    else:
        raise CallbackRejected(400, "body must be bytes or str")
    # An XML bomb must never reach a parser, even one that claims to disable entities.
    if _has_dtd(text):
        raise CallbackRejected(400, "DOCTYPE/ENTITY not allowed")
    if not text.strip():
        raise CallbackRejected(400, "empty body")
    try:
        doc = xmltodict.parse(text)
    except (ExpatError, ValueError) as exc:
        raise CallbackRejected(400, f"body is not XML: {exc}") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise CallbackRejected(400, "body is not a WeCom <xml> envelope")
    return root


def _text_field(root: dict[str, object], name: str) -> str:
    value = root.get(name)
    if not isinstance(value, str) or not value:
        raise CallbackRejected(400, f"missing {name}")
    return value


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeComCrypto:
    """Encrypts and decrypts callback payloads for one self-built app."""

    def __init__(self, token: str, aes_key: str, corp_id: str) -> None:
        if not token:
            raise ValueError("WECOM_TOKEN must not be empty")
        if not corp_id:
            raise ValueError("WECOM_CORP_ID must not be empty")
        self.key = validate_aes_key(aes_key)
        self.token = token
        self.corp_id = corp_id
        self._crypto = WeChatCrypto(token, aes_key, corp_id)
        # Wall-clock seconds for the freshness check; its own, so tests that pin the plant clock (BotCore.clock)
        # still sign callbacks with the real time, and a test of freshness can set this one.
        self.clock: Callable[[], float] = time.time

    # --- callback side -------------------------------------------------------------------

    def _check_signature(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = sign(self.token, str(timestamp), str(nonce), encrypt)
        # wechatpy compares with !=; do a constant-time check first so timing leaks nothing.
        if not hmac.compare_digest(expected.encode(), str(signature or "").encode()):
            raise CallbackRejected(403, "bad msg_signature")

    def _decrypt_encrypt_field(self, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
        self._check_signature(signature, timestamp, nonce, encrypt)
        try:
            return self._crypto.decrypt_message({"Encrypt": encrypt}, signature, str(timestamp), str(nonce))
        except InvalidSignatureException as exc:
            raise CallbackRejected(403, "bad msg_signature") from exc
        except InvalidCorpIdException as exc:
            raise CallbackRejected(403, "corp id mismatch") from exc
        except _DECODE_ERRORS as exc:
            raise CallbackRejected(400, f"undecryptable payload: {type(exc).__name__}") from exc

    def check_fresh(self, timestamp: str, max_skew_seconds: int) -> None:
        """Refuse (400) a callback signed at a time not within max_skew_seconds of now. Call it only after the
        signature check: the timestamp is signed, so only then is it WeCom's and not a forger's."""
        if not _TIMESTAMP.fullmatch(str(timestamp)):
            raise CallbackRejected(400, "timestamp is not an integer")
        skew = int(timestamp) - self.clock()
        if abs(skew) > max_skew_seconds:
            raise CallbackRejected(400, f"timestamp {skew:+.0f} s from now, outside ±{max_skew_seconds} s")

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET URL verification: return the decrypted echostr to send back as the body."""
        if not echostr:
            raise CallbackRejected(400, "missing echostr")
        # Some proxies hand us a raw '+' decoded as a space.
        echostr = echostr.replace(" ", "+")
        self._check_signature(signature, timestamp, nonce, echostr)
        try:
            return self._crypto.check_signature(signature, str(timestamp), str(nonce), echostr)
        except InvalidSignatureException as exc:
            raise CallbackRejected(403, "bad msg_signature") from exc
        except InvalidCorpIdException as exc:
            raise CallbackRejected(403, "corp id mismatch") from exc
        except _DECODE_ERRORS as exc:
            raise CallbackRejected(400, f"undecryptable echostr: {type(exc).__name__}") from exc

    def decrypt(self, body: bytes | str, signature: str, timestamp: str, nonce: str) -> str:
        """POST callback: verify and decrypt the envelope, returning the plaintext XML."""
        root = _parse_envelope(body)
        encrypt = _text_field(root, "Encrypt")
        plain = self._decrypt_encrypt_field(encrypt, signature, timestamp, nonce)
        if _has_dtd(plain):
            raise CallbackRejected(400, "DOCTYPE/ENTITY not allowed in plaintext")
        return plain

    def encrypt(self, xml: str, nonce: str, timestamp: str | int) -> str:
        """Encrypt a passive reply; the result is the HTTP response body."""
        return self._crypto.encrypt_message(xml, str(nonce), str(timestamp))

    # --- the WeCom side, for tests and the terminal chat client ----------------------------

    def seal(self, plain_xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Build the POST body and msg_signature exactly as WeCom would send a callback."""
        root = _parse_envelope(plain_xml)
        to_user = root.get("ToUserName") or self.corp_id
        agent_id = root.get("AgentID") or ""
        encrypt = PrpCrypto(self.key).encrypt(plain_xml, self.corp_id).decode("ascii")
        signature = sign(self.token, str(timestamp), str(nonce), encrypt)
        body = (
            "<xml>"
            f"<ToUserName>{_cdata(str(to_user))}</ToUserName>"
            f"<Encrypt>{_cdata(encrypt)}</Encrypt>"
            f"<AgentID>{_cdata(str(agent_id))}</AgentID>"
            "</xml>"
        )
        return body, signature

    def seal_echostr(self, echo: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Build (echostr, msg_signature) for a GET URL verification, as WeCom would."""
        echostr = PrpCrypto(self.key).encrypt(echo, self.corp_id).decode("ascii")
        return echostr, sign(self.token, str(timestamp), str(nonce), echostr)

    def open_reply(self, body: str) -> str:
        """Verify and decrypt an encrypted passive reply produced by `encrypt`."""
        root = _parse_envelope(body)
        encrypt = _text_field(root, "Encrypt")
        signature = _text_field(root, "MsgSignature")
        timestamp = _text_field(root, "TimeStamp")
        nonce = _text_field(root, "Nonce")
        return self._decrypt_encrypt_field(encrypt, signature, timestamp, nonce)
