"""How fast the board's JSON answers for the demo plant.  Prints its figures; asserts nothing.

    .venv/bin/python bench/board_json.py [--seconds 10]

The demo plant (about 570 orders, 950 work orders) behind the production command line (gunicorn, 2 workers),
read with a plant-wide display token (in its header) by wrk over loopback: once as screens that open the
board at its current version (full JSON every time, built once per worker and then served by ETag), and
once as a screen that already has it (If-None-Match → 304), which is what polling costs. After a change
each worker builds the board afresh once: that build is timed in this process, on the same database.
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
        print(f"{'full JSON (a screen opening the board)':36} {rps:8.0f} {p50:8.1f} {p99:8.1f} {bad:8d}")
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
    print(f"{'built afresh after a change (in process, one at a time)':56} " + fresh_builds(env))


def fresh_builds(env: dict[str, str], n: int = 50) -> str:
    """p50/p99 of building the whole plant's board and its JSON, as the view does on a new version."""
    import json
    import os

    os.environ.update(env)
    from domain.services.board import build_board
    from factorybot.config import Settings
    from factorybot.runtime import Runtime
    from forecast.board import board_forecast

    rt = Runtime.build(Settings.from_env())
    times = []
    for _ in range(n + 3):
        t0 = time.perf_counter()
        with rt.uow(read_only=True) as uow:
            board = build_board(uow, today=rt.today(), tz=rt.policy.tz,
                                forecast=board_forecast(rt.alert_policy.forecast, rt.now(), rt.today()))
            json.dumps(board.to_dict(), ensure_ascii=False, separators=(",", ":"))
        times.append(1000 * (time.perf_counter() - t0))
    ms = sorted(times[3:])  # the first builds warm SQLAlchemy's statement cache
    return f"p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms"


if __name__ == "__main__":
    main()
