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

# FCheckerID <> 0: Kingdee's own SQL reads a negative auditor id as audited too (kis.md, "Checked against …").
_ORDERS = """
SELECT h.FInterID, h.FBillNo, h.FDate, h.FCheckDate, h.FStatus, h.FCustID,
       c.FNumber AS FCustNumber, c.FName AS FCustName,
       e.FEntryID, e.FItemID, i.FNumber AS FItemNumber, i.FName AS FItemName, i.FModel AS FItemModel,
       e.FQty, e.FDate AS FDeliveryDate, e.FAdviceConsignDate{extra}
FROM SEOrder h
JOIN SEOrderEntry e ON e.FInterID = h.FInterID
LEFT JOIN t_Organization c ON c.FItemID = h.FCustID
LEFT JOIN t_ICItem i ON i.FItemID = e.FItemID
WHERE h.FCancellation = 0 AND h.FCheckerID <> 0 AND h.FStatus IN (1, 2) AND COALESCE(h.FClosed, 0) = 0
"""
_ORDER_ORDER = " ORDER BY h.FInterID, e.FEntryID"
_ORDER_STATES = "SELECT FInterID, FBillNo, FStatus, FCheckerID, FCancellation, FClosed FROM SEOrder WHERE {} IN ({})"
# ICStockBill.FTranType (kis.md 1.3): 2 产品入库 against an ICMO task, 21 销售出库 against an order line.
PRODUCT_RECEIPT = 2
SALES_OUTBOUND = 21
ICMO_TRAN_TYPE = 85  # ICStockBillEntry.FSourceTranType of a line made from a production task


@dataclass(frozen=True)
class _StockBills:
    """Filters and links of ICStockBill/ICStockBillEntry as this KIS edition has them: (key column, entry
    column or literal, extra condition) for outbound lines to order lines and for receipt lines to tasks."""

    audited: str
    order: tuple[str, str, str] | None
    task: tuple[str, str, str] | None


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
    def __init__(self, cnxn: KisConnection, staging_table: str, *, task_tran_types: Sequence[int] = (85,),
                 task_exclude_types: Sequence[int] = (11060, 1067)) -> None:
        self.cnxn = cnxn
        self.table = staging_table
        self.dialect = dialect_of(cnxn)
        self.array_binding = uses_array_binding(cnxn)
        self.task_tran_types = tuple(task_tran_types)
        self.task_exclude_types = tuple(task_exclude_types)

    # --- the pull ------------------------------------------------------------------------------------

    def read_snapshot(self, *, since: datetime | None, held: Held) -> KisSnapshot:
        try:
            with translated("读取订单"):
                orders = mapping.orders_from_rows(self._orders(since))
                by_id = self._order_states("FInterID", held.orders)
                by_bill = self._order_states("FBillNo", held.bills, "VARCHAR(50)")
            tasks, task_states, uses_tasks = self._tasks(since, held.tasks)
            with translated("读取出入库单"):
                bills = self._stock_bills()
                shipments: tuple[mapping.KisMove, ...] = ()
                receipts: tuple[mapping.KisMove, ...] = ()
                if bills is not None:
                    order_ids = sorted({o.inter_id for o in orders} | set(held.orders) | set(held.unshipped))
                    shipments = tuple(self._moves(bills, SALES_OUTBOUND, order_ids))
                    task_ids = sorted({t.inter_id for t in tasks} | {t.inter_id for t in task_states.values()})
                    receipts = tuple(self._moves(bills, PRODUCT_RECEIPT, task_ids))
        finally:
            self.cnxn.rollback()  # a read-only transaction; ends it without holding locks
        return KisSnapshot(since, tuple(orders), {s.inter_id: s for s in by_id}, {s.bill_no: s for s in by_bill},
                           uses_tasks, tuple(tasks), task_states,
                           uses_shipments=bills is not None and bills.order is not None,
                           uses_receipts=bills is not None and bills.task is not None and uses_tasks,
                           shipments=shipments, receipts=receipts)

    def _orders(self, since: datetime | None) -> list[dict[str, Any]]:
        heads = column_names(self.cnxn, "SEOrder") or set()
        lines = column_names(self.cnxn, "SEOrderEntry") or set()
        extra = ", h.FChangeDate" if "fchangedate" in heads else ""
        extra += ", e.FMRPClosed" if "fmrpclosed" in lines else ""
        sql = _ORDERS.format(extra=extra)
        cur = self.cnxn.cursor()
        if since is None:
            cur.execute(sql + _ORDER_ORDER)
        elif "fchangedate" in heads:
            # 订单变更 edits an audited order in place and stamps FChangeDate, leaving FCheckDate as it was.
            cur.execute(sql + " AND (h.FCheckDate >= ? OR h.FChangeDate >= ?)" + _ORDER_ORDER, since, since)
        else:
            cur.execute(sql + " AND h.FCheckDate >= ?" + _ORDER_ORDER, since)
        return dict_rows(cur)

    def _stock_bills(self) -> _StockBills | None:
        """How this edition's stock bills link to orders and tasks; None without the tables."""
        heads = column_names(self.cnxn, "ICStockBill")
        lines = column_names(self.cnxn, "ICStockBillEntry")
        if not heads or not lines or not {"finterid", "ftrantype", "fdate"} <= heads or not {"finterid", "fqty"} <= lines:
            return None
        audited = " AND b.FCheckerID <> 0" if "fcheckerid" in heads else ""
        audited += " AND b.FCancellation = 0" if "fcancellation" in heads else ""
        order = ("e.FOrderInterID", "e.FOrderEntryID", "") if {"forderinterid", "forderentryid"} <= lines else None
        if "ficmointerid" in lines:
            task: tuple[str, str, str] | None = ("e.FICMOInterID", "0", "")
        elif "fsourceinterid" in lines:
            same = f" AND e.FSourceTranType = {ICMO_TRAN_TYPE}" if "fsourcetrantype" in lines else ""
            task = ("e.FSourceInterId", "0", same)
        else:
            task = None
        return _StockBills(audited, order, task)

    def _moves(self, bills: _StockBills, tran_type: int, keys: Sequence[int]) -> list[mapping.KisMove]:
        link = bills.order if tran_type == SALES_OUTBOUND else bills.task
        if link is None:
            return []
        key, entry, extra = link
        base = (f"SELECT {key} AS FKey, {entry} AS FKeyEntry, b.FBillNo, b.FDate, e.FQty "
                "FROM ICStockBill b JOIN ICStockBillEntry e ON e.FInterID = b.FInterID "
                f"WHERE b.FTranType = ?{bills.audited}{extra} AND {key} IN ({{}}) ORDER BY {key}, b.FDate, b.FInterID")
        out: list[mapping.KisMove] = []
        cur = self.cnxn.cursor()
        for part in chunks(list(keys)):
            cur.execute(base.format(marks(len(part))), tran_type, *part)
            out += [mapping.move_from_row(r) for r in dict_rows(cur)]
        return out

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
        fields += [f"m.{c}" for c in ("FCancellation", "FCheckDate", "FFinishDate", "FCloseDate") if c.lower() in cols]
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
            params: list[Any] = []
            # ICMO also holds repetitive production plans (FTranType 54) and outsourced tasks (FType 1067):
            # only real production tasks become work orders (KIS_TASK_TRAN_TYPES / KIS_TASK_EXCLUDE_TYPES).
            if self.task_tran_types and "ftrantype" in cols:
                where += f" AND m.FTranType IN ({marks(len(self.task_tran_types))})"
                params += self.task_tran_types
            if self.task_exclude_types and "ftype" in cols:
                where += f" AND COALESCE(m.FType, 0) NOT IN ({marks(len(self.task_exclude_types))})"
                params += self.task_exclude_types
            if since is not None and "fcheckdate" in cols:
                cur.execute(base + where + " AND m.FCheckDate >= ? ORDER BY m.FInterID", *params, since)
            else:
                cur.execute(base + where + " ORDER BY m.FInterID", *params)
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
                         config.staging_table, task_tran_types=config.task_tran_types,
                         task_exclude_types=config.task_exclude_types)
    try:
        yield link
    finally:
        link.close()

