"""The one path every statement to KIS takes: a thin wrapper around the pyodbc connection and its cursors.

Whatever SQL passes through a cursor of `KisConnection` is (a) schema-qualified when KIS_SCHEMA is set and
(b) handed to a recorder when one is given (the T-SQL grammar tests record every statement of a real pull and
push this way). Qualification works on the SQL text, not on a list of known tables, so a new query written
against KIS is covered without being registered anywhere.

Qualification rewrites only a plain identifier in table position: after FROM, JOIN, INTO, UPDATE, TABLE, EXEC
or `CREATE INDEX name ON`, when it is not already qualified, not a variable (@x), a temporary table (#x), a
CTE or a cursor named in the same statement. String literals, comments and quoted identifiers are left as they
are. Comma-separated FROM lists (FROM a, b) are not qualified: the SQL here joins with JOIN … ON, and the
grammar test fails on any unqualified table, so such a statement would be caught there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyodbc

Recorder = Callable[[str], None]

# Literals, comments and quoted identifiers: copied through untouched.
_OPAQUE = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|\[[^\]]*\]|\"[^\"]*\"", re.S)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TABLE_AT = re.compile(
    rf"(?<![@#\w.])(?P<head>(?:FROM|JOIN|INTO|UPDATE|TABLE|EXEC(?:UTE)?)\s+|INDEX\s+{_NAME}\s+ON\s+)"
    rf"(?P<name>{_NAME})\b(?!\s*\.)",
    re.I,
)
# Names a statement defines itself, which are not tables of the schema.
_LOCAL_NAMES = re.compile(
    rf"\bDECLARE\s+(?P<cursor>{_NAME})\s+CURSOR\b|(?:\bWITH|,)\s*(?P<cte>{_NAME})\s+AS\s*\(", re.I)
_KEYWORDS = {"select", "values", "set", "where", "as", "next"}
# System procedures live in sys/master, not in the account's schema.
_SYSTEM_PREFIXES = ("sp_", "xp_")


def qualify(sql: str, schema: str | None) -> str:
    """`sql` with every KIS table (and procedure) named as schema.name; unchanged when schema is empty."""
    if not schema:
        return sql
    code = _OPAQUE.sub(lambda m: " " * len(m.group()), sql)
    local = {(m.group("cursor") or m.group("cte")).lower() for m in _LOCAL_NAMES.finditer(code)}
    out: list[str] = []
    last = 0
    for m in _TABLE_AT.finditer(code):
        name = m.group("name")
        low = name.lower()
        if low in local or low in _KEYWORDS or low.startswith(_SYSTEM_PREFIXES):
            continue
        out.append(sql[last : m.start("name")])
        out.append(f"{schema}.{name}")
        last = m.end("name")
    out.append(sql[last:])
    return "".join(out)


class KisCursor:
    """A pyodbc cursor whose statements go through the connection's qualification and recorder."""

    def __init__(self, cursor: pyodbc.Cursor, prepare: Callable[[str], str]) -> None:
        self._cur = cursor
        self._prepare = prepare

    def execute(self, sql: str, *params: Any) -> KisCursor:
        self._cur.execute(self._prepare(sql), *params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(self._prepare(sql), rows)

    @property
    def fast_executemany(self) -> bool:
        return bool(self._cur.fast_executemany)

    @fast_executemany.setter
    def fast_executemany(self, value: bool) -> None:
        self._cur.fast_executemany = value

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()

    def fetchmany(self, size: int) -> list[Any]:
        return self._cur.fetchmany(size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cur)

    def close(self) -> None:
        self._cur.close()


class KisConnection:
    """A pyodbc connection to KIS whose cursors are KisCursors. `raw` is the pyodbc connection itself, for
    settings that send nothing (setdecoding, getinfo)."""

    def __init__(self, raw: pyodbc.Connection, *, schema: str | None = None, recorder: Recorder | None = None) -> None:
        self.raw = raw
        self.schema = schema or None
        self.recorder = recorder

    def prepare(self, sql: str) -> str:
        sql = qualify(sql, self.schema)
        if self.recorder is not None:
            self.recorder(sql)
        return sql

    def cursor(self) -> KisCursor:
        return KisCursor(self.raw.cursor(), self.prepare)

    def getinfo(self, kind: int) -> Any:
        return self.raw.getinfo(kind)

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def close(self) -> None:
        self.raw.close()

    @property
    def timeout(self) -> int:
        return int(self.raw.timeout)

    @timeout.setter
    def timeout(self, seconds: int) -> None:
        self.raw.timeout = seconds
