"""Time to evaluate every alert rule over 10,000 open work orders.  Prints its figures; asserts nothing.

    .venv/bin/python bench/alert_rules.py [--work-orders 10000] [--database-url postgresql://...] [--shifts "白班=08:00-20:00,夜班=20:00-08:00"]

The store holds N open work orders (a third of them late to start, a third running with reports today,
every mould with a few finished orders behind it), exceptions and a waiting repair ticket. It times the
first round (which fires and queues cards for every finding) and a steady round (nothing new: the common
case every two minutes), with the plant clock at 15:05 so the plan checkpoint rule has a verdict.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from alerts.engine import EvalResult  # noqa: E402
from alerts.tick import tick  # noqa: E402
from domain.db import make_engine, make_session_factory  # noqa: E402
from domain.migrate import upgrade  # noqa: E402
from domain.models import (  # noqa: E402
    Customer,
    Operation,
    Person,
    Product,
    SalesOrder,
    SalesOrderLine,
    WorkOrder,
    WorkReport,
)
from domain.uow import UnitOfWork  # noqa: E402
from factorybot.config import Settings  # noqa: E402
from factorybot.runtime import build_alert_policy  # noqa: E402
from forecast.warnings import warn_late_orders  # noqa: E402

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 7, 5, tzinfo=UTC)  # 15:05 in Asia/Shanghai
ROUTE = ("注塑", "修边", "质检", "包装")


def fill(url: str, n: int) -> None:
    rng = random.Random(1)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Person), [
            {"userid": u, "name": u, "roles_csv": r, "workshop": w, "zone": z, "active": True}
            for u, r, w, z in (("w1", "worker", "注塑车间", None), ("sup", "supervisor", "注塑车间", None),
                               ("ops", "ops_manager", None, None), ("tech", "technician", None, "A区"))])
        conn.execute(insert(Customer), [{"number": "C1", "name": "美的集团"}])
        conn.execute(insert(Product), [{"item_number": f"3.01.{i:04d}", "name": f"产品{i}", "model": "ABS"}
                                       for i in range(200)])
        conn.execute(insert(SalesOrder), [
            {"bill_no": f"SEORD{i:06d}", "customer_id": 1, "order_date": TODAY, "stage": "scheduled",
             "status": "open", "created_at": NOW, "updated_at": NOW} for i in range(n)])
        conn.execute(insert(SalesOrderLine), [
            {"order_id": i + 1, "entry_id": 1, "product_id": i % 200 + 1, "qty": 1000,
             "due_date": TODAY + timedelta(days=5), "shipped_qty": 0} for i in range(n)])
        wos, ops, reports = [], [], []
        for i in range(n):
            kind = i % 3  # 0: late to start, 1: running today, 2: planned later
            start = NOW - timedelta(hours=5) if kind < 2 else NOW + timedelta(days=2)
            wos.append({"code": f"WO{i:07d}", "line_id": i + 1, "product_id": i % 200 + 1, "planned_qty": 1000,
                        "daily_plan_qty": 1000, "planned_start": start, "planned_finish": start + timedelta(days=1),
                        "mould": f"M-{i % 200:03d}", "machine": f"P{i % 10 + 1:02d}", "workshop": "注塑车间",
                        "status": "in_progress" if kind == 1 else "planned",
                        "started_at": start if kind == 1 else None})
            for seq, name in enumerate(ROUTE, 1):
                good = rng.randint(100, 500) if (kind == 1 and seq == 1) else 0
                defect = rng.randint(0, 30) if good else 0
                ops.append({"work_order_id": i + 1, "seq": seq, "name": name, "workshop": "注塑车间",
                            "good_qty": good, "defect_qty": defect, "status": "in_progress" if good else "pending"})
                if good:
                    reports.append({"source_key": f"r{i}", "work_order_id": i + 1, "operation_id": len(ops),
                                    "operator_id": 1, "good_qty": good, "defect_qty": defect, "points": 1,
                                    "reported_at": NOW - timedelta(hours=2), "work_day": TODAY})
        conn.execute(insert(WorkOrder), wos)
        conn.execute(insert(Operation), ops)
        conn.execute(insert(WorkReport), reports)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-orders", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a temp SQLite file)")
    parser.add_argument("--shifts", default="", help='a plant of several shifts, e.g. "白班=08:00-20:00,夜班=20:00-08:00" '
                        "(each shift judged for its own plan); default: the one shift of SHIFT_HOURS")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='factorybot-alerts-')}/bench.db"
    upgrade(url)
    started = time.perf_counter()
    fill(url, args.work_orders)
    print(f"{args.work_orders} open work orders written in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
    policy = build_alert_policy(Settings(shifts=args.shifts))
    session_factory = make_session_factory(make_engine(url))
    for label in ("first round (fires and queues every card)", "steady round (nothing new)", "steady round again"):
        with UnitOfWork(session_factory) as uow:
            t0 = time.perf_counter()
            result = tick(uow, policy, NOW)
            uow.commit()
            elapsed = time.perf_counter() - t0
        print(f"{label:44} {elapsed * 1000:8.0f} ms   fired {len(result.evaluation.fired):5d}   "
              f"open {sum(result.evaluation.by_rule.values()):5d}")
    # The 交期预警 rule's share of a steady round (a cheap check clears the orders comfortably on time).
    with UnitOfWork(session_factory) as uow:
        t0 = time.perf_counter()
        warn_late_orders(uow, policy, NOW, EvalResult())
        print(f"{'  of which 交期预警 (forecast) alone':44} {(time.perf_counter() - t0) * 1000:8.0f} ms")
    with UnitOfWork(session_factory) as uow:
        notices = uow.session.scalar(select(text("count(*)")).select_from(text("notices")))
    print(f"cards queued for sending: {notices}")


if __name__ == "__main__":
    main()
