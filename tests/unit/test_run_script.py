"""./run on a fresh Debian machine: what it installs, and how it gets the services up (with stub commands).

The script is sourced with PATH reduced to stubs, so nothing is installed, started or changed for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "run"
BASE_PACKAGES = ("unixodbc", "libsqliteodbc", "odbc-postgresql", "tdsodbc", "fonts-noto-cjk", "poppler-utils",
                 "chromium", "chromium-driver", "wrk", "caddy")
REAL_TOOLS = ("grep", "ls", "sort", "tail", "sed", "dirname", "seq", "sleep", "cat", "rm", "cut", "sha1sum", "env")

# dpkg-query -W -f='${Status}\n' PATTERN, answered from $STUB_DIR/installed (one package a line).
DPKG_QUERY = r"""#!/usr/bin/env bash
pattern="${@: -1}"
found=1
while read -r pkg; do
  [ -n "$pkg" ] || continue
  # shellcheck disable=SC2053
  if [[ $pkg == $pattern ]]; then echo "install ok installed"; found=0; fi
done < "$STUB_DIR/installed"
if [ $found = 1 ]; then echo "dpkg-query: no packages found matching $pattern" >&2; fi
exit $found
"""


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(body if body.startswith("#!") else f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path):
    """A stub machine: `run(script, installed=…, **stubs)` sources ./run and runs `script` there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real, tool
        (bin_dir / tool).symlink_to(real)
    (bin_dir / "bash").symlink_to(shutil.which("bash") or "/bin/bash")
    log = tmp_path / "calls.log"
    log.touch()
    _stub(bin_dir, "dpkg-query", DPKG_QUERY)
    _stub(bin_dir, "id", "echo 0")
    for name in ("apt-get", "pg_ctlcluster", "mkdir"):
        _stub(bin_dir, name, f'echo "{name} $*" >> "$STUB_DIR/calls.log"')

    def run(script: str, *, installed: tuple[str, ...] = (), stubs: dict[str, str] | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        (tmp_path / "installed").write_text("\n".join(installed) + "\n")
        for name, body in (stubs or {}).items():
            _stub(bin_dir, name, body)
        env = {"PATH": str(bin_dir), "STUB_DIR": str(tmp_path), "HOME": str(tmp_path), "SERVICE_WAIT": "1",
               **(extra_env or {})}
        return subprocess.run([str(bin_dir / "bash"), "-c", f'source "{RUN}"; {script}'], env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    run.log = log  # type: ignore[attr-defined]
    return run


GOOD_PYTHON = {"python3": "exit 0"}


def test_a_fresh_machine_gets_postgresql_redis_python_and_venv(machine):
    done = machine("install_system services")
    assert done.returncode == 0, done.stderr
    calls = machine.log.read_text().splitlines()
    assert calls[0] == "apt-get update -qq"
    installed = calls[1].split()
    assert installed[:4] == ["apt-get", "install", "-y", "-qq"]
    assert set(installed[4:]) == {*BASE_PACKAGES, "postgresql", "redis-server", "python3", "python3-venv"}


def test_a_versioned_postgresql_and_redis_already_there_install_nothing(machine):
    done = machine("install_system services", installed=(*BASE_PACKAGES, "postgresql-15", "redis-server"),
                   stubs=GOOD_PYTHON)
    assert done.returncode == 0, done.stderr
    assert machine.log.read_text() == ""


def test_debian_python_without_ensurepip_gets_python3_venv(machine):
    # Debian's python3 runs `-m venv --help` fine without python3-venv; only ensurepip is missing.
    no_ensurepip = 'case "$*" in *ensurepip*) exit 1;; *) exit 0;; esac'
    done = machine("missing_packages services", installed=(*BASE_PACKAGES, "postgresql-15", "redis-server"),
                   stubs={"python3": no_ensurepip})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["python3-venv"]


def test_the_demo_installs_no_database_servers(machine):
    done = machine("missing_packages", installed=BASE_PACKAGES, stubs=GOOD_PYTHON)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_a_fresh_postgresql_is_made_to_trust_postgres_on_loopback(machine, tmp_path):
    hba = tmp_path / "etc" / "15" / "main" / "pg_hba.conf"
    hba.parent.mkdir(parents=True)
    original = "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(original)
    env = {"PG_ETC": str(tmp_path / "etc")}
    done = machine("pg_trust_local", stubs={"psql": "exit 2"}, extra_env=env)
    assert done.returncode == 0, done.stderr
    lines = hba.read_text().splitlines()
    assert lines[0].startswith("host all postgres 127.0.0.1/32 trust") and "\n".join(lines[1:]) + "\n" == original
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main reload" in machine.log.read_text()


def test_a_configured_postgresql_is_left_alone(machine, tmp_path):
    hba = tmp_path / "etc" / "15" / "main" / "pg_hba.conf"
    hba.parent.mkdir(parents=True)
    hba.write_text("host all all 127.0.0.1/32 trust\n")
    done = machine("pg_trust_local", stubs={"psql": "exit 0"}, extra_env={"PG_ETC": str(tmp_path / "etc")})
    assert done.returncode == 0, done.stderr
    assert hba.read_text() == "host all all 127.0.0.1/32 trust\n" and machine.log.read_text() == ""


def test_a_missing_redis_server_does_not_abort_the_run(machine, tmp_path):
    up = {"pg_isready": "exit 0", "psql": "exit 0", "redis-cli": "exit 1"}
    done = machine("start_services; echo still-running", stubs=up, extra_env={"PG_ETC": str(tmp_path / "none")})
    assert done.returncode == 0, done.stderr
    assert "redis-server did not start" in done.stderr and done.stdout.strip().endswith("still-running")


def test_a_postgresql_that_is_down_is_started(machine, tmp_path):
    (tmp_path / "etc" / "15" / "main").mkdir(parents=True)
    down = {"pg_isready": "exit 2", "psql": "exit 0", "redis-cli": "exit 0"}
    done = machine("start_services", stubs=down, extra_env={"PG_ETC": str(tmp_path / "etc")})
    assert done.returncode == 0, done.stderr
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in machine.log.read_text()


def test_run_is_executable_and_still_answers_usage():
    assert os.access(RUN, os.X_OK)
    done = subprocess.run([str(RUN)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "usage: ./run demo | ./run test" in done.stderr
