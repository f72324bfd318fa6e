"""What a work order's QR code says, signed so that a hand-made code cannot report against an order.

Payload: ``FB1:<work order code>:<signature>``, where the signature is the first 12 characters of the
base32 HMAC-SHA256 of the code under the plant's label key. Short enough for a small QR (version 3–4)
that a phone reads from a greasy traveller at arm's length.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from domain.errors import DomainError

PREFIX = "FB1"
_SIG_CHARS = 12
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,39}$")

NOT_OURS = "这不是 FactoryBot 工单二维码，请扫描工单流转卡上打印的二维码。"
FORGED = "二维码校验失败：该二维码不是本厂打印的工单标签，请找班组长重新打印。"
NO_KEY = "系统未配置标签密钥（LABEL_KEY），无法生成或识别工单二维码，请联系管理员。"


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


def decode(payload: str, key: bytes) -> str:
    """The work order code a scanned payload names; DomainError if it is not a label we printed."""
    parts = payload.strip().split(":")
    if len(parts) != 3 or parts[0] != PREFIX or not _CODE_RE.match(parts[1]):
        raise DomainError(NOT_OURS)
    code, sig = parts[1], parts[2].upper()
    if not hmac.compare_digest(sig.encode(), _signature(code, key).encode()):
        raise DomainError(FORGED)
    return code
