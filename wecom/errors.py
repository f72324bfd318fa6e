"""Exceptions shared by the WeCom callback side and the API client.

The split matters to callers: TransientError means "retry the Celery task later",
WeComAPIError means "retrying will not help", CallbackRejected maps to an HTTP status.
"""

from __future__ import annotations

import re


class CallbackRejected(Exception):
    """A callback request we refuse to process; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        if status not in (400, 403):
            raise ValueError(f"CallbackRejected status must be 400 or 403, got {status}")
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class TransientError(Exception):
    """Retry later: network error, timeout, HTTP 5xx, errcode -1/45009/45033, or throttled."""

    def __init__(self, message: str, *, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class Throttled(TransientError):
    """Sending now would exceed WeCom's per-member quota, which WeCom enforces by silently dropping."""

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        self.retry_after = max(0.0, float(retry_after))
        super().__init__(message or f"throttled, retry after {self.retry_after:.1f}s")


class WeComAPIError(Exception):
    """A permanent API failure. `errcode` is WeCom's code, or None for a non-5xx HTTP error.

    Its text starts with what an operator has to do, in Chinese, when the code is one a go-live meets."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.hint = explain(errcode, errmsg)
        detail = f"WeCom errcode {errcode}: {errmsg}"
        super().__init__(f"{self.hint}（{detail}）" if self.hint else detail)


# "…, from ip: 139.227.20.128, more info at …": the one errmsg read, because it names the address to add.
# Everything else goes by errcode: WeCom's docs say errmsg texts may change.
_FROM_IP = re.compile(r"from ip:\s*([0-9A-Fa-f.:]+[0-9A-Fa-f])")

# The refusals a new installation meets, by WeCom's errcode (global error code list, path/90313).
_HINTS = {
    48002: "企业微信拒绝调用该接口（API 无权限）：请确认 WECOM_SECRET 是本自建应用的 Secret"
           "（不是通讯录同步助手或其他应用的），且该应用有此接口的权限",
    81013: "企业微信认为接收人全部无效：这些成员已被删除，或不在应用的可见范围，请在应用的「可见范围」中加入他们",
    40082: "企业微信不接受调用凭证（不合法的 suite_token）：本服务按企业自建应用调用，"
           "请确认 WECOM_CORP_ID / WECOM_SECRET 来自自建应用，而不是第三方应用或代开发应用",
    301002: "企业微信拒绝操作该应用（无权限操作指定的应用）：WECOM_AGENT_ID 与 WECOM_SECRET 不属于同一个应用，"
            "请在应用详情页核对 AgentId 和 Secret",
}


def trusted_ip_hint(errmsg: str) -> str:
    found = _FROM_IP.search(errmsg or "")
    where = f" {found.group(1)}" if found else "本服务器的出口 IP"
    # The trusted-IP field appears only once the app has a receive-message URL or a trusted domain.
    return f"企业微信拒绝了本服务器的 IP：请在应用的企业可信IP中加入{where}；该项需先设置接收消息服务器 URL 或可信域名"


def explain(errcode: int | None, errmsg: str) -> str:
    """The Chinese line for an operator, or "" for a code with nothing to add to WeCom's own text."""
    if errcode == 60020:
        return trusted_ip_hint(errmsg)
    return _HINTS.get(errcode, "") if errcode is not None else ""
