"""KIS rows → plain values. Pure: no database, no clock.

Drivers disagree on types: sqliteodbc returns DECIMAL as str and psqlODBC as Decimal; a KIS date may be a
datetime at midnight. Every value is converted here, explicitly, so the rest never sees a driver's type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from kis.errors import KisError

Row = Mapping[str, Any]

# SEOrder.FStatus: 1 audited, nothing executed; 2 partly executed; 3 every line executed or closed.
ORDER_OPEN_STATUSES = (1, 2)
ORDER_DONE_STATUS = 3
# ICMO.FStatus: 0 计划, 5 确认, 1/2 下达 (released), 3 结案.
TASK_RELEASED_STATUSES = (1, 2)
TASK_CLOSED_STATUS = 3

OPEN = "open"
CLOSED = "closed"
VOIDED = "voided"
UNAUDITED = "unaudited"
RELEASED = "released"
NOT_RELEASED = "not_released"


def to_int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    return int(Decimal(str(value)))


def to_qty(value: Any) -> int:
    """Moulded parts are counted in whole pieces; KIS keeps DECIMAL(28,10)."""
    if value is None or value == "":
        return 0
    try:
        return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise ValueError(f"not a quantity: {value!r}") from exc


def to_datetime(value: Any) -> datetime | None:
    """A naive KIS-local datetime (the server's clock), whatever form the driver gave it in."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).strip()).replace(tzinfo=None)


def to_date(value: Any) -> date | None:
    moment = to_datetime(value)
    return moment.date() if moment else None


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class KisLine:
    entry_id: int
    item_id: int
    item_number: str
    item_name: str
    item_model: str | None
    qty: int
    due: date
    closed: bool = False  # FMRPClosed: the line closed in KIS (行关闭), whatever was shipped


@dataclass(frozen=True)
class KisOrder:
    inter_id: int
    bill_no: str
    order_date: date
    check_date: datetime | None
    status: int
    customer_id: int
    customer_number: str
    customer_name: str
    lines: tuple[KisLine, ...]
    change_date: datetime | None = None  # FChangeDate: 订单变更 edits an audited order in place


@dataclass(frozen=True)
class KisOrderState:
    inter_id: int
    bill_no: str
    status: int
    checker_id: int
    cancelled: bool
    closed: bool

    @property
    def verdict(self) -> str:
        if self.cancelled:
            return VOIDED
        if self.closed or self.status == ORDER_DONE_STATUS:
            return CLOSED
        # Kingdee's own SQL reads a negative FCheckerID as audited too (kis.md, "Checked against …").
        if self.checker_id == 0 or self.status not in ORDER_OPEN_STATUSES:
            return UNAUDITED  # un-audited in KIS to be changed; it comes back when audited again
        return OPEN


@dataclass(frozen=True)
class KisTask:
    """A production task (ICMO, 生产任务单)."""

    inter_id: int
    bill_no: str
    status: int
    cancelled: bool
    check_date: datetime | None
    item_id: int
    item_number: str | None
    qty: int
    plan_start: datetime | None
    plan_finish: datetime | None
    department: str | None
    order_inter_id: int | None
    finish_date: datetime | None = None  # FFinishDate: actual finish, where the edition has it
    close_date: datetime | None = None  # FCloseDate: when it was closed (结案)

    @property
    def verdict(self) -> str:
        if self.cancelled:
            return VOIDED
        if self.status == TASK_CLOSED_STATUS:
            return CLOSED
        if self.status in TASK_RELEASED_STATUSES:
            return RELEASED
        return NOT_RELEASED


def orders_from_rows(rows: Iterable[Row]) -> list[KisOrder]:
    """Header+line rows (ordered by FInterID, FEntryID) grouped into orders."""
    heads: dict[int, Row] = {}
    lines: dict[int, list[KisLine]] = {}
    for r in rows:
        inter_id = to_int(r["finterid"])
        if inter_id not in heads:
            heads[inter_id] = r
            lines[inter_id] = []
        item_id = to_int(r["fitemid"])
        due = to_date(r.get("fdeliverydate")) or to_date(r.get("fadviceconsigndate")) or to_date(r["fdate"])
        if due is None:
            raise KisError(f"KIS 订单 {r['fbillno']} 第 {r['fentryid']} 行没有交货日期，也没有单据日期。")
        number = to_text(r.get("fitemnumber")) or f"KIS-{item_id}"
        lines[inter_id].append(KisLine(
            entry_id=to_int(r["fentryid"]), item_id=item_id, item_number=number,
            item_name=to_text(r.get("fitemname")) or number, item_model=to_text(r.get("fitemmodel")),
            qty=to_qty(r["fqty"]), due=due, closed=to_int(r.get("fmrpclosed")) != 0,
        ))
    out = []
    for inter_id, h in heads.items():
        cust_id = to_int(h["fcustid"])
        cust_number = to_text(h.get("fcustnumber")) or f"KIS-{cust_id}"
        order_date = to_date(h["fdate"])
        if order_date is None:
            raise KisError(f"KIS 订单 {h['fbillno']} 没有单据日期。")
        out.append(KisOrder(
            inter_id=inter_id, bill_no=str(h["fbillno"]).strip(), order_date=order_date,
            check_date=to_datetime(h.get("fcheckdate")), status=to_int(h["fstatus"]), customer_id=cust_id,
            customer_number=cust_number, customer_name=to_text(h.get("fcustname")) or cust_number,
            lines=tuple(lines[inter_id]), change_date=to_datetime(h.get("fchangedate")),
        ))
    return out


def order_state(r: Row) -> KisOrderState:
    return KisOrderState(
        inter_id=to_int(r["finterid"]), bill_no=str(r["fbillno"]).strip(), status=to_int(r["fstatus"]),
        checker_id=to_int(r.get("fcheckerid")), cancelled=to_int(r.get("fcancellation")) != 0,
        closed=to_int(r.get("fclosed")) != 0,
    )


def task_from_row(r: Row) -> KisTask:
    order = to_int(r.get("forderinterid"))
    return KisTask(
        inter_id=to_int(r["finterid"]), bill_no=str(r["fbillno"]).strip(), status=to_int(r["fstatus"]),
        cancelled=to_int(r.get("fcancellation")) != 0, check_date=to_datetime(r.get("fcheckdate")),
        item_id=to_int(r["fitemid"]), item_number=to_text(r.get("fitemnumber")), qty=to_qty(r["fqty"]),
        plan_start=to_datetime(r.get("fplanstart")), plan_finish=to_datetime(r.get("fplanfinish")),
        department=to_text(r.get("fdeptname")), order_inter_id=order or None,
        finish_date=to_datetime(r.get("ffinishdate")), close_date=to_datetime(r.get("fclosedate")),
    )


@dataclass(frozen=True)
class KisMove:
    """One line of an audited stock bill: a sales outbound (销售出库, FTranType 21) against an order line,
    or a product receipt (产品入库, FTranType 2) against a production task. A red bill's quantity is negative."""

    inter_id: int  # SEOrder.FInterID (outbound) or ICMO.FInterID (receipt)
    entry_id: int  # SEOrderEntry.FEntryID; 0 for a receipt
    day: datetime  # the bill's FDate, KIS-local
    qty: int


def move_from_row(r: Row) -> KisMove:
    day = to_datetime(r.get("fdate"))
    if day is None:
        raise KisError(f"KIS 出入库单 {to_text(r.get('fbillno')) or ''} 没有单据日期。")
    return KisMove(inter_id=to_int(r["fkey"]), entry_id=to_int(r.get("fkeyentry")), day=day, qty=to_qty(r["fqty"]))


def reached(moves: Iterable[KisMove], qty: int) -> tuple[int, datetime | None]:
    """The total moved, and the day the running total first reached qty (None: not reached)."""
    total, when = 0, None
    for m in sorted(moves, key=lambda m: m.day):
        total += m.qty
        # Not there yet, or a red bill took it back below: no day yet.
        when = (when or m.day) if qty > 0 and total >= qty else None
    return total, when


@dataclass(frozen=True)
class Held:
    """What FactoryBot holds open and asks KIS about: only these can be found gone from KIS."""

    orders: tuple[int, ...] = ()  # FInterID of open orders tied to KIS
    bills: tuple[str, ...] = ()  # bill numbers of open orders entered before the sync knew them
    tasks: tuple[str, ...] = ()  # FBillNo of production tasks behind live work orders (and closed undated ones)
    # FInterID of orders closed with no shipment on record: only a reconcile asks for their shipments, so
    # orders closed before shipments were pulled reach 出货 too.
    unshipped: tuple[int, ...] = ()


@dataclass(frozen=True)
class KisSnapshot:
    """Everything one pull read from KIS, in one read transaction."""

    since: datetime | None  # KIS-local; None: every approved open order
    orders: tuple[KisOrder, ...]
    # Current state of orders FactoryBot already holds open, by FInterID; absent = deleted in KIS.
    order_states: Mapping[int, KisOrderState]
    # The same for open orders FactoryBot knows by bill number only; absent = not a KIS order at all.
    bill_states: Mapping[str, KisOrderState]
    uses_tasks: bool
    tasks: tuple[KisTask, ...]
    # Current state of production tasks behind live work orders, by FBillNo; absent = deleted in KIS.
    task_states: Mapping[str, KisTask]
    # Audited stock bill lines, where the edition links them: outbound by order line, receipts by task.
    # Without the link nothing is known either way, and nothing local is changed.
    uses_shipments: bool = False
    uses_receipts: bool = False
    shipments: tuple[KisMove, ...] = ()
    receipts: tuple[KisMove, ...] = ()

    @property
    def line_count(self) -> int:
        return sum(len(o.lines) for o in self.orders)

    @property
    def newest_check(self) -> datetime | None:
        seen = [d for o in self.orders for d in (o.check_date, o.change_date) if d]
        seen += [t.check_date for t in self.tasks if t.check_date]
        return max(seen, default=None)


@dataclass(frozen=True)
class StagingRow:
    """One completion row of the staging table contract (kis.md section 6)."""

    source_key: str
    batch_id: str
    order_bill_no: str
    order_entry_id: int
    icmo_bill_no: str | None
    item_number: str
    qty: int
    defect_qty: int
    day: datetime  # KIS-local midnight of the production day
    operator: str | None
    created_at: datetime  # KIS-local

    def params(self) -> tuple[Any, ...]:
        return (self.source_key, self.batch_id, self.order_bill_no, self.order_entry_id, self.icmo_bill_no,
                self.item_number, Decimal(self.qty), Decimal(self.defect_qty), self.day, self.operator,
                self.created_at, 0)


@dataclass(frozen=True)
class StagingStatus:
    source_key: str
    status: int  # 0 new; 1 imported by the KIS job; 9 rejected
    kis_bill_no: str | None
    message: str | None


STAGING_NEW = 0
STAGING_IMPORTED = 1
STAGING_REJECTED = 9


def staging_status(r: Row) -> StagingStatus:
    return StagingStatus(str(r["fsourcekey"]).strip(), to_int(r["fstatus"]), to_text(r.get("fkisbillno")),
                         to_text(r.get("fmessage")))
