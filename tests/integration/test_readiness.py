"""/readyz follows its dependencies: a PostgreSQL or Redis that stops makes it 503 with the reason, and it
is ready again when they come back, with no restart of the bot. Real servers of our own, on spare ports."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bot.app import create_app
from bot.queue import RecordingQueue
from domain.migrate import upgrade
from tests.bot.conftest import make_settings
from tests.conftest import REQUIRE_SERVICES

PG_BIN = next(Path("/usr/lib/postgresql").glob("*/bin"), None) if Path("/usr/lib/postgresql").exists() else None
_MISSING = PG_BIN is None or shutil.which("redis-server") is None or shutil.which("runuser") is None
# Outside CI a laptop without these tools skips; in CI (FACTORYBOT_REQUIRE_SERVICES=1) their absence fails.
pytestmark = pytest.mark.skipif(_MISSING and not REQUIRE_SERVICES,
                                reason="needs PostgreSQL binaries, redis-server and runuser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnPostgres:
    """A throwaway PostgreSQL cluster we may stop and start at will (the shared one serves other tests)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="factorybot-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self._as_postgres(PG_BIN / "initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")

    def _as_postgres(self, *args: object) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True, capture_output=True)

    def start(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-w", "-o",
                          f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()

    def start(self) -> None:
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--daemonize", "yes"], check=True, capture_output=True)
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def servers(fake_wecom):
    pg, redis = OwnPostgres(), OwnRedis()
    pg.start()
    redis.start()
    upgrade(pg.url)
    try:
        yield pg, redis
    finally:
        redis.stop()
        pg.stop()
        shutil.rmtree(pg.dir, ignore_errors=True)


def ready(client) -> tuple[int, dict]:
    resp = client.get("/readyz")
    return resp.status_code, resp.get_json()


def test_readyz_follows_postgres_and_redis_without_a_restart(servers, fake_wecom):
    pg, redis = servers
    app = create_app(make_settings(pg.url, fake_wecom.url, redis_url=redis.url), queue=RecordingQueue())
    client = app.test_client()  # the test client's address is 127.0.0.1: allowed without OPS_TOKEN
    status, body = ready(client)
    assert status == 200 and body["status"] == "ready" and body["failing"] == []

    pg.stop()
    status, body = ready(client)
    assert status == 503 and body["failing"] == ["database"]
    assert not body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    pg.start()
    assert ready(client)[0] == 200

    redis.stop()
    status, body = ready(client)
    # The WeCom token is shared through Redis, so its check fails with it; the database is fine.
    assert status == 503 and body["failing"][0] == "redis" and "database" not in body["failing"]
    assert "Connection" in body["checks"]["redis"]["detail"]
    redis.start()
    status, body = ready(client)
    assert status == 200 and body["checks"]["wecom"]["detail"] == "access token ok"
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_ops_endpoints_need_the_token_when_one_is_set(fake_wecom, tmp_path):
    url = f"sqlite:///{tmp_path}/ops.db"
    upgrade(url)
    app = create_app(make_settings(url, fake_wecom.url, ops_token="s3cret-ops"), queue=RecordingQueue())
    client = app.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/readyz", headers={"Authorization": "Bearer wrong"}).status_code == 403
    metrics = client.get("/metrics", headers={"Authorization": "Bearer s3cret-ops"})
    assert metrics.status_code == 200 and b"factorybot_callbacks_total" in metrics.data
    remote = app.test_client()
    closed = create_app(make_settings(url, fake_wecom.url), queue=RecordingQueue()).test_client()
    assert closed.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert remote.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_a_request_forwarded_by_a_proxy_on_this_machine_is_not_local(fake_wecom, tmp_path):
    """A reverse proxy on the same host connects from 127.0.0.1 for anyone: without OPS_TOKEN, what it
    forwards gets no /readyz or /metrics, while the machine itself (a local scraper or supervisor) still does."""
    url = f"sqlite:///{tmp_path}/proxy.db"
    upgrade(url)
    closed = create_app(make_settings(url, fake_wecom.url), queue=RecordingQueue()).test_client()
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9;proto=https"},
                   {"X-Real-IP": "203.0.113.9"}, {"X-Forwarded-Proto": "https"}):
        assert closed.get("/metrics", headers=header).status_code == 403, header
        assert closed.get("/readyz", headers=header).status_code == 403, header
        assert closed.get("/healthz", headers=header).status_code == 200, header
    assert closed.get("/metrics").status_code == 200
    assert closed.get("/readyz").status_code == 200
    # With the token, the proxy is no obstacle: the token is the proof, not the address.
    opened = create_app(make_settings(url, fake_wecom.url, ops_token="s3cret-ops"), queue=RecordingQueue())
    forwarded = {"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer s3cret-ops"}
    assert opened.test_client().get("/metrics", headers=forwarded).status_code == 200


def test_a_kis_pull_older_than_a_day_makes_the_bot_not_ready(fake_wecom, tmp_path):
    from datetime import UTC, datetime, timedelta

    from domain.models import SyncState
    from domain.uow import UnitOfWork

    url = f"sqlite:///{tmp_path}/kis.db"
    upgrade(url)
    app = create_app(make_settings(url, fake_wecom.url, kis_odbc=f"Driver=SQLite3;Database={tmp_path}/kis-src.db"),
                     queue=RecordingQueue())
    client = app.test_client()
    status, body = ready(client)
    assert status == 503 and body["failing"] == ["kis"] and "no successful KIS pull yet" in body["checks"]["kis"]["detail"]
    factory = app.extensions["bot"].runtime.session_factory
    with UnitOfWork(factory) as uow:
        uow.session.add(SyncState(name="kis_pull", last_ok_at=datetime.now(UTC) - timedelta(hours=30)))
        uow.commit()
    status, body = ready(client)
    assert status == 503 and "30.0 h ago" in body["checks"]["kis"]["detail"]
    with UnitOfWork(factory) as uow:
        uow.session.get(SyncState, "kis_pull").last_ok_at = datetime.now(UTC) - timedelta(hours=2)
        uow.commit()
    assert ready(client)[0] == 200


def test_metrics_show_the_celery_queue_and_the_kis_jobs(db_url, fake_wecom, real_redis, redis_test_url):
    """The store and broker gauges on /metrics: tasks waiting in Celery's Redis list, the age of each KIS job's
    last success, and the outbox by status."""
    from datetime import UTC, datetime, timedelta

    from domain.models import KisOutbox, SyncState
    from domain.uow import UnitOfWork
    from domain.vocab import OutboxStatus
    from tests.bot.test_observability import metric
    from tests.factories import small_plant

    app = create_app(make_settings(db_url, fake_wecom.url, redis_url=redis_test_url), queue=RecordingQueue())
    client = app.test_client()
    assert "factorybot_celery_queue_depth 0.0" in client.get("/metrics").get_data(as_text=True).splitlines()
    real_redis.rpush("factorybot", "task-1", "task-2", "task-3")  # the Celery queue is a Redis list of its name
    now = datetime.now(UTC)
    with UnitOfWork(app.extensions["bot"].runtime.session_factory) as uow:
        wo = small_plant(uow)
        uow.session.add_all([SyncState(name="kis_pull", last_ok_at=now - timedelta(hours=2)),
                             SyncState(name="kis_push", last_ok_at=now - timedelta(minutes=5)),
                             SyncState(name="kis_never", last_ok_at=None)])  # never succeeded: no age
        for n, status in enumerate((OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.REJECTED)):
            uow.session.add(KisOutbox(source_key=f"FB:{n}", work_order_id=wo.id, work_day=now.date(), qty=10,
                                      defect_qty=0, status=status, created_at=now))
        uow.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert "factorybot_celery_queue_depth 3.0" in text.splitlines()
    assert metric(text, "factorybot_kis_sync_age_seconds", job="kis_pull") == pytest.approx(7200, abs=60)
    assert metric(text, "factorybot_kis_sync_age_seconds", job="kis_push") == pytest.approx(300, abs=60)
    assert 'job="kis_never"' not in text
    assert metric(text, "factorybot_kis_outbox_rows", status="pending") == 2
    assert metric(text, "factorybot_kis_outbox_rows", status="rejected") == 1
