"""The Celery worker: it refuses to start without its secrets, naming the variable, with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN

CELERY = str(Path(sys.executable).with_name("celery"))
# Nothing listens here: a worker that got past its checks would sit retrying the broker until the timeout.
NO_BROKER = "redis://127.0.0.1:8899/0"


def _start_worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "LOG_", "REDIS_URL", "DATABASE_URL"))}
    full = {**base, "DATABASE_URL": f"sqlite:///{tmp_path}/worker.db", "REDIS_URL": NO_BROKER, **env}
    try:
        return subprocess.run([CELERY, "-A", "factorybot.worker", "worker", "--pool", "solo", "--without-heartbeat",
                               "--without-gossip", "--without-mingle"], env=full, cwd=tmp_path, capture_output=True,
                              text=True, timeout=25, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the worker started instead of refusing: {exc.stderr!r}")


WECOM = {"WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN,
         "WECOM_AES_KEY": AES_KEY}


def test_a_worker_without_its_wecom_secret_refuses_to_start(tmp_path):
    env = {k: v for k, v in WECOM.items() if k != "WECOM_SECRET"}
    done = _start_worker(tmp_path, **env)
    assert done.returncode != 0
    assert "WECOM_SECRET" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def test_a_worker_with_a_malformed_setting_names_it(tmp_path):
    done = _start_worker(tmp_path, **{**WECOM, "WECOM_AES_KEY": "short"})
    assert done.returncode != 0
    assert "WECOM_AES_KEY" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def test_a_worker_with_a_bad_alert_setting_names_it(tmp_path):
    done = _start_worker(tmp_path, **{**WECOM, "ALERT_ESCALATION_CHAIN": "supervisor,chef"})
    assert done.returncode != 0
    assert "ALERT_ESCALATION_CHAIN" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
