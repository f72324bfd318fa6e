"""pyodbc plumbing: connecting, naming the dialect, reading rows by lower-cased name, batching parameters.

Rows are read through lower-cased column names because PostgreSQL folds unquoted identifiers (FBillNo
comes back as fbillno) while SQL Server and SQLite keep them as written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pyodbc

from kis.errors import KisError, KisUnavailable

MSSQL = "mssql"
POSTGRESQL = "postgresql"
SQLITE = "sqlite"
OTHER = "other"

# SQL Server allows 2,100 parameters per statement; IN lists stay far below that.
IN_CHUNK = 500

# SQLSTATE classes meaning the link, not the statement, failed: connection (08) and timeout (HYT00/HYT01).
_LINK_STATES = ("08", "HYT")

T = TypeVar("T")
log = logging.getLogger(__name__)


def connect(conn_str: str, *, timeout: int, char_encoding: str | None = None) -> pyodbc.Connection:
    try:
        cnxn = pyodbc.connect(conn_str, timeout=timeout, autocommit=False)
    except pyodbc.Error as exc:
        raise KisUnavailable(f"无法连接 KIS 数据库：{describe(exc)}") from exc
    try:
        cnxn.timeout = timeout
    except pyodbc.Error:
        # psqlODBC has no connection-level query timeout; its statements then wait on the server's own.
        log.debug("driver refuses a query timeout; relying on the server's")
    if char_encoding:
        # Only for drivers that hand back the collation's raw GBK bytes for varchar (FreeTDS without
        # ClientCharset); msodbcsql, psqlODBC and sqliteodbc already convert to UTF-16 for pyodbc.
        cnxn.setdecoding(pyodbc.SQL_CHAR, encoding=char_encoding)
    return cnxn


def dialect_of(cnxn: pyodbc.Connection) -> str:
    name = str(cnxn.getinfo(pyodbc.SQL_DBMS_NAME)).lower()
    if "sql server" in name:
        return MSSQL
    if "postgres" in name:
        return POSTGRESQL
    if "sqlite" in name:
        return SQLITE
    return OTHER


def describe(exc: pyodbc.Error) -> str:
    """The driver's message without the bracketed vendor prefixes and call names, on one line."""
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\((?:SQL\w+|\d+)\)", "", text)
    text = " ".join(text.replace(";", " ").split())
    return text[:240] or type(exc).__name__


def is_link_failure(exc: pyodbc.Error) -> bool:
    state = str(exc.args[0]) if exc.args else ""
    return isinstance(exc, pyodbc.OperationalError) and state.startswith(_LINK_STATES)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """pyodbc errors become KisError (statement refused) or KisUnavailable (link lost)."""
    try:
        yield
    except pyodbc.Error as exc:
        if is_link_failure(exc):
            raise KisUnavailable(f"与 KIS 的连接中断（{what}）：{describe(exc)}") from exc
        raise KisError(f"KIS {what}失败：{describe(exc)}") from exc


def dict_rows(cursor: pyodbc.Cursor) -> list[dict[str, Any]]:
    names = [d[0].lower() for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def column_names(cnxn: pyodbc.Connection, table: str) -> set[str] | None:
    """Lower-cased columns of a table, or None when it does not exist (KIS editions differ)."""
    cur = cnxn.cursor()
    try:
        cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        return {d[0].lower() for d in cur.description}
    except pyodbc.Error as exc:
        if is_link_failure(exc):
            raise KisUnavailable(f"与 KIS 的连接中断：{describe(exc)}") from exc
        # PostgreSQL aborts the transaction on any error; the read goes on in a fresh one.
        cnxn.rollback()
        return None
    finally:
        cur.close()


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(n: int, cast: str | None = None) -> str:
    """'?, ?, ?' or, for varchar keys, 'CAST(? AS VARCHAR(64)), …' so SQL Server can seek its index
    instead of widening the column to nvarchar to compare it with pyodbc's UTF-16 parameters."""
    one = f"CAST(? AS {cast})" if cast else "?"
    return ", ".join([one] * n)
