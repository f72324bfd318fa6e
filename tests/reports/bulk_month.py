"""A plant with N orders in one month (and a quarter as many in each of the two months before, for the trend),
written with bulk inserts so 10,000 orders take seconds. Used by the PDF tests and bench/report_render.py."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from domain.db import make_engine
from domain.models import (
    Customer,
    Operation,
    Person,
    Product,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from reports.month import Month

TZ = ZoneInfo("Asia/Shanghai")
NAMED_CUSTOMERS = ("美的集团", "格力电器", "海尔智家", "小熊电器", "苏泊尔", "九阳股份", "公牛集团", "欧普照明",
                   "比亚迪汽车", "飞利浦(中国)投资有限公司", "东莞长盈精密技术股份有限公司", "广东新宝电器股份有限公司")
PRODUCT_NAMES = ("电饭煲上盖", "电饭煲底座", "电水壶底座", "豆浆机杯盖", "破壁机底座", "微波炉门框", "空调面板",
                 "空调导风板", "冰箱抽屉", "冰箱门把手", "洗衣机控制面板", "风扇叶", "吸尘器尘杯", "加湿器水箱",
                 "吹风机外壳", "电熨斗手柄", "遥控器后壳", "插座外壳", "插座面板", "排插外壳")
EXCEPTION_TYPES = ("设备故障", "材料不符", "模具问题", "品质异常", "其他")
OCTOBER = Month(2026, 10)


@dataclass(frozen=True)
class BulkPlant:
    month: Month
    as_of: date
    orders: int


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ).astimezone(UTC)


def fill(url: str, orders: int, *, month: Month = OCTOBER, seed: int = 7) -> BulkPlant:
    """Fill an empty, migrated store; returns the month to report and the day to judge it on."""
    rng = random.Random(seed)
    as_of = month.next().first + timedelta(days=5)
    n_customers = max(len(NAMED_CUSTOMERS), orders // 60)
    customers = [{"id": i + 1, "number": f"C{i + 1:04d}",
                  "name": NAMED_CUSTOMERS[i] if i < len(NAMED_CUSTOMERS) else f"华南客户{i + 1:03d}号"}
                 for i in range(n_customers)]
    products = [{"id": i + 1, "item_number": f"3.0{i % 5 + 1}.{i + 1:04d}",
                 "name": PRODUCT_NAMES[i % len(PRODUCT_NAMES)] + ("" if i < len(PRODUCT_NAMES) else "（二代）"),
                 "model": "PP 白色"} for i in range(40)]
    rows: dict[str, list[dict[str, object]]] = {k: [] for k in ("orders", "lines", "wos", "ops", "reports", "exc")}
    months = [(month.previous().previous(), orders // 4), (month.previous(), orders // 4), (month, orders)]
    # The named appliance makers order most, as at a real plant; the long tail orders now and then.
    weights = [30 if i < len(NAMED_CUSTOMERS) else 1 for i in range(n_customers)]
    for m, count in months:
        for _ in range(count):
            customer = rng.choices(range(1, n_customers + 1), weights=weights)[0]
            _order(rng, rows, m, as_of, customer, len(products))
    for i in range(max(3, orders // 50)):
        day = month.first + timedelta(days=rng.randrange((month.last - month.first).days + 1))
        opened = _at(day, rng.randint(8, 18))
        closed = rng.random() < 0.85
        rows["exc"].append({"source_key": f"bulk:e{i}", "work_order_id": rng.randint(1, len(rows["wos"])),
                            "reporter_id": 1, "type": rng.choice(EXCEPTION_TYPES), "description": "现场报告",
                            "status": "closed" if closed else "open", "opened_at": opened,
                            "acknowledged_at": opened + timedelta(minutes=rng.randint(3, 60)) if closed else None,
                            "closed_at": opened + timedelta(minutes=rng.randint(60, 600)) if closed else None})
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Person), [{"id": 1, "userid": "w1", "name": "张三", "roles_csv": "worker",
                                       "workshop": "注塑车间", "active": True},
                                      {"id": 2, "userid": "boss", "name": "陈总", "roles_csv": "executive",
                                       "workshop": None, "active": True}])
        conn.execute(insert(Customer), customers)
        conn.execute(insert(Product), products)
        for model, key in ((SalesOrder, "orders"), (SalesOrderLine, "lines"), (WorkOrder, "wos"),
                           (Operation, "ops"), (WorkReport, "reports"), (ShopException, "exc")):
            batch = rows[key]
            for start in range(0, len(batch), 5000):
                conn.execute(insert(model), batch[start : start + 5000])
    engine.dispose()
    return BulkPlant(month, as_of, orders)


def _order(rng: random.Random, rows: dict[str, list[dict[str, object]]], m: Month, as_of: date,
           customer_id: int, n_products: int) -> None:
    order_id = len(rows["orders"]) + 1
    ordered = m.first + timedelta(days=rng.randrange((m.last - m.first).days + 1))
    finishes: list[date | None] = []
    for entry in range(1, rng.choice((1, 1, 2, 2, 3)) + 1):
        line_id, wo_id = len(rows["lines"]) + 1, len(rows["wos"]) + 1
        qty = rng.choice((500, 1000, 2000, 3000, 5000, 8000))
        due = ordered + timedelta(days=rng.randint(10, 25))
        start = ordered + timedelta(days=rng.randint(1, 4))
        finish = due - timedelta(days=rng.randint(0, 3)) if rng.random() < 0.88 else due + timedelta(days=rng.randint(1, 6))
        done = finish < as_of
        finishes.append(finish if done else None)
        product = rng.randint(1, n_products)
        rows["lines"].append({"id": line_id, "order_id": order_id, "entry_id": entry, "product_id": product,
                              "qty": qty, "due_date": due, "shipped_qty": 0})
        rows["wos"].append({"id": wo_id, "code": f"WO{wo_id:07d}", "line_id": line_id, "product_id": product,
                            "planned_qty": qty, "daily_plan_qty": qty, "planned_start": _at(start, 8),
                            "planned_finish": _at(due - timedelta(days=1), 8), "mould": f"M-{product:03d}",
                            "machine": f"P{product % 10 + 1:02d}", "workshop": "注塑车间",
                            "status": "done" if done else "in_progress", "started_at": _at(start, 9),
                            "finished_at": _at(finish, 15) if done else None})
        moulded = qty + qty // 50
        defect = round(moulded * rng.uniform(0.005, 0.04))
        for seq, name, good, bad, day in ((1, "注塑", moulded, defect, start), (2, "包装", qty if done else 0,
                                                                                  rng.randint(0, qty // 200), finish)):
            op_id = len(rows["ops"]) + 1
            rows["ops"].append({"id": op_id, "work_order_id": wo_id, "seq": seq, "name": name,
                                "workshop": "注塑车间" if seq == 1 else "后加工车间", "good_qty": good,
                                "defect_qty": bad, "status": "done" if done else "in_progress"})
            if good and day < as_of:
                for part, share in enumerate((0.6, 0.4) if seq == 1 else (1.0,)):
                    report_day = day + timedelta(days=part)
                    rows["reports"].append({
                        "source_key": f"bulk:{op_id}:{part}", "work_order_id": wo_id, "operation_id": op_id,
                        "operator_id": 1, "good_qty": round(good * share), "defect_qty": round(bad * share),
                        "points": 1, "reported_at": _at(report_day, 14), "work_day": report_day})
    last_finish = None if None in finishes else max(f for f in finishes if f is not None)
    shipped = last_finish + timedelta(days=1) if last_finish else None
    is_shipped = shipped is not None and shipped < as_of
    if is_shipped:
        for line in rows["lines"][-len(finishes):]:
            line["shipped_qty"] = line["qty"]
    rows["orders"].append({"id": order_id, "bill_no": f"SEORD{order_id:06d}", "customer_id": customer_id,
                           "order_date": ordered, "stage": "shipped" if is_shipped else "production",
                           "status": "closed" if is_shipped else "open",
                           "shipped_at": _at(shipped, 17) if shipped and is_shipped else None,
                           "created_at": _at(ordered, 9), "updated_at": _at(ordered, 9)})
