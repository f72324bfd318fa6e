"""The soak's running service, started the way production starts it, on free ports, in one working folder:
its own redis-server (so it can be killed and paused), gunicorn with the bot, a Celery worker and Celery beat
(the Procfile's three processes), the fake WeCom, and a fresh SQLite file or PostgreSQL database.

Every process but the fake WeCom is a subprocess this module can SIGKILL and start again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from sqlalchemy import create_engine, text

from factorybot.config import Settings
from factorybot.demo_env import DEMO_DEFAULTS, DEMO_LABEL_KEY
from wecom.fake.server import FakeWeComServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

CORP_ID = str(DEMO_DEFAULTS["wecom_corp_id"])
AGENT_ID = int(str(DEMO_DEFAULTS["wecom_agent_id"]))
SECRET = str(DEMO_DEFAULTS["wecom_secret"])
TOKEN = str(DEMO_DEFAULTS["wecom_token"])
AES_KEY = str(DEMO_DEFAULTS["wecom_aes_key"])
LABEL_KEY = DEMO_LABEL_KEY
CELERY_QUEUE = "factorybot"  # task_default_queue in factorybot/celery_app.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, ready: object, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except Exception:  # noqa: BLE001 - not up yet, whatever the reason
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s\n{tail}")


def make_database(kind: str, workdir: Path) -> tuple[str, str | None]:
    """(database URL, name of a PostgreSQL database to drop afterwards), migrated with Alembic like a plant."""
    from domain.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{workdir}/soak.db"
        upgrade(url)
        return url, None
    name = f"factorybot_soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url, name


def drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Stack:
    workdir: Path
    db_url: str
    people: Mapping[str, str]  # userid → name, for the fake WeCom's address book
    redis_port: int = field(default_factory=free_port)
    bot_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    fake: FakeWeComServer | None = None
    redis_paused: bool = False
    died: Counter[str] = field(default_factory=Counter)  # processes that exited on their own, restarted

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's request lines: thousands
        self.fake = FakeWeComServer(CORP_ID, SECRET, AGENT_ID, dict(self.people)).start()
        self.start_redis()
        self.start_gunicorn()
        self.start_celery()
        self.start_beat()

    def stop(self) -> None:
        if self.redis_paused:
            self.resume_redis()
        for name in ("gunicorn", "celery", "beat", "redis"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self._kill_group(proc)
        if self.fake is not None:
            self.fake.stop()
            self.fake = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    def env(self) -> dict[str, str]:
        # The developer's own FactoryBot settings never leak in (a shell that ran the demo exports them).
        scrub = {name.upper() for name in Settings.model_fields}
        env = {k: v for k, v in os.environ.items() if k not in scrub}
        assert self.fake is not None
        env.update({
            "PYTHONPATH": str(ROOT),  # this checkout's code, whatever the venv's editable install points at
            "DATABASE_URL": self.db_url, "REDIS_URL": self.redis_url, "WECOM_CORP_ID": CORP_ID,
            "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
            "WECOM_API_BASE": self.fake.url, "PUBLIC_URL": self.bot_url, "LABEL_KEY": LABEL_KEY,
            "MEDIA_DIR": str(self.workdir / "media"), "LOG_LEVEL": "INFO", "LOG_FORMAT": "text",
        })
        return env

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        # Its own process group: a kill takes the process and its children, as when a box dies.
        proc = subprocess.Popen(argv, env=self.env(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(15)

    # --- Redis ------------------------------------------------------------------------------

    def start_redis(self) -> None:
        self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--daemonize", "no"])
        client = redis.Redis(port=self.redis_port, socket_connect_timeout=1)
        _wait("redis-server", client.ping, 10, self.workdir / "redis.log")
        client.close()

    def kill_redis(self) -> None:
        self._kill_group(self.procs.pop("redis"))
        self.redis_paused = False

    def pause_redis(self) -> None:
        os.kill(self.procs["redis"].pid, signal.SIGSTOP)
        self.redis_paused = True

    def resume_redis(self) -> None:
        os.kill(self.procs["redis"].pid, signal.SIGCONT)
        self.redis_paused = False

    def redis_client(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, socket_connect_timeout=2, socket_timeout=5)

    # --- the bot under gunicorn ---------------------------------------------------------------

    def start_gunicorn(self) -> None:
        # The Procfile's web line, on a free loopback port.
        self._spawn("gunicorn", [str(BIN / "gunicorn"), "--config", "python:factorybot.gunicorn_conf", "--workers", "2",
                                 "--threads", "4", "--timeout", "30", "--bind", f"127.0.0.1:{self.bot_port}",
                                 "bot:create_app()"])
        _wait("gunicorn", lambda: requests.get(self.bot_url + "/healthz", timeout=2).ok, 60,
              self.workdir / "gunicorn.log")

    def gunicorn_workers(self) -> list[int]:
        master = self.procs["gunicorn"].pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def kill_gunicorn_worker(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # the master notices and boots a new worker

    def gunicorn_ready(self, workers: int = 2, timeout: float = 60) -> None:
        """Both workers booted and answering, after a kill."""
        _wait("gunicorn workers", lambda: len(self.gunicorn_workers()) >= workers
              and requests.get(self.bot_url + "/healthz", timeout=2).ok, timeout, self.workdir / "gunicorn.log")

    # --- Celery ---------------------------------------------------------------------------------

    def start_celery(self) -> None:
        # The Procfile's worker line (prefork, two children), its own node name.
        self._spawn("celery", [str(BIN / "celery"), "-A", "factorybot.worker", "worker", "--loglevel", "INFO",
                               "--concurrency", "2", "-n", f"soak{self.bot_port}@%h", "--without-gossip",
                               "--without-mingle"])
        _wait("celery worker", lambda: b"ready." in (self.workdir / "celery.log").read_bytes(), 60,
              self.workdir / "celery.log")

    def kill_celery(self) -> None:
        self._kill_group(self.procs.pop("celery"))
        # The log is appended to across restarts: mark where this life ended so start_celery waits for the next.
        with (self.workdir / "celery.log").open("ab") as log:
            log.write(b"\n--- soak: SIGKILL ---\n")
        (self.workdir / "celery.log").rename(self.workdir / f"celery-{time.time_ns()}.log")

    def start_beat(self) -> None:
        self._spawn("beat", [str(BIN / "celery"), "-A", "factorybot.worker", "beat", "--loglevel", "INFO",
                             "-s", str(self.workdir / "beat-schedule")])

    def revive(self) -> list[str]:
        """What a process supervisor does (systemd Restart=always, a Procfile runner): start again whatever
        exited on its own. Deliberate kills are not seen here: they take the process out of `procs` first."""
        starters = {"redis": self.start_redis, "gunicorn": self.start_gunicorn, "celery": self.start_celery,
                    "beat": self.start_beat}
        revived = []
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            self.died[name] += 1
            del self.procs[name]
            if name == "celery":
                (self.workdir / "celery.log").rename(self.workdir / f"celery-{time.time_ns()}.log")
            starters[name]()
            revived.append(name)
        return revived

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}
