"""`factorybot demo` started as a user starts it, on free ports, for the tests that talk to it over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_demo(env: dict[str, str], workdir: Path) -> Iterator[tuple[int, int, Path]]:
    """The demo with env, in workdir, until the block ends: (bot port, fake WeCom port, its log file)."""
    port, fake_port = free_port(), free_port()
    log = workdir / "demo.log"
    proc = subprocess.Popen([str(BIN / "factorybot"), "demo", "--port", str(port), "--fake-port", str(fake_port)],
                            env=env, cwd=workdir, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            pytest.fail("demo did not start:\n" + log.read_text())
        yield port, fake_port, log
    finally:
        proc.terminate()
        proc.wait(20)
