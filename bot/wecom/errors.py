"""Exceptions shared by the WeCom callback side and the API client.

The split matters to callers: TransientError means "retry the Celery task later",
WeComAPIError means "retrying will not help", CallbackRejected maps to an HTTP status.
"""

from __future__ import annotations


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
    """A permanent API failure. `errcode` is WeCom's code, or None for a non-5xx HTTP error."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeCom errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
