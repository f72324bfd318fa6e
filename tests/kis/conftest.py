"""A KIS-shaped database behind a real ODBC driver, and FactoryBot's store beside it.

Two pairings, so both dialect paths run on both sides: FactoryBot on SQLite with KIS through the SQLite3
driver (libsqliteodbc), and FactoryBot on PostgreSQL with KIS through psqlODBC's "PostgreSQL Unicode" driver
in a throwaway database. A third runs the SQLite store against KIS through psqlODBC's "PostgreSQL ANSI" driver
with a GBK client encoding: a driver that hands Chinese text over as raw GBK bytes, the case KIS_CHAR_ENCODING
is for (kis.md section 5). Nothing is mocked between pyodbc and the driver. "KIS unreachable" is real too: the
SQLite file is moved away (NoCreat=1 keeps the driver from creating an empty one) or the PostgreSQL database
is renamed, so connecting fails the way a stopped server does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyodbc
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from alerts.policy import AlertPolicy
from domain.db import make_engine, make_session_factory
from domain.models import Base
from domain.uow import UnitOfWork
from factorybot.config import Settings
from kis.config import KisConfig
from kis.gateway import open_kis
from kis.jobs import KisJobs, Outcome, run_pull, run_push
from kis.shaped_db import KisBook, Line, Order, Task, create_kis_tables
from tests.conftest import PG_ADMIN_URL, _truncate_pg, _unavailable
from tests.factories import add_people

TZ = ZoneInfo("Asia/Shanghai")
STAGING = "FB_InboundStaging"
PG_ODBC = "Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port=5432;Database={db};UID=postgres;"
PG_ODBC_GBK = ("Driver={{PostgreSQL ANSI}};Server=127.0.0.1;Port=5432;Database={db};UID=postgres;"
               "ConnSettings=SET client_encoding TO 'GBK';")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A plant-local moment as an aware datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@dataclass
class KisDb:
    """The KIS account database of the tests: how to reach it, and how to make it unreachable.

    conn_str is FactoryBot's KIS_ODBC; connect() is how KIS itself (its users, its import job) writes to it.
    """

    conn_str: str
    dialect: str
    _away: Callable[[], None]
    _back: Callable[[], None]
    own_str: str | None = None  # when FactoryBot's driver is not the one KIS's own side uses
    char_encoding: str | None = None  # FactoryBot's KIS_CHAR_ENCODING for conn_str

    def connect(self) -> pyodbc.Connection:
        return pyodbc.connect(self.own_str or self.conn_str, autocommit=False)

    @contextmanager
    def book(self) -> Iterator[KisBook]:
        cnxn = self.connect()
        try:
            yield KisBook(cnxn)
        finally:
            cnxn.close()

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        cnxn = self.connect()
        try:
            return [tuple(r) for r in cnxn.cursor().execute(sql, *params).fetchall()]
        finally:
            cnxn.close()

    def staging(self) -> list[dict[str, Any]]:
        cnxn = self.connect()
        try:
            cur = cnxn.cursor().execute(
                f"SELECT FSourceKey, FBatchID, FOrderBillNo, FOrderEntryID, FICMOBillNo, FItemNumber, FQty, FDefectQty, "
                f"FDate, FOperator, FStatus FROM {STAGING} ORDER BY FSourceKey")
            names = [d[0].lower() for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            cnxn.close()

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        self._away()
        try:
            yield
        finally:
            self._back()


def _sqlite_kis(tmp_path: Path) -> KisDb:
    folder = tmp_path / "kis"
    folder.mkdir()
    path = folder / "AIS20240101.db"
    pyodbc.connect(f"Driver={{SQLite3}};Database={path}").close()  # creates the file
    away = tmp_path / "kis-away.db"
    return KisDb(f"Driver={{SQLite3}};Database={path};NoCreat=1", "sqlite",
                 lambda: path.rename(away), lambda: away.rename(path))


@pytest.fixture
def kis_pg_database() -> Iterator[str]:
    name = f"kis_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        _unavailable("PostgreSQL", exc)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_away" WITH (FORCE)'))
    admin.dispose()


def _pg_kis(name: str, *, gbk: bool = False, schema: str | None = None) -> KisDb:
    """KIS on PostgreSQL. With `schema`, KIS's tables live in that schema, which KIS's own side has on its
    search path and FactoryBot's login does not: as on a SQL Server whose FactoryBot login has another
    default schema than dbo, only schema-qualified names reach them."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def rename(old: str, new: str) -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": old})
            conn.execute(text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))

    away, back = lambda: rename(name, f"{name}_away"), lambda: rename(f"{name}_away", name)
    if gbk:
        return KisDb(PG_ODBC_GBK.format(db=name), "postgresql", away, back, own_str=PG_ODBC.format(db=name),
                     char_encoding="gbk")
    if schema:
        kis_db = create_engine(make_url(PG_ADMIN_URL).set(database=name), isolation_level="AUTOCOMMIT")
        with kis_db.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        kis_db.dispose()
        return KisDb(PG_ODBC.format(db=name), "postgresql", away, back,
                     own_str=PG_ODBC.format(db=name) + f"ConnSettings=SET search_path TO {schema};")
    return KisDb(PG_ODBC.format(db=name), "postgresql", away, back)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Plant:
    """FactoryBot's store and the KIS database, with the jobs wired between them."""

    kis: KisDb
    url: str
    session_factory: sessionmaker[Session]
    config: KisConfig
    clock: Clock
    alert_policy: AlertPolicy = field(default_factory=AlertPolicy)
    # Records every statement FactoryBot sends to KIS when set (see record()).
    sent: list[str] | None = None

    @property
    def jobs(self) -> KisJobs:
        if self.sent is None:
            return KisJobs(self.session_factory, self.config, self.alert_policy, clock=self.clock)
        return KisJobs(self.session_factory, self.config, self.alert_policy, clock=self.clock,
                       open_link=partial(open_kis, recorder=self.sent.append))

    def record(self) -> list[str]:
        """From now on, every statement the jobs send to KIS is appended to the returned list."""
        self.sent = []
        return self.sent

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def pull(self, **kw: Any) -> Outcome:
        return run_pull(self.jobs, **kw)

    def push(self, **kw: Any) -> Outcome:
        return run_push(self.jobs, **kw)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("gbk", marks=pytest.mark.postgres)],
                ids=["store-sqlite+odbc-SQLite3", "store-postgresql+odbc-PostgreSQL-Unicode",
                     "store-sqlite+odbc-PostgreSQL-ANSI-GBK"])
def plant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Plant]:
    if request.param in ("sqlite", "gbk"):
        url = f"sqlite:///{tmp_path}/factorybot.db"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        kis = (_sqlite_kis(tmp_path) if request.param == "sqlite"
               else _pg_kis(request.getfixturevalue("kis_pg_database"), gbk=True))
    else:
        url = request.getfixturevalue("pg_database_url")
        _truncate_pg(url)
        engine = make_engine(url)
        kis = _pg_kis(request.getfixturevalue("kis_pg_database"))
    p = make_plant(kis, url, engine)
    yield p
    engine.dispose()


def make_plant(kis: KisDb, url: str, engine: Any, *, staging: bool = True, **settings: Any) -> Plant:
    """FactoryBot's store at `url` beside the KIS-shaped tables in `kis` (with the staging table unless told)."""
    cnxn = kis.connect()
    create_kis_tables(cnxn, STAGING if staging else None)
    cnxn.close()
    config = Settings(database_url=url, kis_odbc=kis.conn_str, kis_timeout=5, kis_push_batch=50,
                      kis_char_encoding=kis.char_encoding, **settings)
    p = Plant(kis, url, make_session_factory(engine), KisConfig.from_settings(config), Clock(local(2026, 11, 25, 2, 0)))
    with p.uow() as uow:
        add_people(uow)
        uow.commit()
    return p


# --- the KIS book of the tests: Chinese master data, orders in every status, one production task ---------------

CUSTOMERS = ((1001, "C001", "美的集团"), (1002, "C002", "格力电器"), (1010, "C010", "飞利浦(中国)投资有限公司"))
ITEMS = ((2001, "3.01.0012", "电饭煲上盖", "PP 白色 Φ220"), (2002, "3.02.0007", "空调面板", "ABS 白色 900×300"),
         (2003, "3.03.0105", "插座外壳", "PC 白色 五孔 86型"))
DEPARTMENTS = ((1, "01", "注塑车间"), (2, "02", "后加工车间"), (3, "03", "质检部"))


def kis_dt(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A KIS timestamp: the server's local clock, naive."""
    return datetime(y, m, d, hh, mm)


def seed_kis(kis: KisDb) -> None:
    with kis.book() as book:
        book.users([(16394, "王会计")])
        book.departments(DEPARTMENTS)
        book.employees([(3001, "E001", "张三", 1), (3002, "E002", "小李", 2)])
        book.customers(CUSTOMERS)
        book.items(ITEMS)
        book.orders([
            Order(101, "SEORD000101", date(2026, 11, 9), 1001,
                  [Line(1, 2001, 6000, date(2026, 12, 5)), Line(2, 2002, 2000, date(2026, 12, 8))],
                  check_date=kis_dt(2026, 11, 10, 9, 30)),
            Order(102, "SEORD000102", date(2026, 11, 21), 1002, [Line(1, 2002, 3000, date(2026, 12, 1))], status=2,
                  check_date=kis_dt(2026, 11, 22, 16, 5)),
            Order(103, "SEORD000103", date(2026, 11, 24), 1010, [Line(1, 2003, 8000, date(2026, 12, 10))], status=0),
            Order(104, "SEORD000104", date(2026, 11, 20), 1001, [Line(1, 2003, 500, date(2026, 12, 1))],
                  check_date=kis_dt(2026, 11, 20, 10, 0), cancelled=True),
            Order(105, "SEORD000105", date(2026, 10, 2), 1002, [Line(1, 2001, 1000, date(2026, 10, 20))], status=3,
                  check_date=kis_dt(2026, 10, 3, 8, 0)),
        ])
        book.tasks([Task(201, "WORK000201", 2001, 6000, 101, kis_dt(2026, 11, 23), kis_dt(2026, 11, 25),
                         department_id=1, check_date=kis_dt(2026, 11, 22, 17, 0))])
