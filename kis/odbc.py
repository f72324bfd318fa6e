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
from kis.statements import KisConnection, KisCursor, Recorder

MSSQL = "mssql"
POSTGRESQL = "postgresql"
SQLITE = "sqlite"
OTHER = "other"

# SQL Server allows 2,100 parameters per statement; IN lists stay far below that.
IN_CHUNK = 500

# SQLSTATE classes meaning the link, not the statement, failed: connection (08) and timeout (HYT00/HYT01).
_LINK_STATES = ("08", "HYT")
# The driver cannot hand a value over in the C type pyodbc asked for (psqlODBC ANSI asked for UTF-16 says
# 07006 "Received an unsupported type"; HY003/HYC00 are the same refusal from other drivers).
_CONVERSION_STATES = ("07006", "HY003", "HYC00")
TEXT_HINT = ("（若 KIS 驱动以 GBK 字节而不是 Unicode 交换中文，例如 PostgreSQL ANSI 或未设 ClientCharset 的 FreeTDS，"
             "请设置 KIS_CHAR_ENCODING=gbk）")

T = TypeVar("T")
log = logging.getLogger(__name__)


def connect(conn_str: str, *, timeout: int, char_encoding: str | None = None, schema: str | None = None,
            recorder: Recorder | None = None) -> KisConnection:
    """A connection whose every statement goes through the one statement path (kis/statements.py)."""
    try:
        raw = pyodbc.connect(conn_str, timeout=timeout, autocommit=False)
    except pyodbc.Error as exc:
        raise KisUnavailable(f"无法连接 KIS 数据库：{describe(exc)}") from exc
    cnxn = KisConnection(raw, schema=schema, recorder=recorder)
    try:
        cnxn.timeout = timeout
    except pyodbc.Error:
        # psqlODBC has no connection-level query timeout; its statements then wait on the server's own.
        log.debug("driver refuses a query timeout; relying on the server's")
    if char_encoding:
        _narrow_text(cnxn, char_encoding)
    return cnxn


def _narrow_text(cnxn: KisConnection, encoding: str) -> None:
    """For drivers that hand text over as bytes in the KIS code page (GBK) instead of UTF-16: FreeTDS without
    ClientCharset, or an ANSI-only driver such as psqlODBC's "PostgreSQL ANSI" with a GBK client encoding.
    msodbcsql, FreeTDS with ClientCharset, psqlODBC Unicode and sqliteodbc convert to UTF-16 and need none of this.
    """
    cnxn.raw.setdecoding(pyodbc.SQL_CHAR, encoding=encoding)
    # Parameters (bill numbers, operator names) go out as bytes in the same code page.
    cnxn.raw.setencoding(encoding=encoding)
    # pyodbc reads DECIMAL through its SQL_WCHAR setting (as UTF-16 text). An ANSI-only driver refuses that,
    # so there wide reads become narrow too. Drivers that can read UTF-16 keep it: their nvarchar stays exact.
    cur = cnxn.cursor()
    try:
        cur.execute("SELECT CAST(1.5 AS DECIMAL(10, 2))").fetchall()
    except pyodbc.Error as exc:
        if _state(exc) in _CONVERSION_STATES:
            cnxn.raw.setdecoding(pyodbc.SQL_WCHAR, encoding=encoding, ctype=pyodbc.SQL_CHAR)
        else:  # not this probe's business: the real statements report it
            log.debug("decimal probe failed: %s", describe(exc))
    finally:
        cur.close()
        try:
            cnxn.rollback()
        except pyodbc.Error:
            log.debug("rollback after the decimal probe failed", exc_info=True)


def dialect_of(cnxn: pyodbc.Connection | KisConnection) -> str:
    """The SQL the server speaks, from the DBMS name. FreeTDS reports the server's own name ("Microsoft SQL
    Server") too, so this says nothing about the driver: see array_binding_ok for that."""
    name = str(cnxn.getinfo(pyodbc.SQL_DBMS_NAME)).lower()
    if "sql server" in name:
        return MSSQL
    if "postgres" in name:
        return POSTGRESQL
    if "sqlite" in name:
        return SQLITE
    return OTHER


def array_binding_ok(dbms_name: str, driver_name: str) -> bool:
    """Whether pyodbc's fast_executemany (ODBC parameter arrays) may be switched on for this pairing. Only
    Microsoft's driver (libmsodbcsql-17/18 on Linux, msodbcsql17/18.dll on Windows) is known to implement it
    for SQL Server; FreeTDS (libtdsodbc.so) reports the server's name as its DBMS too, and with it pyodbc
    reports crashes and wrong values (pyodbc issues 459, 785, 809, 1208), so it and any other driver insert
    row by row."""
    return "sql server" in dbms_name.lower() and "msodbcsql" in driver_name.lower()


def uses_array_binding(cnxn: KisConnection) -> bool:
    return array_binding_ok(str(cnxn.getinfo(pyodbc.SQL_DBMS_NAME)), str(cnxn.getinfo(pyodbc.SQL_DRIVER_NAME)))


def describe(exc: pyodbc.Error) -> str:
    """The driver's message without the bracketed vendor prefixes and call names, on one line."""
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\((?:SQL\w+|\d+)\)", "", text)
    text = " ".join(text.replace(";", " ").split())
    return text[:240] or type(exc).__name__


def _state(exc: pyodbc.Error) -> str:
    return str(exc.args[0]) if exc.args else ""


def is_link_failure(exc: pyodbc.Error) -> bool:
    return isinstance(exc, pyodbc.OperationalError) and _state(exc).startswith(_LINK_STATES)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """pyodbc errors become KisError (statement refused) or KisUnavailable (link lost)."""
    try:
        yield
    except pyodbc.Error as exc:
        if is_link_failure(exc):
            raise KisUnavailable(f"与 KIS 的连接中断（{what}）：{describe(exc)}") from exc
        hint = TEXT_HINT if _state(exc) in _CONVERSION_STATES else ""
        raise KisError(f"KIS {what}失败：{describe(exc)}{hint}") from exc
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:  # GBK bytes taken for UTF-8, or the other way round
        raise KisError(f"KIS {what}失败：文字无法按所设编码转换（{exc.reason}）{TEXT_HINT}") from exc


def dict_rows(cursor: pyodbc.Cursor | KisCursor) -> list[dict[str, Any]]:
    names = [d[0].lower() for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def column_names(cnxn: KisConnection, table: str) -> set[str] | None:
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
