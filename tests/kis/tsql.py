"""Checks SQL against SQL Server's grammar, for the statements FactoryBot sends to KIS and the reference script.

A statement passes when sqlglot's T-SQL dialect parses it into a real statement (not its catch-all Command),
generating T-SQL from that tree and parsing it again gives the same tree, and none of the constructs SQL Server
lacks appears in its text outside literals and comments. sqlglot alone is not enough: it reads LIMIT, TRUE or
`||` and silently writes T-SQL for them, so those are looked for explicitly.

A T-SQL script (the reference importer) is split into batches at GO and into statements at the `;` ending a
line. Lines that are only flow of control (BEGIN/END, BEGIN TRY/END TRY, BEGIN CATCH/END CATCH, ELSE, IF cond,
ELSE IF cond, WHILE cond) are checked apart: their blocks must nest, and each condition must parse as a T-SQL
boolean expression. Cursor, transaction and RAISERROR statements, which sqlglot does not parse, are matched
against their T-SQL syntax here (the SELECT of a cursor is parsed by sqlglot); every other statement must pass
as above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

_OPAQUE = re.compile(r"N?'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|\[[^\]]*\]|\"[^\"]*\"", re.S)
NOT_TSQL = (
    (re.compile(r"\bLIMIT\b", re.I), "LIMIT (T-SQL has TOP / OFFSET … FETCH)"),
    (re.compile(r"\bRETURNING\b", re.I), "RETURNING"),
    (re.compile(r"\bON\s+CONFLICT\b", re.I), "ON CONFLICT"),
    (re.compile(r"\b(?:TRUE|FALSE)\b", re.I), "boolean literal"),
    (re.compile(r"\|\|"), "|| concatenation"),
    (re.compile(r"\b(?:IFNULL|NOW|NVL|STRFTIME|DATETIME|GROUP_CONCAT|STRING_AGG|ILIKE)\s*\(", re.I),
     "a function SQL Server lacks"),
    (re.compile(r"\bILIKE\b", re.I), "ILIKE"),
    (re.compile(r"::"), ":: cast"),
    (re.compile(r"\b(?:AUTOINCREMENT|SERIAL)\b", re.I), "auto-increment of another dialect"),
)


def code_of(sql: str) -> str:
    """The SQL with literals, comments and quoted names blanked, so keywords are only looked for in code."""
    return _OPAQUE.sub(lambda m: " " * len(m.group()), sql)


def problems(sql: str, *, schema: str | None = None) -> list[str]:
    """What keeps `sql` from being a T-SQL statement (empty when it is one). With `schema`, every table or
    procedure it names must be qualified with that schema."""
    found = [why for pattern, why in NOT_TSQL if pattern.search(code_of(sql))]
    code = code_of(sql)
    if re.search(r"\bOFFSET\b", code, re.I) and not re.search(r"\bORDER\s+BY\b.*\bOFFSET\b", code, re.I | re.S):
        found.append("OFFSET without ORDER BY")
    try:
        tree = sqlglot.parse_one(sql, read="tsql")
    except sqlglot.errors.SqlglotError as exc:
        return [*found, f"not T-SQL: {exc}"]
    if tree is None or isinstance(tree, exp.Command):
        return [*found, "sqlglot's T-SQL dialect does not parse it"]
    again = sqlglot.parse_one(tree.sql(dialect="tsql"), read="tsql")
    if again != tree:
        found.append(f"does not round-trip: {tree.sql(dialect='tsql')}")
    if schema:
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if table.name.lower() not in ctes and table.name and table.db != schema:
                found.append(f"{table.sql(dialect='tsql')} is not {schema}-qualified")
    return found


# --- scripts --------------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"^(?:BEGIN|END|BEGIN TRY|END TRY|BEGIN CATCH|END CATCH|ELSE)\s*;?$", re.I)
_CONDITION = re.compile(r"^(?:ELSE\s+IF|IF|WHILE)\s+(?P<cond>.+)$", re.I)
_OPENS = {"BEGIN": "END", "BEGIN TRY": "END TRY", "BEGIN CATCH": "END CATCH"}
_NAME = r"[A-Za-z_][\w.]*"
_VAR = r"@\w+"
# T-SQL statements sqlglot does not parse, by their syntax (cursor statements as in the T-SQL reference).
_PROCEDURAL = (
    re.compile(rf"^(?:OPEN|CLOSE|DEALLOCATE)\s+{_NAME}$", re.I),
    re.compile(rf"^FETCH\s+NEXT\s+FROM\s+{_NAME}\s+INTO\s+{_VAR}(?:\s*,\s*{_VAR})*$", re.I),
    re.compile(r"^(?:BEGIN|COMMIT|ROLLBACK)\s+TRANSACTION$", re.I),
    re.compile(r"^SET\s+(?:NOCOUNT|XACT_ABORT)\s+(?:ON|OFF)$", re.I),
    re.compile(r"^RAISERROR\s*\(\s*N?'(?:[^']|'')*'\s*,\s*\d+\s*,\s*\d+\s*\)$", re.I),
)
_CURSOR = re.compile(rf"^DECLARE\s+{_NAME}\s+CURSOR\s+(?:LOCAL\s+)?(?:FAST_FORWARD\s+)?FOR\s+(?P<select>SELECT\b.+)$",
                     re.I | re.S)


@dataclass(frozen=True)
class Piece:
    line: int  # where it starts in the script, 1-based
    text: str
    kind: str  # "statement", "procedural", "cursor", "condition", "block"


def pieces(script: str) -> list[Piece]:
    """The script's statements and lines of control, in order (comments dropped)."""
    blank = _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()) if m.group().startswith(("--", "/*")) else
                        m.group(), script)
    out: list[Piece] = []
    buf: list[str] = []
    start = 0
    for n, line in enumerate(blank.splitlines(), start=1):
        text = line.strip()
        if not buf:
            if not text:
                continue
            if text.upper() == "GO":
                out.append(Piece(n, "GO", "block"))
                continue
            if _CONTROL.match(text):
                out.append(Piece(n, text.rstrip(";").strip().upper(), "block"))
                continue
            cond = _CONDITION.match(text)
            if cond and not text.endswith(";"):
                out.append(Piece(n, cond.group("cond"), "condition"))
                continue
            start = n
        buf.append(text)
        if text.endswith(";"):
            statement = " ".join(buf).rstrip(";").strip()
            buf = []
            kind = ("cursor" if _CURSOR.match(statement) else
                    "procedural" if any(p.match(statement) for p in _PROCEDURAL) else "statement")
            out.append(Piece(start, statement, kind))
    if buf:
        out.append(Piece(start, " ".join(buf), "unterminated"))
    return out


def script_problems(script: str, *, schema: str | None = None) -> list[str]:
    found: list[str] = []
    stack: list[tuple[str, int]] = []
    for p in pieces(script):
        where = f"line {p.line}"
        if p.kind == "unterminated":
            found.append(f"{where}: statement without its ending ';': {p.text[:60]}")
        elif p.kind == "block":
            if p.text in _OPENS:
                stack.append((p.text, p.line))
            elif p.text in _OPENS.values():
                if not stack or _OPENS[stack[-1][0]] != p.text:
                    found.append(f"{where}: {p.text} closes nothing open")
                else:
                    stack.pop()
            elif p.text == "GO" and stack:
                found.append(f"{where}: GO inside {stack[-1][0]} of line {stack[-1][1]}")
        elif p.kind == "condition":
            found += [f"{where}: condition {p.text!r}: {why}"
                      for why in problems(f"SELECT CASE WHEN {p.text} THEN 1 END")]
        elif p.kind == "cursor":
            select = _CURSOR.match(p.text).group("select")  # type: ignore[union-attr]
            found += [f"{where}: cursor query: {why}" for why in problems(select, schema=schema)]
        elif p.kind == "statement":
            found += [f"{where}: {why} — {p.text[:80]}" for why in problems(p.text, schema=schema)]
    found += [f"line {line}: {opened} is never closed" for opened, line in stack]
    return found
