"""Fixtures: the store on SQLite and on the local PostgreSQL, units of work, the plant policy."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from domain.db import make_engine, make_session_factory
from domain.models import Base
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from factorybot.config import Settings


def _scrub_plant_settings() -> None:
    """Forget the developer's own FactoryBot settings before any test reads the environment.

    A shell that ran the demo or a live plant has WECOM_API_BASE, DATABASE_URL, REDIS_URL… exported; a CLI test
    that inherited them sent real cards to the demo next door. Tests set what they need themselves."""
    for name in Settings.model_fields:
        os.environ.pop(name.upper(), None)


_scrub_plant_settings()

# Redis for the tests: TEST_REDIS_URL names one database outright; otherwise the session claims a free
# database number on this server (see redis_test_url), so a demo or a second suite on the same Redis is
# never flushed by this one.
TEST_REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
_REDIS_CLAIM_KEY = "factorybot:test-suite-claim"
_REDIS_CLAIM_SECONDS = 3 * 3600

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The README test command sets this so that a missing service fails the run instead of skipping a tier.
REQUIRE_SERVICES = os.environ.get("FACTORYBOT_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, exc: Exception) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required but unavailable: {exc}")
    pytest.skip(f"{what} unavailable: {exc}")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated with Alembic (so the migrations are tested too)."""
    name = f"factorybot_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        _unavailable("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    from domain.migrate import upgrade

    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _claim_redis_db() -> tuple[str, Callable[[], None]]:
    """A Redis URL whose database no one else uses: empty, and claimed by a key only this session holds.

    Database 0 is left to the demo and to real use. A claim left behind by a killed suite expires."""
    import redis

    owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    base = TEST_REDIS_SERVER.rstrip("/")
    probe = redis.Redis.from_url(f"{base}/0", socket_connect_timeout=2)
    try:
        databases = int(probe.config_get("databases").get("databases", 16))
    except redis.ResponseError:  # CONFIG disabled on this server: assume Redis's default
        databases = 16
    finally:
        probe.close()
    for number in range(databases - 1, 0, -1):
        client = redis.Redis.from_url(f"{base}/{number}", socket_connect_timeout=2)
        try:
            if client.dbsize() == 0 and client.set(_REDIS_CLAIM_KEY, owner, nx=True, ex=_REDIS_CLAIM_SECONDS):
                def release(client: redis.Redis = client) -> None:
                    if client.get(_REDIS_CLAIM_KEY) == owner.encode():
                        client.flushdb()
                    client.close()

                return f"{base}/{number}", release
        except redis.RedisError:
            client.close()
            raise
        client.close()
    raise RuntimeError(f"no free Redis database on {base}: every one from 1 to {databases - 1} holds data")


def flush_keeping_claim(client: object) -> None:
    """Empty the session's Redis database but keep its claim, so no other suite takes it meanwhile."""
    claim = client.get(_REDIS_CLAIM_KEY)  # type: ignore[attr-defined]
    client.flushdb()  # type: ignore[attr-defined]
    if claim is not None:
        client.set(_REDIS_CLAIM_KEY, claim, ex=_REDIS_CLAIM_SECONDS)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def redis_test_url() -> Iterator[str]:
    """The Redis database this test session may flush at will (TEST_REDIS_URL, or a claimed free one)."""
    import redis

    explicit = os.environ.get("TEST_REDIS_URL")
    if explicit:
        yield explicit
        return
    try:
        url, release = _claim_redis_db()
    except (redis.RedisError, RuntimeError) as exc:
        _unavailable("Redis", exc)
    yield url
    release()


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/test.db"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("pg_database_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def make_uow(session_factory: sessionmaker[Session]) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(session_factory)


@pytest.fixture
def policy() -> PlantPolicy:
    return PlantPolicy()


@pytest.fixture(scope="session")
def fake_wecom():
    """Our local fake WeCom API over real HTTP, shared by the session (tests reset it when they count calls)."""
    from tests.bot.conftest import AGENT_ID, CORP_ID, SECRET
    from wecom.fake.server import FakeWeComServer

    with FakeWeComServer(CORP_ID, SECRET, AGENT_ID) as server:
        yield server
