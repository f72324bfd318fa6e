"""故障演练 / soak: a minute of mixed WeCom traffic against gunicorn + Celery + Redis + the fake WeCom while a
gunicorn worker, the Celery worker and Redis are killed, Redis is paused and WeCom fails, at random moments;
then the ledger: every report a worker was told was accepted is counted once with its quantities, operation
totals add up, every alert card and direct message reached each recipient once, nothing is left pending.

SOAK_SECONDS sets the traffic phase (default 60, on SQLite and on PostgreSQL alike), SOAK_SEED replays a run
(each run prints its seed). The harness is bench/soak.py; `python -m bench.soak` runs the same outside
pytest.
"""

from __future__ import annotations

import os
import shutil

import pytest

from bench.soak import Options, run_soak
from tests.conftest import _unavailable

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
SOAK_SEED = int(os.environ["SOAK_SEED"]) if os.environ.get("SOAK_SEED") else None

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_random_faults_lose_and_double_nothing(db, tmp_path):
    if shutil.which("redis-server") is None:
        _unavailable("redis-server", FileNotFoundError("redis-server not on PATH"))
    result = run_soak(Options(seconds=SOAK_SECONDS, db=db, seed=SOAK_SEED, workdir=tmp_path / "soak"))
    print(result.figures())
    # It really ran: reports accepted, every kind of fault injected at least once.
    assert result.ledger.reports_acked > 20, result.figures()
    assert set(result.faults) == set(result.kinds), result.figures()
    assert result.failures == [], result.figures()
