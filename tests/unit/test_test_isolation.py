"""The suite never inherits a live plant's or the demo's settings from the shell that runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_plant_setting_reaches_a_test():
    leaked = [name for name in ("WECOM_API_BASE", "DATABASE_URL", "REDIS_URL", "WECOM_SECRET", "KIS_ODBC")
              if name in os.environ]
    assert leaked == []


def test_a_shell_that_ran_the_demo_does_not_point_the_tests_at_it():
    # As a developer's shell after `export WECOM_API_BASE=http://127.0.0.1:8930` for the demo.
    env = dict(os.environ, WECOM_API_BASE="http://127.0.0.1:8930", DATABASE_URL="sqlite:////tmp/live-plant.db",
               REDIS_URL="redis://127.0.0.1:6379/0")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/unit/test_test_isolation.py::test_no_plant_setting_reaches_a_test"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
