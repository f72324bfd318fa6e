"""A deterministic demo plant: people, customers, products and about three months of orders with their
execution history.

Everything is planned in memory first and written with a handful of bulk inserts, so the whole plant loads
in a second or two. The history obeys the same rules as `domain.services.reporting` (bounds, done rules,
points), so every screen, report and alert built on the real services has something true to show.
"""

from __future__ import annotations

import calendar
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from domain.errors import DomainError
from domain.models import (
    Base,
    Customer,
    Operation,
    Person,
    PointsEntry,
    Product,
    RepairTicket,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from domain.policy import PlantPolicy
from domain.services.stages import QC_OPERATION
from domain.uow import UnitOfWork
from domain.vocab import (
    ExceptionStatus,
    OperationStatus,
    OrderStatus,
    Role,
    Stage,
    TicketStatus,
    WorkOrderStatus,
)

INJECTION = "注塑车间"
FINISHING = "后加工车间"
QUALITY = "质检部"

ROUTE: tuple[tuple[str, str], ...] = (
    ("注塑", INJECTION),
    ("修边", FINISHING),
    ("质检", QUALITY),
    ("包装", FINISHING),
)
TRIM_OPERATION = "修边"

# The demo pictures the plant at noon on `today`: the morning's reports are in, the afternoon's are not.
AS_OF = time(12, 0)
# Of a day's moulding, what the presses have made by noon: four hours of the 08:00-20:00 shift. Only today's
# moulding is cut to it (the rest of the day is still to come); days before are whole.
MORNING_SHARE = 4 / 12
# Finished orders leave the warehouse within a few days; older finished ones are therefore shipped.
SHIP_AFTER_DAYS = 5
# Share of defects each operation makes (upper bound of a uniform draw): moulding scraps most.
DEFECT_RATE: dict[str, float] = {"注塑": 0.03, "修边": 0.01, "质检": 0.008, "包装": 0.002}
NOT_STARTED_COUNT = 4
# This week's busiest mould scraps this much more at moulding, so the demo shows a defect-streak alert.
TROUBLE_DAYS = 6
TROUBLE_EXTRA_DEFECT = 0.04
# Slow-downs (see _slowdown): a work order that ran late lost its extra days to a stop of its press or mould
# and/or a run of scrap, part-way through; some on-time ones had a short one and caught up with overtime.
RECOVERED_SLOWDOWN_SHARE = 0.25

ALREADY_LOADED = "数据库中已有数据；如需重建演示工厂请加 --reset。"


@dataclass(frozen=True)
class DemoSummary:
    people: int
    customers: int
    products: int
    orders: int
    order_lines: int
    work_orders: int
    reports: int
    exceptions: int
    # Orders whose work finished after a line's due date, or that are still open past it.
    late_orders: int
    open_orders: int
    # Slow-downs in the history so far: work orders whose press or mould stopped for days, and scrap runs.
    machine_stops: int = 0
    defect_runs: int = 0


# --- master data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PersonSpec:
    userid: str
    name: str
    roles: tuple[Role, ...]
    workshop: str | None = None
    zone: str | None = None


# Documented in the README and relied on by tests: keep userids, names, roles and workshops stable.
FIXED_PEOPLE: tuple[_PersonSpec, ...] = (
    _PersonSpec("admin", "系统管理员", (Role.ADMIN,)),
    _PersonSpec("boss", "陈总", (Role.EXECUTIVE,)),
    _PersonSpec("zhaoliu", "赵六", (Role.OPS_MANAGER,)),
    _PersonSpec("wangwu", "王五", (Role.SUPERVISOR,), INJECTION),
    _PersonSpec("sunqi", "孙七", (Role.SUPERVISOR,), FINISHING),
    _PersonSpec("zhouba", "周八", (Role.SUPERVISOR,), QUALITY),
    _PersonSpec("lisi", "李四", (Role.TEAM_LEAD,), FINISHING),
    _PersonSpec("zhangsan", "张三", (Role.WORKER,), INJECTION),
    _PersonSpec("xiaoli", "小李", (Role.WORKER,), FINISHING),
    _PersonSpec("tech01", "刘师傅", (Role.TECHNICIAN,), zone="A区"),
)

_TEAM_LEADS = (("chenjie", "陈杰", INJECTION), ("huangwei", "黄伟", INJECTION), ("linfang", "林芳", QUALITY))
_TECHNICIANS = (("tech02", "何师傅", "B区"), ("tech03", "郭师傅", "C区"), ("tech04", "马师傅", "A区"))
_WORKERS: dict[str, tuple[tuple[str, str], ...]] = {
    INJECTION: (
        ("yangfan", "杨帆"),
        ("zhoujun", "周军"),
        ("wuqiang", "吴强"),
        ("xuming", "徐明"),
        ("sunli", "孙丽"),
        ("hujing", "胡静"),
        ("zhuyong", "朱勇"),
        ("gaolei", "高磊"),
        ("linhai", "林海"),
        ("heping", "何平"),
        ("guoliang", "郭亮"),
        ("mahui", "马辉"),
        ("luotao", "罗涛"),
        ("liangyu", "梁宇"),
        ("songjia", "宋佳"),
        ("zhengyan", "郑燕"),
        ("xieli", "谢力"),
        ("hanbing", "韩冰"),
        ("tangchao", "唐超"),
        ("fengqin", "冯琴"),
    ),
    FINISHING: (
        ("dengxia", "邓霞"),
        ("caohong", "曹红"),
        ("pengli", "彭丽"),
        ("zenglan", "曾兰"),
        ("xiaoyun", "肖云"),
        ("tianmei", "田梅"),
        ("dongna", "董娜"),
        ("yuanping", "袁萍"),
        ("panxue", "潘雪"),
    ),
    QUALITY: (
        ("jiangtao", "蒋涛"),
        ("caiwen", "蔡雯"),
        ("jiayu", "贾宇"),
        ("weihong", "魏红"),
        ("xuelin", "薛琳"),
    ),
}


def _people() -> list[_PersonSpec]:
    people = list(FIXED_PEOPLE)
    people += [_PersonSpec(u, n, (Role.TEAM_LEAD,), w) for u, n, w in _TEAM_LEADS]
    people += [_PersonSpec(u, n, (Role.TECHNICIAN,), zone=z) for u, n, z in _TECHNICIANS]
    people += [_PersonSpec(u, n, (Role.WORKER,), w) for w, names in _WORKERS.items() for u, n in names]
    return people


@dataclass(frozen=True)
class _CustomerSpec:
    number: str
    name: str
    categories: tuple[str, ...]
    # Relative order frequency: the big appliance makers order most.
    weight: int


CUSTOMERS: tuple[_CustomerSpec, ...] = (
    _CustomerSpec("C001", "美的集团", ("kitchen", "appliance"), 14),
    _CustomerSpec("C002", "格力电器", ("appliance",), 10),
    _CustomerSpec("C003", "海尔智家", ("appliance", "kitchen"), 9),
    _CustomerSpec("C004", "小熊电器", ("kitchen",), 8),
    _CustomerSpec("C005", "苏泊尔", ("kitchen",), 8),
    _CustomerSpec("C006", "九阳股份", ("kitchen",), 7),
    _CustomerSpec("C007", "公牛集团", ("electrical",), 12),
    _CustomerSpec("C008", "欧普照明", ("lighting",), 7),
    _CustomerSpec("C009", "比亚迪汽车", ("auto",), 6),
    _CustomerSpec("C010", "飞利浦(中国)投资有限公司", ("lighting", "appliance"), 5),
    _CustomerSpec("C011", "东莞长盈精密技术股份有限公司", ("electrical", "auto"), 5),
    _CustomerSpec("C012", "广东新宝电器股份有限公司", ("kitchen", "appliance"), 6),
)


@dataclass(frozen=True)
class _ProductSpec:
    item_number: str
    name: str
    model: str
    category: str
    press: str
    # Pieces one press makes in a two-shift day with this product's mould.
    daily_qty: int
    trims: bool

    @property
    def mould(self) -> str:
        return f"M-{self.item_number[-3:]}"

    @property
    def route(self) -> tuple[tuple[str, str], ...]:
        return tuple(step for step in ROUTE if self.trims or step[0] != TRIM_OPERATION)


PRODUCTS: tuple[_ProductSpec, ...] = (
    _ProductSpec("3.01.0012", "电饭煲上盖", "PP 白色 Φ220", "kitchen", "P03", 4000, True),
    _ProductSpec("3.01.0013", "电饭煲底座", "PP 黑色 Φ240", "kitchen", "P03", 3500, True),
    _ProductSpec("3.01.0015", "电饭煲蒸汽阀", "PP 白色 Φ38", "kitchen", "P08", 8000, False),
    _ProductSpec("3.01.0021", "电水壶底座", "PP 白色 Φ180", "kitchen", "P04", 5000, True),
    _ProductSpec("3.01.0026", "豆浆机杯盖", "PP 本色 Φ120", "kitchen", "P08", 6000, False),
    _ProductSpec("3.01.0031", "破壁机底座", "ABS 黑色 200×200", "kitchen", "P05", 2500, True),
    _ProductSpec("3.01.0034", "微波炉门框", "PP 黑色 480×290", "kitchen", "P06", 2000, True),
    _ProductSpec("3.02.0007", "空调面板", "ABS 白色 900×300", "appliance", "P01", 2000, True),
    _ProductSpec("3.02.0008", "空调导风板", "ABS 白色 850mm", "appliance", "P02", 3000, True),
    _ProductSpec("3.02.0041", "冰箱抽屉", "GPPS 透明 450×380", "appliance", "P01", 2000, True),
    _ProductSpec("3.02.0043", "冰箱门把手", "ABS 电镀 320mm", "appliance", "P07", 4000, True),
    _ProductSpec("3.02.0052", "洗衣机控制面板", "ABS 白色 420×160", "appliance", "P02", 3000, True),
    _ProductSpec("3.02.0060", "风扇叶", "AS 透明 Φ400", "appliance", "P05", 3500, False),
    _ProductSpec("3.02.0063", "风扇网罩扣件", "POM 白色", "appliance", "P10", 8000, False),
    _ProductSpec("3.02.0071", "吸尘器尘杯", "PC 透明 Φ110", "appliance", "P06", 3000, True),
    _ProductSpec("3.02.0075", "加湿器水箱", "PP 透明 4L", "appliance", "P04", 2500, True),
    _ProductSpec("3.02.0082", "吹风机外壳", "ABS 粉色", "appliance", "P07", 4500, True),
    _ProductSpec("3.02.0088", "电熨斗手柄", "PA66+GF30 灰色", "appliance", "P09", 5000, True),
    _ProductSpec("3.02.0091", "遥控器后壳", "ABS 黑色 160×45", "appliance", "P09", 7000, True),
    _ProductSpec("3.03.0105", "插座外壳", "PC 白色 五孔 86型", "electrical", "P10", 8000, False),
    _ProductSpec("3.03.0106", "插座面板", "PC 阻燃 白色 86型", "electrical", "P10", 7500, False),
    _ProductSpec("3.03.0110", "排插外壳", "PC 白色 六位 1.8m", "electrical", "P08", 5000, True),
    _ProductSpec("3.03.0118", "开关面板", "PC 白色 86型 单开", "electrical", "P10", 8000, False),
    _ProductSpec("3.03.0125", "充电器外壳", "PC 白色 20W", "electrical", "P09", 6000, True),
    _ProductSpec("3.04.0201", "灯罩", "PC 乳白 Φ300", "lighting", "P06", 3000, False),
    _ProductSpec("3.04.0203", "吸顶灯底盘", "PP 白色 Φ350", "lighting", "P05", 2500, True),
    _ProductSpec("3.04.0210", "LED灯座", "PBT 白色 E27", "lighting", "P08", 8000, False),
    _ProductSpec("3.05.0301", "汽车门板卡扣", "POM 黑色", "auto", "P10", 8000, False),
    _ProductSpec("3.05.0305", "空调出风口叶片", "PC/ABS 黑色", "auto", "P07", 6000, True),
    _ProductSpec("3.05.0312", "汽车杯架", "PP+TD20 黑色", "auto", "P02", 2500, True),
)

PRESS_ZONES: dict[str, str] = {
    f"P{n:02d}": ("A区" if n <= 4 else "B区" if n <= 7 else "C区") for n in range(1, 11)
}

# Order lines come in round numbers; small lots are the most common.
_QTY_CHOICES = (500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 20000)
_QTY_WEIGHTS = (6, 10, 8, 10, 6, 9, 8, 9, 6, 5, 4, 3, 2, 1)


# --- the in-memory plan --------------------------------------------------------------------------------


@dataclass(eq=False)
class _Op:
    seq: int
    name: str
    workshop: str
    good: int = 0
    defect: int = 0
    status: OperationStatus = OperationStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(eq=False)
class _Report:
    wo: _WorkOrder
    op_index: int
    good: int
    defect: int
    at: datetime
    operator: str = ""
    source_key: str = ""


@dataclass(eq=False)
class _WorkOrder:
    line: _Line
    planned_start: datetime
    planned_finish: datetime
    ops: list[_Op]
    code: str = ""
    machine: str = ""
    status: WorkOrderStatus = WorkOrderStatus.PLANNED
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Actual first and last production days; start None means it has not started.
    start_day: date | None = None
    finish_day: date | None = None
    late: bool = False
    reports: list[_Report] = field(default_factory=list)
    # A slowed work order's reports as they would have been without its slow-down: only to draw operators.
    unshaped: list[_Report] | None = None

    @property
    def planned_qty(self) -> int:
        return self.line.qty


@dataclass(eq=False)
class _Line:
    order: _Order
    entry_id: int
    product: _ProductSpec
    qty: int
    due: date
    shipped_qty: int = 0
    wo: _WorkOrder | None = None


@dataclass(eq=False)
class _Order:
    bill_no: str
    order_date: date
    customer: _CustomerSpec
    created_at: datetime
    lines: list[_Line] = field(default_factory=list)
    stage: Stage = Stage.SCHEDULED
    status: OrderStatus = OrderStatus.OPEN
    shipped_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(eq=False)
class _Slowdown:
    """Per moulding day: good output as a share of a normal day (0 = stopped) and extra scrap, same unit."""

    rng: random.Random
    weights: list[float]
    scrap: list[float]
    start_day: date
    stop: bool
    defects: bool


@dataclass(eq=False)
class _Exception:
    wo: _WorkOrder
    reporter: str
    type: str
    description: str
    opened_at: datetime
    status: ExceptionStatus
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    resolution: str | None = None


class _Plant:
    """Builds the plan; all randomness flows from one seeded generator in a fixed order."""

    def __init__(self, today: date, policy: PlantPolicy, seed: int) -> None:
        self.today = today
        self.policy = policy
        self.rng = random.Random(seed)
        self.seed = seed
        self.slowdowns: list[_Slowdown] = []
        self.tz = policy.tz
        self.as_of = self.at(today, AS_OF.hour, AS_OF.minute)
        self.people = _people()
        self.orders: list[_Order] = []
        self.work_orders: list[_WorkOrder] = []
        self.reports: list[_Report] = []
        self.exceptions: list[_Exception] = []

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def build(self) -> None:
        self._orders()
        self._work_orders()
        self._schedule()
        self.trouble_mould = self._trouble_mould()
        for wo in self.work_orders:
            self._execute(wo)
        self._assign_operators()
        self._settle_orders()
        self._exceptions()

    # orders ----------------------------------------------------------------------------------------

    def _orders(self) -> None:
        rng, today = self.rng, self.today
        products_by_category: dict[str, list[_ProductSpec]] = {}
        for p in PRODUCTS:
            products_by_category.setdefault(p.category, []).append(p)
        weights = [c.weight for c in CUSTOMERS]
        day = _months_before(today, 3)
        while day <= today:
            if day == today:
                count = rng.randint(2, 4)  # it is only noon
            elif day.weekday() == 6:
                count = rng.randint(1, 3)
            else:
                count = rng.randint(5, 9)
            for _ in range(count):
                customer = rng.choices(CUSTOMERS, weights=weights)[0]
                last_hour = 11 if day == today else 17
                created = self.at(day, rng.randint(8, last_hour), rng.randint(0, 59))
                order = _Order("", day, customer, created)
                catalogue = [p for c in customer.categories for p in products_by_category[c]]
                n_lines = min(rng.choices((1, 2, 3), weights=(50, 35, 15))[0], len(catalogue))
                due_base = rng.randint(7, 22)
                for entry_id, product in enumerate(rng.sample(catalogue, n_lines), start=1):
                    qty = rng.choices(_QTY_CHOICES, weights=_QTY_WEIGHTS)[0]
                    due = day + timedelta(days=due_base + rng.randint(0, 3))
                    order.lines.append(_Line(order, entry_id, product, qty, due))
                self.orders.append(order)
            day += timedelta(days=1)
        # Orders are created through the day, so sort by creation to keep bill numbers in date order.
        self.orders.sort(key=lambda o: o.created_at)
        for n, order in enumerate(self.orders, start=1):
            order.bill_no = f"SEORD{n:06d}"

    def _work_orders(self) -> None:
        rng, today = self.rng, self.today
        for order in self.orders:
            # The newest orders are still in the office: today's not yet reviewed, some of yesterday's
            # reviewed but not yet scheduled.
            if order.order_date == today:
                order.stage = Stage.RECEIVED
                continue
            if order.order_date == today - timedelta(days=1) and rng.random() < 0.5:
                order.stage = Stage.REVIEWED
                continue
            base = rng.randint(1, 4)
            for line in order.lines:
                p = line.product
                start = self.at(order.order_date + timedelta(days=base + rng.randint(0, 1)), 8)
                days = math.ceil(line.qty / p.daily_qty)
                ops = [_Op(seq, name, shop) for seq, (name, shop) in enumerate(p.route, start=1)]
                # Now and then the preferred press is busy and the mould goes on a neighbour.
                machine = p.press if rng.random() < 0.85 else rng.choice(sorted(PRESS_ZONES))
                line.wo = _WorkOrder(line, start, start + timedelta(days=days), ops, machine=machine)
                self.work_orders.append(line.wo)
        self.work_orders.sort(key=lambda w: (w.planned_start, w.line.order.bill_no, w.line.entry_id))
        per_day: dict[date, int] = {}
        for wo in self.work_orders:
            day = wo.planned_start.date()
            per_day[day] = per_day.get(day, 0) + 1
            wo.code = f"WO{day:%Y%m%d}-{per_day[day]:02d}"

    # schedule ----------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Decide each work order's actual first and last production day, and which orders run late."""
        rng, today = self.rng, self.today
        recent = today - timedelta(days=4)
        candidates = [
            w
            for w in self.work_orders
            if today - timedelta(days=3) <= w.planned_start.date() <= today - timedelta(days=1)
        ]
        # A few overdue starts with no report at all, for the "not started" alert.
        not_started = set(rng.sample(candidates, min(NOT_STARTED_COUNT, len(candidates))))
        by_order: dict[_Order, list[_WorkOrder]] = {}
        for wo in self.work_orders:
            by_order.setdefault(wo.line.order, []).append(wo)
        for wos in by_order.values():
            natural: dict[_WorkOrder, date] = {}
            for wo in wos:
                if wo in not_started:
                    continue
                planned_day = wo.planned_start.date()
                delay = 0 if planned_day >= recent else rng.choices((0, 1, 2), weights=(85, 12, 3))[0]
                wo.start_day = planned_day + timedelta(days=delay)
                days = math.ceil(wo.planned_qty / wo.line.product.daily_qty)
                natural[wo] = wo.start_day + timedelta(days=days - 1 + rng.randint(0, 1))
            if not natural:
                continue
            # Tight orders slip more often; orders with weeks of slack almost never do.
            slack = min((wo.line.due - nat).days for wo, nat in natural.items())
            p_late = 0.7 if slack <= 3 else 0.35 if slack <= 8 else 0.1 if slack <= 12 else 0.0
            late_wo = (
                min(natural, key=lambda w: (w.line.due - natural[w]).days) if rng.random() < p_late else None
            )
            for wo, nat in natural.items():
                assert wo.start_day is not None
                if wo is late_wo:
                    wo.late = True
                    wo.finish_day = max(nat, wo.line.due + timedelta(days=rng.randint(1, 5)))
                else:
                    # On-time lines were pushed (second press, overtime) to finish by their due date.
                    latest = wo.line.due - timedelta(days=rng.randint(0, 2))
                    wo.finish_day = max(wo.start_day, min(nat, latest))
        self._ensure_running_past_due()

    def _ensure_running_past_due(self) -> None:
        today = self.today

        def running_past_due(w: _WorkOrder) -> bool:
            return w.start_day is not None and w.finish_day is not None and w.line.due < today <= w.finish_day

        if any(running_past_due(w) for w in self.work_orders):
            return
        for wo in self.work_orders:
            if (
                wo.start_day is not None
                and wo.start_day < today
                and today - timedelta(days=5) <= wo.line.due < today
            ):
                wo.late = True
                wo.finish_day = today + timedelta(days=2)
                return
        raise AssertionError("demo plan has no running work order to make overdue")

    # execution ---------------------------------------------------------------------------------------

    def _trouble_mould(self) -> str | None:
        """The mould busiest this week, which the demo gives a defect problem (a 连续两单不良率超标 alert)."""
        week = self.today - timedelta(days=TROUBLE_DAYS)
        recent = Counter(w.line.product.mould for w in self.work_orders
                         if w.start_day is not None and week <= w.start_day <= self.today)
        busiest = sorted(recent.items(), key=lambda kv: (-kv[1], kv[0]))
        return busiest[0][0] if busiest and busiest[0][1] >= 2 else None

    def _execute(self, wo: _WorkOrder) -> None:
        """Generate the work order's reports day by day, keep those made by noon today, then apply them."""
        if wo.start_day is None or wo.finish_day is None or wo.start_day > self.today:
            return
        rng = self.rng
        qty = wo.planned_qty
        tolerance = self.policy.tolerance(qty)
        names = [op.name for op in wo.ops]
        rates = [rng.uniform(0, DEFECT_RATE[n]) for n in names]
        if wo.line.product.mould == self.trouble_mould and wo.start_day >= self.today - timedelta(days=TROUBLE_DAYS):
            rates[0] += TROUBLE_EXTRA_DEFECT  # added, not drawn: every other figure of the demo stays the same
        # Moulding over-shoots a little to cover downstream scrap, within the tolerance.
        keep = math.prod(1 - r for r in rates[1:])
        good = [min(qty + tolerance, math.ceil(qty / keep) + rng.randint(0, tolerance // 4))]
        defect = [round(good[0] * rates[0])]
        for r in rates[1:]:
            consumed = good[-1]
            defect.append(min(consumed, round(consumed * r)))
            good.append(consumed - defect[-1])
        consumed_total = [good[0]] + [good[k] + defect[k] for k in range(1, len(good))]

        n_days = (wo.finish_day - wo.start_day).days + 1
        trail = min(n_days - 1, rng.randint(0, 2))
        mould_days = n_days - trail
        events = self._daily_reports(wo, rng, good, defect, consumed_total, n_days, mould_days, None)
        slowdown = self._slowdown(wo, mould_days)
        if slowdown is not None:
            # Redrawn on the slow-down's own generator: the main one has drawn exactly what it draws without
            # slow-downs, so every other work order of the demo stays the same.
            wo.unshaped = [e for e in events if e.at <= self.as_of]
            events = self._daily_reports(wo, slowdown.rng, good, defect, consumed_total, n_days, mould_days,
                                         slowdown)
            if slowdown.start_day <= self.today:
                self.slowdowns.append(slowdown)
        self._apply(wo, [e for e in events if e.at <= self.as_of])

    def _slowdown(self, wo: _WorkOrder, mould_days: int) -> _Slowdown | None:
        """How this work order's moulding was disturbed, if it was.

        A late work order lost the days it ran over its natural length (planned quantity at the product's
        daily rate) part-way through. Six in ten: its press or mould stopped for those days (breakdown,
        mould repair, material shortage, the press taken for a rush order). Four in ten: first a run of
        scrap for two or three days, at 30-60% good, and then a stop for what is left (the mould goes for
        repair). A quarter of the others had a one-day stop or two days of scrap at 50-80% good and caught
        up with overtime, so a slow-down alone does not make an order late. Never on a work order's first
        or last moulding day.
        """
        assert wo.start_day is not None
        room = mould_days - 2
        if room < 1:
            return None
        rng = random.Random(f"{self.seed}:slowdown:{wo.code}")
        lost = mould_days - math.ceil(wo.planned_qty / wo.line.product.daily_qty)
        if wo.late and lost >= 1:
            scrap_first = rng.random() < 0.4
            share = rng.uniform(0.3, 0.6)
            run_days = min(room, rng.randint(2, 3), math.ceil(lost / (1 - share))) if scrap_first else 0
            stop_days = min(room - run_days, max(0, math.ceil(lost - run_days * (1 - share))))
        elif rng.random() < RECOVERED_SLOWDOWN_SHARE:
            share = rng.uniform(0.5, 0.8)
            run_days, stop_days = (0, 1) if rng.random() < 0.5 else (min(room, 2), 0)
        else:
            return None
        if stop_days + run_days == 0:
            return None
        weights, scrap = [1.0] * mould_days, [0.0] * mould_days
        first = rng.randint(1, room - run_days - stop_days + 1)
        for i in range(first, first + run_days):
            weights[i], scrap[i] = share, 1 - share
        for i in range(first + run_days, first + run_days + stop_days):
            weights[i] = 0.0
        return _Slowdown(rng, weights, scrap, wo.start_day + timedelta(days=first), stop_days > 0, run_days > 0)

    def _daily_reports(self, wo: _WorkOrder, rng: random.Random, good: list[int], defect: list[int],
                       consumed_total: list[int], n_days: int, mould_days: int,
                       slowdown: _Slowdown | None) -> list[_Report]:
        qty = wo.planned_qty
        names = [op.name for op in wo.ops]
        assert wo.start_day is not None
        cum_good = [0] * len(names)
        cum_used = [0] * len(names)
        cum_defect = [0] * len(names)
        events: list[_Report] = []
        for i in range(n_days):
            day = wo.start_day + timedelta(days=i)
            last_day = i == n_days - 1
            for k in range(len(names)):
                if k == 0:
                    if i >= mould_days - 1 and day != self.today:
                        target = good[0]
                    elif i >= mould_days - 1:
                        target = cum_good[0] + round((good[0] - cum_good[0]) * MORNING_SHARE)
                    elif slowdown is not None and slowdown.weights[i] == 0:
                        target = cum_good[0]  # stopped: not one good piece
                    else:
                        # Never reach the plan before the last moulding day, or the operation would close early.
                        progress = ((i + 1) / mould_days if slowdown is None
                                    else sum(slowdown.weights[: i + 1]) / sum(slowdown.weights))
                        share = progress * rng.uniform(0.9, 1.05)
                        target = min(qty - 1, round(good[0] * share))
                        if day == self.today:
                            target = cum_good[0] + round((target - cum_good[0]) * MORNING_SHARE)
                    target = max(target, cum_good[0])
                    new_defect = round(defect[0] * target / good[0]) if good[0] else 0
                    if slowdown is not None:  # a scrap run's pieces: a normal day's shots, only partly good
                        new_defect += round(sum(slowdown.scrap[: i + 1]) * good[0] / sum(slowdown.weights))
                    dg, dd = target - cum_good[0], new_defect - cum_defect[0]
                    cum_good[0], cum_defect[0] = target, new_defect
                else:
                    available = cum_good[k - 1]
                    if last_day:
                        used = min(consumed_total[k], available)  # today: moulding has not finished yet
                    else:
                        # Keep some of what arrived for later, so the step is never done before its time.
                        used = max(cum_used[k], math.floor(available * rng.uniform(0.55, 0.9)))
                    total_defect = round(defect[k] * used / consumed_total[k]) if consumed_total[k] else 0
                    dd = total_defect - cum_defect[k]
                    dg = (used - total_defect) - cum_good[k]
                    cum_used[k], cum_defect[k] = used, total_defect
                    cum_good[k] = used - total_defect
                if dg + dd > 0:
                    at = self.at(day, 8 + 2 * k + rng.randint(0, 1), rng.randint(0, 59))
                    events.append(_Report(wo, k, dg, dd, at))
        return events

    def _apply(self, wo: _WorkOrder, events: list[_Report]) -> None:
        """Replay the reports with the reporting service's bounds and done rules."""
        qty, limit = wo.planned_qty, wo.planned_qty + self.policy.tolerance(wo.planned_qty)
        for e in events:
            op = wo.ops[e.op_index]
            op.good += e.good
            op.defect += e.defect
            if e.op_index == 0:
                assert op.good <= limit, wo.code
            else:
                assert op.good + op.defect <= wo.ops[e.op_index - 1].good, wo.code
            op.started_at = op.started_at or e.at
            wo.started_at = wo.started_at or e.at
            wo.status = WorkOrderStatus.IN_PROGRESS
            prev: _Op | None = None
            for o in wo.ops:
                if o.status != OperationStatus.DONE:
                    if prev is None:
                        done = o.good >= qty
                    else:
                        done = prev.status == OperationStatus.DONE and o.good + o.defect >= prev.good
                    if done:
                        o.status, o.finished_at = OperationStatus.DONE, e.at
                    elif o.good or o.defect:
                        o.status = OperationStatus.IN_PROGRESS
                prev = o
            if all(o.status == OperationStatus.DONE for o in wo.ops):
                wo.status, wo.finished_at = WorkOrderStatus.DONE, e.at
        wo.reports = events
        self.reports.extend(events)

    def _assign_operators(self) -> None:
        rng, tz = self.rng, self.tz
        pools: dict[str, list[str]] = {}
        for p in self.people:
            if p.workshop and set(p.roles) & {Role.WORKER, Role.TEAM_LEAD}:
                pools.setdefault(p.workshop, []).append(p.userid)

        def key(r: _Report) -> tuple[datetime, str, int]:
            return r.at, r.wo.code, r.op_index

        self.reports.sort(key=key)
        # Drawn in the order of the reports the plant would have had without slow-downs, so every report of an
        # undisturbed work order keeps its operator; a slowed work order's reports draw on their own generator.
        for r in sorted((r for w in self.work_orders for r in (w.reports if w.unshaped is None else w.unshaped)),
                        key=key):
            r.operator = rng.choice(pools[r.wo.ops[r.op_index].workshop])
        for w in self.work_orders:
            if w.unshaped is not None:
                own = random.Random(f"{self.seed}:operators:{w.code}")
                for r in w.reports:
                    r.operator = own.choice(pools[r.wo.ops[r.op_index].workshop])
        for n, r in enumerate(self.reports, start=1):
            r.source_key = f"demo:{n}"
        # The README's walk-through asks zhangsan and xiaoli for "今日累计完成": both must have worked today.
        todays = [r for r in self.reports if r.at.astimezone(tz).date() == self.today and r.good > 0]
        for userid, ops in (("zhangsan", ("注塑",)), ("xiaoli", ("修边", "包装"))):
            mine = [r for r in todays if r.wo.ops[r.op_index].name in ops]
            if not mine:
                raise AssertionError(f"demo plan has no {'/'.join(ops)} report today for {userid}")
            if not any(r.operator == userid for r in mine):
                mine[0].operator = userid

    # orders' stage, shipping and timestamps ------------------------------------------------------------

    def _settle_orders(self) -> None:
        rng, today = self.rng, self.today
        for order in self.orders:
            wos = [line.wo for line in order.lines if line.wo is not None]
            order.updated_at = order.created_at
            if not wos:
                continue
            order.stage = _derived_stage(wos)
            last = max((r.at for w in wos for r in w.reports), default=None)
            if last is not None:
                order.updated_at = max(order.created_at, last)
            if order.stage != Stage.STOCKED:
                continue
            finished = max(w.finished_at for w in wos if w.finished_at is not None)
            finish_day = finished.astimezone(self.tz).date()
            if finish_day > today - timedelta(days=SHIP_AFTER_DAYS):
                continue
            ship_day = finish_day + timedelta(days=rng.randint(1, 3))
            if not any(w.late for w in wos):
                ship_day = min(ship_day, max(finish_day, max(line.due for line in order.lines)))
            # Trucks leave late afternoon, after the day's last packing report.
            order.shipped_at = self.at(ship_day, rng.randint(16, 17), rng.randint(0, 59))
            order.stage, order.status, order.updated_at = Stage.SHIPPED, OrderStatus.CLOSED, order.shipped_at
            for line in order.lines:
                line.shipped_qty = line.qty

    # exceptions ----------------------------------------------------------------------------------------

    def _exceptions(self) -> None:
        rng, today = self.rng, self.today
        running = [w for w in self.work_orders if w.status == WorkOrderStatus.IN_PROGRESS and w.start_day]
        # A press is "running" while its moulding step is still open and reported today. Judged as in the plant
        # without slow-downs, so the demo's story (which press breaks down today, who is called) stays the same.
        presses_running = [
            w
            for w in running
            if w.ops[0].status != OperationStatus.DONE
            and any(r.op_index == 0 and r.at.astimezone(self.tz).date() == today
                    for r in (w.reports if w.unshaped is None else w.unshaped))
        ]
        past = [
            w
            for w in self.work_orders
            if w.start_day is not None
            and w.start_day < today
            and w.started_at is not None
            and (w.finish_day is None or w.finish_day >= today - timedelta(days=10))
        ]
        pick_past = rng.sample(past, 5)
        closed_specs = (
            (
                "设备故障",
                "{machine} 机械手取件不到位，连续掉件，已暂停自动模式。",
                "更换机械手真空吸盘并重新示教，试产 50 模正常。",
            ),
            (
                "模具问题",
                "{mould} 顶针断裂，{product}顶白，停机更换顶针。",
                "更换顶针 2 支，模具抛光后恢复生产。",
            ),
            ("材料不符", "{product}来料批次颜色偏黄，与色板不符。", "仓库更换同批次合格料，已通知采购退货。"),
            ("品质异常", "{product}抽检发现缩水，10 件中 2 件不合格。", "调整保压时间 +0.5 秒，复检合格。"),
            (
                "其他",
                "{product}包装纸箱规格与客户要求不一致，暂停包装。",
                "客户确认可用现有纸箱，已恢复包装。",
            ),
        )
        for wo, (kind, text, resolution) in zip(pick_past, closed_specs, strict=True):
            last_day = min(today - timedelta(days=1), wo.finish_day or today)
            assert wo.start_day is not None
            span = max(0, (last_day - max(wo.start_day, today - timedelta(days=10))).days)
            day = last_day - timedelta(days=rng.randint(0, span))
            opened = self.at(day, rng.randint(8, 15), rng.randint(0, 59))
            handler = self._handler(kind, wo)
            acked = opened + timedelta(minutes=rng.randint(5, 45))
            closed = acked + timedelta(minutes=rng.randint(40, 300))
            exc = _Exception(
                wo, self._reporter(kind), kind, self._text(text, wo), opened, ExceptionStatus.CLOSED
            )
            exc.acknowledged_at, exc.acknowledged_by = acked, handler
            exc.closed_at, exc.closed_by, exc.resolution = closed, handler, resolution
            self.exceptions.append(exc)

        if not presses_running or len(running) < 3:
            raise AssertionError("demo plan has too few running work orders for open exceptions")
        breakdown = rng.choice(presses_running)
        others = [w for w in running if w is not breakdown]
        mould_wo, quality_wo = rng.sample(others, 2)
        exc = _Exception(
            mould_wo,
            self._reporter("模具问题"),
            "模具问题",
            self._text("{mould} 冷却水路堵塞，成型周期变长约 8 秒。", mould_wo),
            self.at(today, 8, rng.randint(20, 50)),
            ExceptionStatus.ACKNOWLEDGED,
        )
        exc.acknowledged_at = exc.opened_at + timedelta(minutes=rng.randint(10, 30))
        exc.acknowledged_by = self._handler("模具问题", mould_wo)
        self.exceptions.append(exc)
        self.exceptions.append(
            _Exception(
                quality_wo,
                self._reporter("品质异常"),
                "品质异常",
                self._text("{product}外观有黑点，比例约 1.5%，请工艺确认。", quality_wo),
                self.at(today, 10, rng.randint(0, 40)),
                ExceptionStatus.OPEN,
            )
        )
        self.exceptions.append(
            _Exception(
                breakdown,
                self._reporter("设备故障"),
                "设备故障",
                self._text("{machine} 液压油温过高报警，已停机，等待维修。", breakdown),
                self.at(today, 11, rng.randint(0, 50)),
                ExceptionStatus.OPEN,
            )
        )
        self.exceptions.sort(key=lambda e: e.opened_at)

    def _reporter(self, kind: str) -> str:
        workshop = {"品质异常": QUALITY, "其他": FINISHING}.get(kind, INJECTION)
        pool = [p.userid for p in self.people if p.workshop == workshop and Role.SUPERVISOR not in p.roles]
        return self.rng.choice(pool)

    def _handler(self, kind: str, wo: _WorkOrder) -> str:
        if kind in ("设备故障", "模具问题"):
            zone = PRESS_ZONES[wo.machine]
            return next(p.userid for p in self.people if Role.TECHNICIAN in p.roles and p.zone == zone)
        return {"品质异常": "zhouba", "其他": "sunqi"}.get(kind, "wangwu")

    @staticmethod
    def _text(template: str, wo: _WorkOrder) -> str:
        return template.format(machine=wo.machine, mould=wo.line.product.mould, product=wo.line.product.name)

    # summary -----------------------------------------------------------------------------------------

    def summary(self) -> DemoSummary:
        lines = [line for o in self.orders for line in o.lines]
        return DemoSummary(
            people=len(self.people),
            customers=len(CUSTOMERS),
            products=len(PRODUCTS),
            orders=len(self.orders),
            order_lines=len(lines),
            work_orders=len(self.work_orders),
            reports=len(self.reports),
            exceptions=len(self.exceptions),
            late_orders=sum(1 for o in self.orders if self._is_late(o)),
            open_orders=sum(1 for o in self.orders if o.status == OrderStatus.OPEN),
            machine_stops=sum(1 for s in self.slowdowns if s.stop),
            defect_runs=sum(1 for s in self.slowdowns if s.defects),
        )

    def _is_late(self, order: _Order) -> bool:
        for line in order.lines:
            wo = line.wo
            if wo is not None and wo.finished_at is not None:
                if wo.finished_at.astimezone(self.tz).date() > line.due:
                    return True
            elif line.due < self.today:
                return True
        return False


def _derived_stage(wos: list[_WorkOrder]) -> Stage:
    """Mirrors domain.services.stages.derived_stage on the in-memory plan."""
    if all(w.status == WorkOrderStatus.DONE for w in wos):
        return Stage.STOCKED
    ops = [o for w in wos for o in w.ops]
    if any(o.name == QC_OPERATION and o.status != OperationStatus.PENDING for o in ops):
        return Stage.QC
    if any(o.status != OperationStatus.PENDING for o in ops):
        return Stage.PRODUCTION
    return Stage.SCHEDULED


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


# --- writing -----------------------------------------------------------------------------------------

_FILLED = (Person, Customer, Product, SalesOrder, WorkOrder)
_BATCH = 5000


def load_demo_plant(
    uow: UnitOfWork, *, today: date, policy: PlantPolicy, seed: int = 20261125, reset: bool = False
) -> DemoSummary:
    """Fill an empty store with the demo plant as of noon on `today`; flushes, the caller commits."""
    session = uow.session
    if reset:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.expunge_all()
    # Checking every table we fill (not just people and orders) turns a clash with synced KIS master data
    # into the same friendly refusal instead of a unique-constraint error.
    elif any(session.scalar(select(func.count()).select_from(model)) for model in _FILLED):
        raise DomainError(ALREADY_LOADED)
    plant = _Plant(today, policy, seed)
    plant.build()
    _write(uow, plant)
    session.flush()
    return plant.summary()


def _insert(uow: UnitOfWork, model: type[Base], rows: list[dict[str, Any]]) -> None:
    # ORM bulk INSERT: one executemany per batch, no unit-of-work bookkeeping per object.
    for start in range(0, len(rows), _BATCH):
        uow.session.execute(insert(model), rows[start : start + _BATCH])


def _write(uow: UnitOfWork, plant: _Plant) -> None:
    session = uow.session
    _insert(
        uow,
        Person,
        [
            dict(
                userid=p.userid,
                name=p.name,
                roles_csv=",".join(p.roles),
                workshop=p.workshop,
                zone=p.zone,
                active=True,
            )
            for p in plant.people
        ],
    )
    person_ids: dict[str, int] = dict(session.execute(select(Person.userid, Person.id)).all())
    _insert(uow, Customer, [dict(number=c.number, name=c.name) for c in CUSTOMERS])
    customer_ids: dict[str, int] = dict(session.execute(select(Customer.number, Customer.id)).all())
    _insert(uow, Product, [dict(item_number=p.item_number, name=p.name, model=p.model) for p in PRODUCTS])
    product_ids: dict[str, int] = dict(session.execute(select(Product.item_number, Product.id)).all())

    _insert(
        uow,
        SalesOrder,
        [
            dict(
                bill_no=o.bill_no,
                customer_id=customer_ids[o.customer.number],
                order_date=o.order_date,
                stage=o.stage,
                status=o.status,
                shipped_at=o.shipped_at,
                created_at=o.created_at,
                updated_at=o.updated_at,
            )
            for o in plant.orders
        ],
    )
    order_ids: dict[str, int] = dict(session.execute(select(SalesOrder.bill_no, SalesOrder.id)).all())
    _insert(
        uow,
        SalesOrderLine,
        [
            dict(
                order_id=order_ids[o.bill_no],
                entry_id=line.entry_id,
                product_id=product_ids[line.product.item_number],
                qty=line.qty,
                due_date=line.due,
                shipped_qty=line.shipped_qty,
            )
            for o in plant.orders
            for line in o.lines
        ],
    )
    line_ids = {
        (order_id, entry_id): line_id
        for line_id, order_id, entry_id in session.execute(
            select(SalesOrderLine.id, SalesOrderLine.order_id, SalesOrderLine.entry_id)
        )
    }

    _insert(
        uow,
        WorkOrder,
        [
            dict(
                code=w.code,
                line_id=line_ids[(order_ids[w.line.order.bill_no], w.line.entry_id)],
                product_id=product_ids[w.line.product.item_number],
                planned_qty=w.planned_qty,
                daily_plan_qty=w.line.product.daily_qty,
                planned_start=w.planned_start,
                planned_finish=w.planned_finish,
                mould=w.line.product.mould,
                machine=w.machine,
                workshop=INJECTION,
                status=w.status,
                started_at=w.started_at,
                finished_at=w.finished_at,
            )
            for w in plant.work_orders
        ],
    )
    wo_ids: dict[str, int] = dict(session.execute(select(WorkOrder.code, WorkOrder.id)).all())
    _insert(
        uow,
        Operation,
        [
            dict(
                work_order_id=wo_ids[w.code],
                seq=op.seq,
                name=op.name,
                workshop=op.workshop,
                good_qty=op.good,
                defect_qty=op.defect,
                status=op.status,
                started_at=op.started_at,
                finished_at=op.finished_at,
            )
            for w in plant.work_orders
            for op in w.ops
        ],
    )
    op_ids = {
        (wo_id, seq): op_id
        for op_id, wo_id, seq in session.execute(select(Operation.id, Operation.work_order_id, Operation.seq))
    }

    policy = plant.policy
    report_rows = []
    for r in plant.reports:
        wo_id = wo_ids[r.wo.code]
        report_rows.append(
            dict(
                source_key=r.source_key,
                work_order_id=wo_id,
                operation_id=op_ids[(wo_id, r.wo.ops[r.op_index].seq)],
                operator_id=person_ids[r.operator],
                good_qty=r.good,
                defect_qty=r.defect,
                points=policy.points_for(r.good),
                reported_at=r.at,
                work_day=policy.work_day(r.at),
            )
        )
    _insert(uow, WorkReport, report_rows)
    report_ids: dict[str, int] = dict(
        session.execute(
            select(WorkReport.source_key, WorkReport.id).where(WorkReport.source_key.like("demo:%"))
        ).all()
    )
    _insert(
        uow,
        PointsEntry,
        [
            dict(
                person_id=person_ids[r.operator],
                work_report_id=report_ids[r.source_key],
                points=policy.points_for(r.good),
                reason=f"报工 {r.wo.code} {r.wo.ops[r.op_index].name}",
                work_day=policy.work_day(r.at),
                created_at=r.at,
            )
            for r in plant.reports
        ],
    )

    _insert(
        uow,
        ShopException,
        [
            dict(
                source_key=f"demo:exc:{n}",
                work_order_id=wo_ids[e.wo.code],
                reporter_id=person_ids[e.reporter],
                type=e.type,
                description=e.description,
                status=e.status,
                opened_at=e.opened_at,
                acknowledged_at=e.acknowledged_at,
                acknowledged_by_id=person_ids[e.acknowledged_by] if e.acknowledged_by else None,
                closed_at=e.closed_at,
                closed_by_id=person_ids[e.closed_by] if e.closed_by else None,
                resolution=e.resolution,
            )
            for n, e in enumerate(plant.exceptions, start=1)
        ],
    )
    # Today's breakdown was sent to the zone's technician, who has not answered yet: the demo's repair alert.
    exception_ids: dict[str, int] = dict(
        session.execute(select(ShopException.source_key, ShopException.id).where(
            ShopException.source_key.like("demo:exc:%"))).all()
    )
    _insert(
        uow,
        RepairTicket,
        [
            dict(
                exception_id=exception_ids[f"demo:exc:{n}"],
                machine=e.wo.machine,
                workshop=INJECTION,
                technician_id=person_ids[plant._handler(e.type, e.wo)],
                tried_userids=plant._handler(e.type, e.wo),
                status=TicketStatus.OPEN,
                opened_at=e.opened_at,
                dispatched_at=e.opened_at + timedelta(minutes=2),
            )
            for n, e in enumerate(plant.exceptions, start=1)
            if e.type == "设备故障" and e.status == ExceptionStatus.OPEN
        ],
    )
