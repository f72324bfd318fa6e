"""How fast the board's JSON answers for the demo plant.  Prints its figures; asserts nothing.

    .venv/bin/python bench/board_json.py [--seconds 10]

The demo plant (575 orders, 958 work orders) behind the production command line (gunicorn, 2 workers), read
with a plant-wide display token (in its header) by wrk over loopback: once as a first visit (full JSON every time) and once
as a screen that already has the current version (If-None-Match → 304), which is what polling costs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.callbacks import BIN, bench_env, free_port, start_gunicorn, stop  # noqa: E402


def wrk(url: str, seconds: int, headers: list[str]) -> tuple[float, float, float, int]:
    args = ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    lat = {p: line.split()[1] for line in out.splitlines() for p in ("50%", "99%") if line.strip().startswith(p)}
    errors = sum(int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line)
    return rps, _ms(lat["50%"]), _ms(lat["99%"]), errors


def _ms(text: str) -> float:
    for unit, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14",
                        help="as in production: Celery beat runs the alert rounds ('' for none: the web "
                             "process then runs them itself on a thread)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="factorybot-board-"))
    env = bench_env(f"sqlite:///{tmp}/board.db", args.redis or None)
    factorybot = str(BIN / "factorybot")
    subprocess.run([factorybot, "demo-data", "--reset"], env=env, check=True, capture_output=True)
    created = subprocess.run([factorybot, "board", "token", "create", "bench"], env=env, check=True,
                             capture_output=True, text=True).stdout
    token = created.strip().splitlines()[-1].split("token=")[1]
    port = free_port()
    proc = start_gunicorn("bot:create_app()", env, port, 2)
    try:
        url = f"http://127.0.0.1:{port}/board/data.json"
        screen = f"X-Display-Token: {token}"  # as the wall page sends it
        with urllib.request.urlopen(urllib.request.Request(url, headers={"X-Display-Token": token})) as resp:
            body = resp.read()
            etag = resp.headers["ETag"]
        print(f"demo plant board: {body.count(b'work_order')} rows, {len(body) // 1024} KB of JSON, ETag {etag}")
        print(f"{'request':36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        rps, p50, p99, bad = wrk(url, args.seconds, [screen])
        print(f"{'full JSON (first load, filter change)':36} {rps:8.0f} {p50:8.1f} {p99:8.1f} {bad:8d}")
        # The ETag names the plant's current minute too: run the 304 leg inside one minute, or the rest of
        # it would be full answers to a stale If-None-Match.
        if args.seconds < 55:
            second = datetime.now().second
            if second + args.seconds > 58:
                time.sleep(61 - second)
        with urllib.request.urlopen(urllib.request.Request(url, headers={"X-Display-Token": token})) as resp:
            etag = resp.headers["ETag"]
        rps, p50, p99, _ = wrk(url, args.seconds, [screen, f"If-None-Match: {etag}"])
        print(f"{'unchanged (poll answered 304)':36} {rps:8.0f} {p50:8.1f} {p99:8.1f} {'-':>8}")
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
