"""What a work order's QR code says, signed so that a hand-made code cannot report against an order.

Payload: ``FB1:<work order code>:<signature>``, where the signature is the first 12 characters of the
base32 HMAC-SHA256 of the code under the plant's label key. Short enough for a small QR (version 3–4)
that a phone reads from a greasy traveller at arm's length.

After a key rotation the previous key is still accepted through a set plant day, so labels already on the
floor keep working until they are reprinted; after that day they are refused with a line asking for a reprint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date

from domain.errors import DomainError
from domain.safe_compare import safe_equal

PREFIX = "FB1"
_SIG_CHARS = 12
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,39}$")

NOT_OURS = "这不是 FactoryBot 工单二维码，请扫描工单流转卡上打印的二维码。"
FORGED = "二维码校验失败：该二维码不是本厂打印的工单标签，请找班组长重新打印。"
NO_KEY = "系统未配置标签密钥（LABEL_KEY），无法生成或识别工单二维码，请联系管理员。"
RETIRED = ("该工单标签使用的是已停用的旧标签密钥（{until} 后不再有效），请找班组长重新打印本工单的标签后再扫码。")
_FINGERPRINT_CONTEXT = b"factorybot-label-key-fingerprint"


def _signature(code: str, key: bytes) -> str:
    if not key:
        raise DomainError(NO_KEY)
    digest = hmac.new(key, f"wo:{code}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:_SIG_CHARS]


def encode(work_order_code: str, key: bytes) -> str:
    code = work_order_code.strip().upper()
    if not _CODE_RE.match(code):
        raise DomainError(f"工单号「{work_order_code}」格式不正确。")
    return f"{PREFIX}:{code}:{_signature(code, key)}"


def decode(payload: str, key: bytes, *, previous: bytes = b"", previous_until: date | None = None,
           today: date | None = None) -> str:
    """The work order code a scanned payload names; DomainError if it is not a label we printed.

    A label signed with `previous` is accepted through `previous_until` (a plant day, inclusive) and refused
    with RETIRED after it."""
    parts = payload.strip().split(":")
    if len(parts) != 3 or parts[0] != PREFIX or not _CODE_RE.match(parts[1]):
        raise DomainError(NOT_OURS)
    code, sig = parts[1], parts[2].upper()
    if safe_equal(sig, _signature(code, key)):
        return code
    if previous and safe_equal(sig, _signature(code, previous)):
        if previous_until is not None and today is not None and today <= previous_until:
            return code
        raise DomainError(RETIRED.format(until=previous_until))
    raise DomainError(FORGED)


def fingerprint(key: bytes) -> str:
    """A short public name of a key: two processes compare keys by it without either revealing its key."""
    if not key:
        raise DomainError(NO_KEY)
    return hmac.new(key, _FINGERPRINT_CONTEXT, hashlib.sha256).hexdigest()[:16]
