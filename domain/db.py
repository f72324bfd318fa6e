"""Engines and sessions; the only place that knows about SQL dialects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # A database that went away must fail a request (and /readyz) in seconds, not hang it.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 3}, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


READ_ONLY = "factorybot_read_only"
# How long (ms) a writer waits for SQLite's write lock; a unit of work may ask for less (LOCK_WAIT_MS), e.g.
# a usage row that must not hold a chat reply behind another writer.
LOCK_WAIT_MS = "factorybot_lock_wait_ms"
SQLITE_BUSY_MS = 30_000


def _sqlite_begin(conn: Any) -> None:
    # SQLite's deferred BEGIN lets two writers read the same quantities and then fail late;
    # BEGIN IMMEDIATE serialises writers up front, which is what report_work relies on. A unit of
    # work that only reads (a board poll, a chat query) must not queue behind writers for the lock, so it defers.
    options = conn.get_execution_options()
    wait = int(options.get(LOCK_WAIT_MS, SQLITE_BUSY_MS))
    info = conn.connection.info  # per DBAPI connection: a shortened wait must not stay on a pooled one
    if info.get(LOCK_WAIT_MS, SQLITE_BUSY_MS) != wait:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={wait}")
        info[LOCK_WAIT_MS] = wait
    conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
