"""The one check of WECOM_AES_KEY (the EncodingAESKey), used by the settings and by the callback crypto.

Kept apart from wecom/crypto.py so that the settings can check the key without loading wechatpy."""

from __future__ import annotations

import base64
import binascii
import re

_BASE64_KEY = re.compile(r"[A-Za-z0-9+/]{43}")
PROBLEM = "must be the 43-character EncodingAESKey from the WeCom admin console"


def decode_aes_key(aes_key: str) -> bytes:
    """The 32-byte key, or ValueError saying what WECOM_AES_KEY must be (the caller names the variable)."""
    if not isinstance(aes_key, str) or not _BASE64_KEY.fullmatch(aes_key):
        raise ValueError(PROBLEM)
    try:
        key = base64.b64decode(aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError(PROBLEM) from exc
    if len(key) != 32:
        raise ValueError(PROBLEM)
    return key
