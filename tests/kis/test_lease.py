"""The lease that keeps two runs of a KIS job apart, when a run dies holding it: `kis status` says who holds
it, a run stopped by SIGTERM gives it back, and --force takes it over from a run that is gone."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from domain.models import SalesOrder, SyncState
from factorybot.cli import main
from kis import state as sync_state
from kis.jobs import PULL_LEASE, PUSH_LEASE
from tests.kis.conftest import TZ, seed_kis

GONE = "命令行，plant-7 进程 4242"  # a run killed with SIGKILL: it could not give its lease back


def _env(plant) -> dict[str, str]:
    env = {"DATABASE_URL": plant.url, "KIS_ODBC": plant.kis.conn_str}
    if plant.kis.char_encoding:
        env["KIS_CHAR_ENCODING"] = plant.kis.char_encoding
    return env


@pytest.fixture
def cli(plant, monkeypatch):
    monkeypatch.delenv("KIS_CHAR_ENCODING", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), env=_env(plant), catch_exceptions=False)

    return invoke


def _lease(plant, name: str) -> SyncState | None:
    with plant.uow() as uow:
        row = uow.session.get(SyncState, name)
        uow.session.expunge_all()
        return row


def _held_by_a_dead_run(plant, name: str, since: datetime) -> None:
    with plant.uow() as uow:
        assert sync_state.acquire(uow, name, since, PULL_LEASE if name == sync_state.PULL else PUSH_LEASE,
                                  holder=GONE)
        uow.commit()


def test_status_shows_a_held_lease_before_the_first_run_and_force_takes_it_over(plant, cli):
    seed_kis(plant.kis)
    since = datetime.now(UTC).replace(microsecond=0)
    _held_by_a_dead_run(plant, sync_state.PULL, since)
    at, until = since.astimezone(TZ), (since + PULL_LEASE).astimezone(TZ)

    status = cli("kis", "status").stdout
    assert (f"订单同步：首次运行；正在运行（{GONE}，{at:%m-%d %H:%M} 起，占用至 {until:%m-%d %H:%M}）\n"
            "  若该运行已中断（例如进程被终止），到期后即可再次运行，或用 factorybot kis pull --force 接管") in status
    assert "完工回写：尚未运行" in status

    refused = cli("kis", "pull")
    assert refused.exit_code == 1
    assert f"另一次 KIS 订单同步正在进行（{GONE}，{at:%m-%d %H:%M} 起），本次跳过。" in refused.stderr
    assert "可加 --force 接管：factorybot kis pull --force" in refused.stderr

    taken = cli("kis", "pull", "--force")
    assert taken.exit_code == 0, taken.output
    assert "订单：新增 2" in taken.stdout
    status = cli("kis", "status").stdout
    assert "订单同步：上次" in status and "正在运行" not in status
    assert _lease(plant, sync_state.PULL).lease_until is None

    _held_by_a_dead_run(plant, sync_state.PUSH, datetime.now(UTC))
    assert cli("kis", "push").exit_code == 1
    pushed = cli("kis", "push", "--force")
    assert pushed.exit_code == 0 and pushed.stdout.startswith("KIS 完工回写完成")
    assert _lease(plant, sync_state.PUSH).lease_holder is None

    for command in ("pull", "push"):
        shown = " ".join(cli("kis", command, "--help").stdout.split())
        assert "--force Take over the lease of a run that no longer runs" in shown and "kis status" in shown


@contextmanager
def _kis_locked(kis) -> Iterator[None]:
    """KIS busy: a long transaction holds SEOrder, so a pull waits on its first read."""
    if kis.dialect == "sqlite":
        path = re.search(r"Database=([^;]+)", kis.conn_str).group(1)
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
    else:
        locker = kis.connect()
        locker.cursor().execute("LOCK TABLE SEOrder IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        locker.rollback()
        locker.close()


def test_a_pull_stopped_by_sigterm_gives_its_lease_back(plant, cli, tmp_path):
    seed_kis(plant.kis)
    with _kis_locked(plant.kis):
        run = subprocess.Popen([str(Path(sys.executable).with_name("factorybot")), "kis", "pull"],
                               env={**os.environ, **_env(plant)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        try:
            deadline = time.monotonic() + 30
            while (_lease(plant, sync_state.PULL) or SyncState()).lease_until is None:
                assert run.poll() is None and time.monotonic() < deadline, run.communicate()
                time.sleep(0.1)
            assert "命令行" in _lease(plant, sync_state.PULL).lease_holder
            time.sleep(0.5)  # into its first read of SEOrder, which waits for the lock
            run.send_signal(signal.SIGTERM)
        except BaseException:
            run.kill()
            raise
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, (out, err)
    assert "KIS 订单同步已中止：本次未做任何修改，可随时重新运行。" in err
    state = _lease(plant, sync_state.PULL)
    assert (state.lease_until, state.lease_holder, state.last_run_at) == (None, None, None)
    with plant.uow() as uow:
        assert uow.session.scalars(select(SalesOrder)).all() == []

    assert "订单同步：尚未运行" in cli("kis", "status").stdout
    again = cli("kis", "pull")  # at once: no waiting out the 30 minutes of a lease nobody holds
    assert again.exit_code == 0 and "订单：新增 2" in again.stdout
