"""A KIS-shaped database: the tables, columns and status values the sync reads (kis.md section 1), created
through pyodbc on SQLite or PostgreSQL, for the tests, the benchmark and `factorybot kis demo-db`.

Column names keep KIS's case in the DDL, as on the plant's SQL Server; PostgreSQL folds them, which is
exactly what the gateway must survive. `run_inbound_job` stands in for the KIS-side job that turns staging
rows into 产品入库 bills, so the whole write-back round trip can be shown without a KIS installation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyodbc

from kis import staging
from kis.odbc import POSTGRESQL, dialect_of
from kis.statements import KisConnection

AUDITOR_ID = 16394  # t_User.FUserID of the person who audits bills in the demo and tests

_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "t_User": (("FUserID", "INT NOT NULL PRIMARY KEY"), ("FName", "VARCHAR(80)")),
    "t_Department": (("FItemID", "INT NOT NULL PRIMARY KEY"), ("FNumber", "VARCHAR(80)"), ("FName", "VARCHAR(80)")),
    "t_Emp": (("FItemID", "INT NOT NULL PRIMARY KEY"), ("FNumber", "VARCHAR(80)"), ("FName", "VARCHAR(80)"),
              ("FDepartmentID", "INT")),
    "t_Organization": (("FItemID", "INT NOT NULL PRIMARY KEY"), ("FNumber", "VARCHAR(80)"), ("FName", "VARCHAR(255)"),
                       ("FDeleted", "SMALLINT DEFAULT 0")),
    "t_ICItem": (("FItemID", "INT NOT NULL PRIMARY KEY"), ("FNumber", "VARCHAR(80)"), ("FName", "VARCHAR(255)"),
                 ("FModel", "VARCHAR(255)"), ("FUnitID", "INT"), ("FErpClsID", "INT"), ("FDeleted", "SMALLINT DEFAULT 0")),
    "SEOrder": (("FInterID", "INT NOT NULL PRIMARY KEY"), ("FBillNo", "VARCHAR(50) NOT NULL"), ("FBrNo", "VARCHAR(10)"),
                ("FTranType", "INT"), ("FDate", "{dt}"), ("FCustID", "INT"), ("FDeptID", "INT"), ("FEmpID", "INT"),
                ("FBillerID", "INT"), ("FStatus", "SMALLINT NOT NULL"), ("FCheckerID", "INT"), ("FCheckDate", "{dt}"),
                ("FCancellation", "SMALLINT NOT NULL"), ("FClosed", "SMALLINT"), ("FChangeMark", "INT"),
                ("FChangeUser", "INT"), ("FChangeDate", "{dt}"), ("FExplanation", "VARCHAR(255)")),
    "SEOrderEntry": (("FInterID", "INT NOT NULL"), ("FEntryID", "INT NOT NULL"), ("FItemID", "INT"), ("FUnitID", "INT"),
                     ("FQty", "DECIMAL(28,10)"), ("FAuxQty", "DECIMAL(28,10)"), ("FAuxPrice", "DECIMAL(28,10)"),
                     ("FAmount", "DECIMAL(20,2)"), ("FDate", "{dt}"), ("FAdviceConsignDate", "{dt}"),
                     ("FCommitQty", "DECIMAL(28,10)"), ("FStockQty", "DECIMAL(28,10)"), ("FMRPClosed", "SMALLINT"),
                     ("FNote", "VARCHAR(255)")),
    "ICMO": (("FInterID", "INT NOT NULL PRIMARY KEY"), ("FBillNo", "VARCHAR(50) NOT NULL"), ("FBrNo", "VARCHAR(10)"),
             ("FTranType", "INT"), ("FStatus", "SMALLINT NOT NULL"), ("FCheckDate", "{dt}"),
             ("FCancellation", "SMALLINT NOT NULL"), ("FItemID", "INT"), ("FUnitID", "INT"), ("FQty", "DECIMAL(28,10)"),
             ("FAuxQty", "DECIMAL(28,10)"), ("FPlanCommitDate", "{dt}"), ("FPlanFinishDate", "{dt}"),
             ("FWorkShop", "INT"), ("FOrderInterID", "INT"), ("FCommitQty", "DECIMAL(28,10)"), ("FType", "INT"),
             ("FFinishDate", "{dt}"), ("FCloseDate", "{dt}"), ("FCloserID", "INT")),
    # Stock bills (kis.md 1.3): FTranType 2 产品入库 (lines point at the ICMO task), 21 销售出库 (lines point at
    # the sales order line through FOrderInterID/FOrderEntryID). A red bill (FROB -1) has negative quantities.
    "ICStockBill": (("FInterID", "INT NOT NULL PRIMARY KEY"), ("FBillNo", "VARCHAR(50) NOT NULL"), ("FBrNo", "VARCHAR(10)"),
                    ("FTranType", "INT NOT NULL"), ("FDate", "{dt}"), ("FSupplyID", "INT"), ("FDeptID", "INT"),
                    ("FStatus", "SMALLINT"), ("FCheckerID", "INT"), ("FCheckDate", "{dt}"),
                    ("FCancellation", "SMALLINT NOT NULL"), ("FROB", "SMALLINT"), ("FSelTranType", "INT")),
    "ICStockBillEntry": (("FInterID", "INT NOT NULL"), ("FEntryID", "INT NOT NULL"), ("FItemID", "INT"),
                         ("FUnitID", "INT"), ("FQty", "DECIMAL(28,10)"), ("FAuxQty", "DECIMAL(28,10)"),
                         ("FSourceTranType", "INT"), ("FSourceInterId", "INT"), ("FSourceEntryID", "INT"),
                         ("FSourceBillNo", "VARCHAR(50)"), ("FICMOInterID", "INT"), ("FICMOBillNo", "VARCHAR(50)"),
                         ("FOrderInterID", "INT"), ("FOrderEntryID", "INT"), ("FOrderBillNo", "VARCHAR(50)")),
}
_KEYS = {"SEOrderEntry": "FInterID, FEntryID", "ICStockBillEntry": "FInterID, FEntryID"}


def create_kis_tables(cnxn: pyodbc.Connection, staging_table: str | None = None) -> None:
    dialect = dialect_of(cnxn)
    dt = "TIMESTAMP" if dialect == POSTGRESQL else "DATETIME"
    cur = cnxn.cursor()
    for table, columns in _TABLES.items():
        body = ", ".join(f"{name} {decl.format(dt=dt)}" for name, decl in columns)
        if table in _KEYS:
            body += f", PRIMARY KEY ({_KEYS[table]})"
        cur.execute(f"CREATE TABLE {table} ({body})")
    if staging_table:
        for statement in staging.ddl(staging_table, dialect):
            cur.execute(statement)
    cnxn.commit()


@dataclass(frozen=True)
class Line:
    entry_id: int
    item_id: int
    qty: int
    due: date


@dataclass(frozen=True)
class Order:
    inter_id: int
    bill_no: str
    order_date: date
    customer_id: int
    lines: Sequence[Line]
    status: int = 1
    checker_id: int = AUDITOR_ID
    check_date: datetime | None = None
    cancelled: bool = False
    closed: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Task:
    inter_id: int
    bill_no: str
    item_id: int
    qty: int
    order_inter_id: int
    plan_start: datetime
    plan_finish: datetime
    status: int = 1
    department_id: int | None = None
    check_date: datetime | None = None
    cancelled: bool = False
    tran_type: int = 85  # 54: a repetitive production plan (重复生产计划单), also kept in ICMO
    task_type: int = 1054  # FType; 1067 outsourced (委外加工), 11060 left out by K/3's reports


@dataclass(frozen=True)
class StockLine:
    """One line of a stock bill: against a sales order line (销售出库) or a production task (产品入库)."""

    item_id: int
    qty: int  # negative on a red bill
    order: tuple[int, int] | None = None  # (SEOrder.FInterID, SEOrderEntry.FEntryID)
    task: tuple[int, str] | None = None  # (ICMO.FInterID, ICMO.FBillNo)


def _dt(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime(day.year, day.month, day.day)


@dataclass
class KisBook:
    """Writes KIS-shaped rows through pyodbc, as KIS itself would have stored them."""

    cnxn: pyodbc.Connection
    commits: bool = True
    _cur: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cur = self.cnxn.cursor()

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self._cur.executemany(sql, rows)
        if self.commits:
            self.cnxn.commit()

    def users(self, rows: Iterable[tuple[int, str]]) -> None:
        self._many("INSERT INTO t_User (FUserID, FName) VALUES (?, ?)", rows)

    def departments(self, rows: Iterable[tuple[int, str, str]]) -> None:
        self._many("INSERT INTO t_Department (FItemID, FNumber, FName) VALUES (?, ?, ?)", rows)

    def employees(self, rows: Iterable[tuple[int, str, str, int | None]]) -> None:
        self._many("INSERT INTO t_Emp (FItemID, FNumber, FName, FDepartmentID) VALUES (?, ?, ?, ?)", rows)

    def customers(self, rows: Iterable[tuple[int, str, str]]) -> None:
        self._many("INSERT INTO t_Organization (FItemID, FNumber, FName, FDeleted) VALUES (?, ?, ?, 0)", rows)

    def items(self, rows: Iterable[tuple[int, str, str, str | None]]) -> None:
        self._many("INSERT INTO t_ICItem (FItemID, FNumber, FName, FModel, FUnitID, FErpClsID, FDeleted) "
                   "VALUES (?, ?, ?, ?, 1, 2, 0)", rows)

    def orders(self, orders: Iterable[Order]) -> None:
        orders = list(orders)
        heads = [(o.inter_id, o.bill_no, "0", 81, _dt(o.order_date), o.customer_id, o.status,
                  o.checker_id if o.status > 0 else 0, o.check_date if o.status > 0 else None, int(o.cancelled),
                  int(o.closed or o.status == 3), 0, o.note) for o in orders]
        self._cur.executemany(
            "INSERT INTO SEOrder (FInterID, FBillNo, FBrNo, FTranType, FDate, FCustID, FStatus, FCheckerID, FCheckDate,"
            " FCancellation, FClosed, FChangeMark, FExplanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", heads)
        self._many(self._LINE_SQL, [self._line(o.inter_id, ln) for o in orders for ln in o.lines])

    _LINE_SQL = ("INSERT INTO SEOrderEntry (FInterID, FEntryID, FItemID, FUnitID, FQty, FAuxQty, FDate, FAdviceConsignDate,"
                 " FCommitQty, FMRPClosed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

    @staticmethod
    def _line(inter_id: int, ln: Line) -> tuple[Any, ...]:
        return (inter_id, ln.entry_id, ln.item_id, 1, Decimal(ln.qty), Decimal(ln.qty), _dt(ln.due), _dt(ln.due),
                Decimal(0), 0)

    def lines(self, inter_id: int, lines: Iterable[Line]) -> None:
        self._many(self._LINE_SQL, [self._line(inter_id, ln) for ln in lines])

    def tasks(self, tasks: Iterable[Task]) -> None:
        self._many(
            "INSERT INTO ICMO (FInterID, FBillNo, FBrNo, FTranType, FStatus, FCheckDate, FCancellation, FItemID, FUnitID,"
            " FQty, FAuxQty, FPlanCommitDate, FPlanFinishDate, FWorkShop, FOrderInterID, FCommitQty, FType)"
            " VALUES (?, ?, '0', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, 0, ?)",
            [(t.inter_id, t.bill_no, t.tran_type, t.status, t.check_date, int(t.cancelled), t.item_id, Decimal(t.qty),
              Decimal(t.qty), t.plan_start, t.plan_finish, t.department_id, t.order_inter_id, t.task_type)
             for t in tasks])

    def stock_bill(self, inter_id: int, bill_no: str, tran_type: int, day: datetime, lines: Sequence[StockLine], *,
                   customer_id: int | None = None, audited: bool = True, cancelled: bool = False) -> None:
        """A 产品入库 (2) or 销售出库 (21) bill as KIS saves it; red (FROB -1) when its quantities are negative."""
        red = any(ln.qty < 0 for ln in lines)
        self._cur.execute(
            "INSERT INTO ICStockBill (FInterID, FBillNo, FBrNo, FTranType, FDate, FSupplyID, FStatus, FCheckerID,"
            " FCheckDate, FCancellation, FROB, FSelTranType) VALUES (?, ?, '0', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inter_id, bill_no, tran_type, day, customer_id, int(audited), AUDITOR_ID if audited else 0,
            day if audited else None, int(cancelled), -1 if red else 1, 85 if tran_type == 2 else 81)
        self._many(
            "INSERT INTO ICStockBillEntry (FInterID, FEntryID, FItemID, FUnitID, FQty, FAuxQty, FSourceTranType,"
            " FSourceInterId, FSourceBillNo, FICMOInterID, FICMOBillNo, FOrderInterID, FOrderEntryID)"
            " VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(inter_id, n, ln.item_id, Decimal(ln.qty), Decimal(ln.qty), 85 if ln.task else 81 if ln.order else None,
              ln.task[0] if ln.task else ln.order[0] if ln.order else None, ln.task[1] if ln.task else None,
              ln.task[0] if ln.task else None, ln.task[1] if ln.task else None,
              ln.order[0] if ln.order else None, ln.order[1] if ln.order else None)
             for n, ln in enumerate(lines, start=1)])

    def update(self, table: str, where: dict[str, Any], **values: Any) -> int:
        """UPDATE table SET values WHERE where, as a KIS user's edit, audit, void or close would."""
        sets = ", ".join(f"{k} = ?" for k in values)
        cond = " AND ".join(f"{k} = ?" for k in where)
        self._cur.execute(f"UPDATE {table} SET {sets} WHERE {cond}", *values.values(), *where.values())
        n = self._cur.rowcount
        if self.commits:
            self.cnxn.commit()
        return int(n)

    def delete(self, table: str, where: dict[str, Any]) -> int:
        self._cur.execute(f"DELETE FROM {table} WHERE {' AND '.join(f'{k} = ?' for k in where)}", *where.values())
        n = self._cur.rowcount
        if self.commits:
            self.cnxn.commit()
        return int(n)

    def count(self, table: str, where: str = "1 = 1", *params: Any) -> int:
        self._cur.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", *params)
        return int(self._cur.fetchone()[0])


def run_inbound_job(cnxn: pyodbc.Connection | KisConnection, staging_table: str, *,
                    bill_prefix: str = "CIN") -> tuple[int, int]:
    """Stand-in for the KIS-side job, following the row states and refusals of the reference importer
    (kis/sql/reference_importer.sql) without making bills: each new row (FStatus 0), in its own transaction,
    becomes 1 with a 产品入库 bill number and no message, or 9 with the reason and no bill number. It refuses
    the same things, with the same words: an item unknown or disabled (t_ICItem.FDeleted) in KIS, an order line
    or production task that KIS does not have or has voided, a quantity of 0, and a negative one (a 红字 receipt
    correcting an earlier row) larger than what was received before for the task (or, without one, the order
    line), which the script checks against ICMO.FCommitQty. Returns (imported, rejected)."""
    cur = cnxn.cursor()
    cur.execute(f"SELECT COUNT(*) FROM {staging_table} WHERE FKisBillNo IS NOT NULL")
    issued = int(cur.fetchone()[0])
    cur.execute(f"SELECT FSourceKey FROM {staging_table} WHERE FStatus = 0 ORDER BY FCreatedAt, FSourceKey")
    keys = [str(r[0]) for r in cur.fetchall()]
    cnxn.commit()
    imported = rejected = 0
    for key in keys:
        cur.execute(f"SELECT FOrderBillNo, FOrderEntryID, FICMOBillNo, FItemNumber, FQty FROM {staging_table} "
                    "WHERE FSourceKey = ? AND FStatus = 0", key)
        row = cur.fetchone()
        if row is None:  # taken by another run meanwhile, as the script's locked re-check would find
            cnxn.commit()
            continue
        reason = _refusal(cur, *row) or _over_return(cur, staging_table, *row)
        if reason is None:
            issued += 1
            cur.execute(f"UPDATE {staging_table} SET FStatus = 1, FKisBillNo = ?, FMessage = NULL "
                        "WHERE FSourceKey = ? AND FStatus = 0", f"{bill_prefix}{issued:06d}", key)
            imported += 1
        else:
            cur.execute(f"UPDATE {staging_table} SET FStatus = 9, FKisBillNo = NULL, FMessage = ? "
                        "WHERE FSourceKey = ? AND FStatus = 0", reason[:255], key)
            rejected += 1
        cnxn.commit()
    return imported, rejected


def _refusal(cur: Any, order_bill: str, entry_id: Any, icmo_bill: str | None, number: str, qty: Any) -> str | None:
    """Why the reference importer would refuse this row, in its words; None when it would import it."""
    cur.execute("SELECT FName, FDeleted FROM t_ICItem WHERE FNumber = ?", number)
    item = cur.fetchone()
    cur.execute("SELECT h.FInterID FROM SEOrder h JOIN SEOrderEntry e ON e.FInterID = h.FInterID "
                "WHERE h.FBillNo = ? AND e.FEntryID = ? AND h.FCancellation = 0", order_bill, int(entry_id))
    order = cur.fetchone()
    task = None
    if icmo_bill is not None:
        cur.execute("SELECT FInterID FROM ICMO WHERE FBillNo = ? AND FTranType = 85 AND FCancellation = 0", icmo_bill)
        task = cur.fetchone()
    if item is None:
        return f"物料 {number} 在 KIS 中不存在"
    if item[1] and int(item[1]) == 1:
        return f"物料 {number} {item[0]} 已禁用，不能入库"
    if order is None:
        return f"销售订单 {order_bill} 第 {int(entry_id)} 行在 KIS 中不存在或已作废"
    if icmo_bill is not None and task is None:
        return f"生产任务单 {icmo_bill} 在 KIS 中不存在或已作废"
    if Decimal(str(qty)) == 0:
        return "入库数量不能为 0"
    return None


def _over_return(cur: Any, staging_table: str, order_bill: str, entry_id: Any, icmo_bill: str | None, number: str,
                 qty: Any) -> str | None:
    """A red row may take back at most what was received: the imported rows of its task (or order line)."""
    if Decimal(str(qty)) >= 0:
        return None
    if icmo_bill is not None:
        cur.execute(f"SELECT COALESCE(SUM(FQty), 0) FROM {staging_table} WHERE FStatus = 1 AND FICMOBillNo = ?",
                    icmo_bill)
    else:
        cur.execute(f"SELECT COALESCE(SUM(FQty), 0) FROM {staging_table} WHERE FStatus = 1 AND FICMOBillNo IS NULL "
                    "AND FOrderBillNo = ? AND FOrderEntryID = ? AND FItemNumber = ?", order_bill, int(entry_id), number)
    received = Decimal(str(cur.fetchone()[0]))
    if received + Decimal(str(qty)) < 0:
        return f"红字入库数量 {-Decimal(str(qty)):.0f} 超过已入库数量 {received:.0f}"
    return None
