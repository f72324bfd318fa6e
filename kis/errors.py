"""What can go wrong with KIS, in words an administrator can act on."""

from __future__ import annotations

from domain.errors import DomainError


class KisError(DomainError):
    """KIS refused or failed a statement; nothing was applied locally."""


class KisUnavailable(KisError):
    """KIS could not be reached (no connection, link lost, timeout): a later run will catch up."""


class KisNotConfigured(KisError):
    def __init__(self) -> None:
        super().__init__("系统未配置 KIS 连接（环境变量 KIS_ODBC），无法与 KIS 同步。")
