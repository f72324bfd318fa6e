"""The only code that sends SQL to KIS. Portable SQL (kis.md section 4): qmark parameters for every value,
COALESCE, explicit JOINs, no TOP/LIMIT, no T-SQL functions; rows read by lower-cased column name. Every
statement goes through `self.cnxn`, a KisConnection (kis/statements.py), which qualifies table names with
KIS_SCHEMA and lets the tests record what was sent.

Reads happen in one read transaction per pull. The write-back inserts only keys the staging table does not
hold yet, in one KIS transaction per batch, so a batch whose local bookkeeping was lost is simply found there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pyodbc

from kis import mapping, staging
from kis.config import KisConfig
from kis.errors import KisError
from kis.mapping import Held, KisOrderState, KisSnapshot, KisTask, StagingRow, StagingStatus
from kis.odbc import (
    chunks,
    column_names,
    connect,
    dialect_of,
    dict_rows,
    marks,
    translated,
    uses_array_binding,
)
from kis.statements import KisConnection, Recorder

log = logging.getLogger(__name__)

_ORDERS = """
SELECT h.FInterID, h.FBillNo, h.FDate, h.FCheckDate, h.FStatus, h.FCustID,
       c.FNumber AS FCustNumber, c.FName AS FCustName,
       e.FEntryID, e.FItemID, i.FNumber AS FItemNumber, i.FName AS FItemName, i.FModel AS FItemModel,
       e.FQty, e.FDate AS FDeliveryDate, e.FAdviceConsignDate
FROM SEOrder h
JOIN SEOrderEntry e ON e.FInterID = h.FInterID
LEFT JOIN t_Organization c ON c.FItemID = h.FCustID
LEFT JOIN t_ICItem i ON i.FItemID = e.FItemID
WHERE h.FCancellation = 0 AND h.FCheckerID > 0 AND h.FStatus IN (1, 2) AND COALESCE(h.FClosed, 0) = 0
"""
_ORDER_ORDER = " ORDER BY h.FInterID, e.FEntryID"
_ORDER_STATES = "SELECT FInterID, FBillNo, FStatus, FCheckerID, FCancellation, FClosed FROM SEOrder WHERE {} IN ({})"


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    already_there: int


class KisLink(Protocol):
    """An open connection to KIS, as the sync jobs use it."""

    def read_snapshot(self, *, since: datetime | None, held: Held) -> KisSnapshot: ...

    def write_staging(self, rows: Sequence[StagingRow],
                      after_commit: Callable[[list[str]], None] | None = None) -> WriteResult: ...

    def read_staging(self, keys: Sequence[str]) -> list[StagingStatus]: ...


class PyodbcKisLink:
    def __init__(self, cnxn: KisConnection, staging_table: str) -> None:
        self.cnxn = cnxn
        self.table = staging_table
        self.dialect = dialect_of(cnxn)
        self.array_binding = uses_array_binding(cnxn)

    # --- the pull ------------------------------------------------------------------------------------

    def read_snapshot(self, *, since: datetime | None, held: Held) -> KisSnapshot:
        try:
            with translated("读取订单"):
                orders = mapping.orders_from_rows(self._orders(since))
                by_id = self._order_states("FInterID", held.orders)
                by_bill = self._order_states("FBillNo", held.bills, "VARCHAR(50)")
            tasks, task_states, uses_tasks = self._tasks(since, held.tasks)
        finally:
            self.cnxn.rollback()  # a read-only transaction; ends it without holding locks
        return KisSnapshot(since, tuple(orders), {s.inter_id: s for s in by_id}, {s.bill_no: s for s in by_bill},
                           uses_tasks, tuple(tasks), task_states)

    def _orders(self, since: datetime | None) -> list[dict[str, Any]]:
        cur = self.cnxn.cursor()
        if since is None:
            cur.execute(_ORDERS + _ORDER_ORDER)
        else:
            cur.execute(_ORDERS + " AND h.FCheckDate >= ?" + _ORDER_ORDER, since)
        return dict_rows(cur)

    def _order_states(self, column: str, keys: Sequence[Any], cast: str | None = None) -> list[KisOrderState]:
        rows: list[dict[str, Any]] = []
        cur = self.cnxn.cursor()
        for part in chunks(list(keys)):
            cur.execute(_ORDER_STATES.format(column, marks(len(part), cast)), *part)
            rows += dict_rows(cur)
        return [mapping.order_state(r) for r in rows]

    def _tasks(self, since: datetime | None,
               held: Sequence[str]) -> tuple[list[KisTask], dict[str, KisTask], bool]:
        """Production tasks, where the plant uses them; the column set differs by KIS edition (kis.md 1.2)."""
        cols = column_names(self.cnxn, "ICMO")
        if cols is None or not {"finterid", "fbillno", "fstatus", "fitemid", "fqty", "forderinterid"} <= cols:
            return [], {}, False
        start = "FPlanCommitDate" if "fplancommitdate" in cols else "FDate" if "fdate" in cols else None
        dept = "FWorkShop" if "fworkshop" in cols else "FDeptID" if "fdeptid" in cols else None
        has_departments = dept is not None and column_names(self.cnxn, "t_Department") is not None
        fields = ["m.FInterID", "m.FBillNo", "m.FStatus", "m.FItemID", "i.FNumber AS FItemNumber", "m.FQty",
                  "m.FOrderInterID"]
        fields += [f"m.{c}" for c in ("FCancellation", "FCheckDate") if c.lower() in cols]
        if start:
            fields.append(f"m.{start} AS FPlanStart")
        if "fplanfinishdate" in cols:
            fields.append("m.FPlanFinishDate AS FPlanFinish")
        joins = "LEFT JOIN t_ICItem i ON i.FItemID = m.FItemID"
        if has_departments:
            fields.append("d.FName AS FDeptName")
            joins += f" LEFT JOIN t_Department d ON d.FItemID = m.{dept}"
        base = f"SELECT {', '.join(fields)} FROM ICMO m {joins}"
        cur = self.cnxn.cursor()
        with translated("读取生产任务单"):
            where = " WHERE m.FStatus IN (1, 2)"
            where += " AND m.FCancellation = 0" if "fcancellation" in cols else ""
            if since is not None and "fcheckdate" in cols:
                cur.execute(base + where + " AND m.FCheckDate >= ? ORDER BY m.FInterID", since)
            else:
                cur.execute(base + where + " ORDER BY m.FInterID")
            tasks = [mapping.task_from_row(r) for r in dict_rows(cur)]
            states: dict[str, KisTask] = {}
            for part in chunks(list(held)):
                cur.execute(base + f" WHERE m.FBillNo IN ({marks(len(part), 'VARCHAR(50)')})", *part)
                states.update((t.bill_no, t) for t in map(mapping.task_from_row, dict_rows(cur)))
        return tasks, states, True

    # --- the write-back ------------------------------------------------------------------------------

    def write_staging(self, rows: Sequence[StagingRow],
                      after_commit: Callable[[list[str]], None] | None = None) -> WriteResult:
        keys = [r.source_key for r in rows]
        try:
            with translated("写入完工中间表"):
                present = self._present(keys)
                new = [r for r in rows if r.source_key not in present]
                if new:
                    cur = self.cnxn.cursor()
                    # Only Microsoft's driver implements the array binding safely (not FreeTDS, which
                    # reports "SQL Server" too); the others insert row by row.
                    cur.fast_executemany = self.array_binding
                    cur.executemany(staging.insert_sql(self.table), [r.params() for r in new])
                self.cnxn.commit()
        except KisError:
            self._rollback_quietly()
            raise
        if after_commit is not None:
            after_commit(keys)
        return WriteResult(len(new), len(present))

    def _present(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        cur = self.cnxn.cursor()
        for part in chunks(list(keys)):
            cur.execute(staging.existing_sql(self.table, len(part)), *part)
            found.update(str(r[0]).strip() for r in cur.fetchall())
        return found

    def read_staging(self, keys: Sequence[str]) -> list[StagingStatus]:
        out: list[StagingStatus] = []
        cur = self.cnxn.cursor()
        try:
            with translated("回读完工中间表"):
                for part in chunks(list(keys)):
                    cur.execute(staging.status_sql(self.table, len(part)), *part)
                    out += [mapping.staging_status(r) for r in dict_rows(cur)]
        finally:
            self._rollback_quietly()
        return out

    # --- the staging table itself --------------------------------------------------------------------

    def staging_exists(self) -> bool:
        return column_names(self.cnxn, self.table) is not None

    def create_staging(self) -> None:
        cur = self.cnxn.cursor()
        try:
            with translated("创建完工中间表"):
                for statement in staging.ddl(self.table, self.dialect):
                    cur.execute(statement)
                self.cnxn.commit()
        except KisError:
            self._rollback_quietly()
            raise

    def _rollback_quietly(self) -> None:
        try:
            self.cnxn.rollback()
        except pyodbc.Error:  # the link is already gone; the server rolls back on its own
            log.debug("rollback on a lost KIS connection", exc_info=True)

    def close(self) -> None:
        try:
            self.cnxn.close()
        except pyodbc.Error:
            log.debug("closing a lost KIS connection", exc_info=True)


@contextmanager
def open_kis(config: KisConfig, recorder: Recorder | None = None) -> Iterator[PyodbcKisLink]:
    link = PyodbcKisLink(connect(config.require_odbc(), timeout=config.timeout, char_encoding=config.char_encoding,
                                 schema=config.schema, recorder=recorder),
                         config.staging_table)
    try:
        yield link
    finally:
        link.close()

