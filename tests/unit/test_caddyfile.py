"""The reverse-proxy file the go-live guide gives is one Caddy accepts, checked by the real binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CADDYFILE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "Caddyfile"


def test_the_go_live_caddyfile_is_valid_and_proxies_to_the_procfiles_gunicorn():
    caddy = shutil.which("caddy")
    assert caddy, "caddy is installed by ./run (APT_PACKAGES)"
    done = subprocess.run([caddy, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr
    assert "reverse_proxy 127.0.0.1:8000" in CADDYFILE.read_text()
