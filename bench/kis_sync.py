"""How long the KIS sync takes for 10,000 order lines and 10,000 completions, through real ODBC drivers.
Prints its figures; asserts nothing.

    .venv/bin/python bench/kis_sync.py [--lines 10000] [--completions 10000] [--no-postgres]

Two pairings, as in tests/kis: FactoryBot on SQLite with KIS behind the SQLite3 ODBC driver, and FactoryBot
on PostgreSQL with KIS behind psqlODBC ("PostgreSQL Unicode") in throwaway databases on 127.0.0.1:5432.
Timed: a first pull that creates every order, a second that finds nothing changed, a push that writes every
completion to the staging table, and a push that reads back what the (simulated) KIS job made of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyodbc  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from alerts.policy import AlertPolicy  # noqa: E402
from domain.db import make_engine, make_session_factory  # noqa: E402
from domain.models import Base, Operation, Person, SalesOrderLine, WorkOrder, WorkReport  # noqa: E402
from domain.uow import UnitOfWork  # noqa: E402
from factorybot.config import Settings  # noqa: E402
from kis.config import KisConfig  # noqa: E402
from kis.jobs import KisJobs, run_pull, run_push  # noqa: E402
from kis.shaped_db import KisBook, Line, Order, create_kis_tables, run_inbound_job  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in the plant
ROUTE = (("注塑", "注塑车间"), ("修边", "后加工车间"), ("质检", "质检部"), ("包装", "后加工车间"))
DAYS = 10  # completions per work order: one per production day


def fill_kis(conn_str: str, lines: int) -> int:
    """Customers, items and approved orders of 2–3 lines with Chinese names; returns the number of orders."""
    cnxn = pyodbc.connect(conn_str, autocommit=False)
    create_kis_tables(cnxn, "FB_InboundStaging")
    book = KisBook(cnxn)
    book.users([(16394, "王会计")])
    book.customers([(1000 + i, f"C{i:03d}", f"客户{i:03d}电器股份有限公司") for i in range(1, 41)])
    book.items([(2000 + i, f"3.{i // 100:02d}.{i:04d}", f"注塑件{i:04d}", f"PP 白色 Φ{100 + i}") for i in range(1, 301)])
    orders, made, n = [], 0, 0
    while made < lines:
        n += 1
        count = min(2 + n % 2, lines - made)
        day = date(2026, 9, 1) + timedelta(days=n % 80)
        orders.append(Order(100000 + n, f"SEORD{n:06d}", day, 1000 + 1 + n % 40,
                            [Line(e, 2001 + (n * 7 + e) % 300, 500 * (1 + (n + e) % 20), day + timedelta(days=20))
                             for e in range(1, count + 1)],
                            status=1 + n % 2, check_date=datetime.combine(day, datetime.min.time()) + timedelta(hours=9)))
        made += count
    book.commits = False
    for start in range(0, len(orders), 1000):
        book.orders(orders[start : start + 1000])
    cnxn.commit()
    cnxn.close()
    return len(orders)


def add_completions(session_factory, count: int) -> None:
    """count // DAYS work orders on pulled order lines, each finishing pieces on DAYS production days."""
    with UnitOfWork(session_factory) as uow:
        s = uow.session
        s.add(Person(userid="t1", name="小李", roles_csv="worker", workshop="后加工车间"))
        s.flush()
        operator = s.scalar(select(Person.id).where(Person.userid == "t1"))
        wanted = count // DAYS
        lines = s.execute(select(SalesOrderLine.id, SalesOrderLine.product_id, SalesOrderLine.qty)
                          .order_by(SalesOrderLine.id).limit(wanted)).all()
        start = datetime(2026, 11, 1, tzinfo=UTC)
        s.execute(insert(WorkOrder), [
            dict(code=f"WB{i:06d}", line_id=line_id, product_id=product_id, planned_qty=qty, daily_plan_qty=qty,
                 planned_start=start, planned_finish=start + timedelta(days=DAYS), workshop="注塑车间",
                 status="in_progress")
            for i, (line_id, product_id, qty) in enumerate(lines, start=1)])
        wo_ids = list(s.scalars(select(WorkOrder.id).order_by(WorkOrder.id)))
        s.execute(insert(Operation), [dict(work_order_id=w, seq=seq, name=name, workshop=shop, good_qty=0, defect_qty=0,
                                           status="in_progress")
                                      for w in wo_ids for seq, (name, shop) in enumerate(ROUTE, start=1)])
        last_ops = dict(s.execute(select(Operation.work_order_id, Operation.id).where(Operation.seq == len(ROUTE))).all())
        first_day = date(2026, 11, 24) - timedelta(days=DAYS - 1)
        reports = [dict(source_key=f"bench:{w}:{d}", work_order_id=w, operation_id=last_ops[w], operator_id=operator,
                        good_qty=100 + (w + d) % 50, defect_qty=d % 3, points=1,
                        reported_at=datetime.combine(first_day + timedelta(days=d), datetime.min.time(), tzinfo=UTC)
                        + timedelta(hours=2), work_day=first_day + timedelta(days=d))
                   for w in wo_ids for d in range(DAYS)]
        for i in range(0, len(reports), 5000):
            s.execute(insert(WorkReport), reports[i : i + 5000])
        uow.commit()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


@contextmanager
def sqlite_pair(tmp: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp}/factorybot.db"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url, f"Driver={{SQLite3}};Database={tmp}/kis.db"


@contextmanager
def postgres_pair() -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:8]
    store, kis = f"bench_store_{tag}", f"bench_kis_{tag}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{store}"'))
        conn.execute(text(f'CREATE DATABASE "{kis}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{store}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url, f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port=5432;Database={kis};UID=postgres;"
    finally:
        with admin.connect() as conn:
            for name in (store, kis):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_pair(label: str, url: str, conn_str: str, lines: int, completions: int) -> None:
    n_orders = fill_kis(conn_str, lines)
    cnxn = pyodbc.connect(conn_str)
    driver = f"{cnxn.getinfo(pyodbc.SQL_DRIVER_NAME)} {cnxn.getinfo(pyodbc.SQL_DRIVER_VER)}"
    dbms = f"{cnxn.getinfo(pyodbc.SQL_DBMS_NAME)} {cnxn.getinfo(pyodbc.SQL_DBMS_VER)}"
    cnxn.close()
    settings = Settings(database_url=url, kis_odbc=conn_str, kis_push_start=date(2026, 11, 1))
    engine = make_engine(url)
    jobs = KisJobs(make_session_factory(engine), KisConfig.from_settings(settings), AlertPolicy(), clock=lambda: NOW)
    print(f"{label}: KIS through {driver} ({dbms})")

    def row(what: str, secs: float, per: str = "") -> None:
        print(f"  {what:<66}{secs:6.2f} s{per}")

    secs, out = timed(lambda: run_pull(jobs))
    assert out.ok and out.pull and out.pull.lines_read == lines, out.text  # type: ignore[union-attr]
    row(f"pull {lines:,} order lines ({n_orders:,} orders), all new", secs, f"  ({lines / secs:,.0f} lines/s)")
    secs, out = timed(lambda: run_pull(jobs))
    assert out.ok, out.text  # type: ignore[union-attr]
    row(f"pull again: lookback window ({out.pull.lines_read:,} lines), the rest by state", secs)  # type: ignore[union-attr]
    secs, out = timed(lambda: run_pull(jobs, since=datetime(2000, 1, 1)))
    assert out.ok and out.pull.unchanged == n_orders, out.text  # type: ignore[union-attr]
    row(f"pull --since 2000-01-01: all {lines:,} lines re-read, none changed", secs)

    add_completions(jobs.session_factory, completions)
    secs, out = timed(lambda: run_push(jobs))
    assert out.ok and out.push and out.push.written == completions, out.text  # type: ignore[union-attr]
    row(f"push {completions:,} completions ({out.push.batches} KIS transactions of {jobs.config.push_batch})", secs,  # type: ignore[union-attr]
        f"  ({completions / secs:,.0f} rows/s)")
    cnxn = pyodbc.connect(conn_str, autocommit=False)
    run_inbound_job(cnxn, "FB_InboundStaging")
    cnxn.close()
    secs, out = timed(lambda: run_push(jobs))
    assert out.ok and out.push.readback.imported == completions, out.text  # type: ignore[union-attr]
    row(f"push again: read back {completions:,} bill numbers", secs)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--completions", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sqlite_pair(Path(tmp)) as (url, kis):
        run_pair("FactoryBot on SQLite", url, kis, args.lines, args.completions)
    if not args.no_postgres:
        with postgres_pair() as (url, kis):
            run_pair("FactoryBot on PostgreSQL", url, kis, args.lines, args.completions)


if __name__ == "__main__":
    main()
