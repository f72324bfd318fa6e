"""How fast does FactoryBot answer an order question in chat?  Prints its figures; asserts nothing.

    .venv/bin/python bench/callbacks.py            # ~1 minute
    .venv/bin/python bench/callbacks.py --quick    # ~20 seconds, fewer and shorter runs

What it measures: the whole callback path a user's "SEORD000123" takes on the server — signature check,
AES decrypt, XML parse, dedup claim, routing, the order query against the demo plant (575 orders, 958 work
orders, 8k reports), the reply text, AES encrypt — served by the production command line
(gunicorn, 2 workers, `bot:create_app()`), driven by wrk from a second process over loopback.

Every request is a distinct, freshly signed callback with its own MsgId: a repeated MsgId would be answered
from the dedup store and flatter the figure. A sample of the replies is decrypted and checked to be real
order answers. The same load against a bare Flask endpoint under the same gunicorn (bench/bare_app.py)
gives the ceiling of this machine, so the figures read as a share of what the stack can do at all.

After each FactoryBot run it reads /metrics from the gunicorn it started, as an operator's Prometheus would,
and prints the callback latency histogram the run filled: its count (every worker's, merged through
PROMETHEUS_MULTIPROC_DIR, against what wrk got answered), mean, and p50/p99 estimated from the buckets the
way Prometheus's histogram_quantile does.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from factorybot.demo_env import DEMO_DEFAULTS  # noqa: E402
from wecom.crypto import WeComCrypto  # noqa: E402
from wecom.simulate import CallbackBuilder  # noqa: E402

LUA = ROOT / "bench" / "wrk_callbacks.lua"
BIN = Path(sys.executable).parent
ASKER = "boss"  # a demo executive: allowed to ask about any order
ROUTE = "orders.order_by_bill"  # the route every benchmark callback takes
HISTOGRAM = "factorybot_callback_seconds"


@dataclass
class Run:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    checked: int = 0
    wrong: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Scrape:
    """The callback latency histogram /metrics showed after a run."""

    name: str
    count: int
    sum_s: float
    buckets: list[tuple[float, float]]  # (upper bound in seconds, cumulative count), +Inf last
    processes: int  # multiprocess files the histogram was merged from: one per worker that answered

    def quantile(self, q: float) -> float | None:
        """Seconds, as Prometheus's histogram_quantile: linear within the bucket where the rank falls."""
        if not self.count:
            return None
        rank, lower, below = q * self.count, 0.0, 0.0
        for upper, cumulative in self.buckets:
            if cumulative >= rank:
                if math.isinf(upper):
                    return lower  # past the last finite bucket: its bound is all a histogram knows
                return lower + (upper - lower) * (rank - below) / (cumulative - below)
            lower, below = upper, cumulative
        return lower


def free_port(start: int | None = None) -> int:
    """Any free port, or the first free one from `start` on (where only a range of ports may be used)."""
    for port in [0] if start is None else range(start, start + 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise SystemExit(f"no free port in {start}..{start + 99}" if start else "no free port")


def bench_env(db_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "REDIS_URL", "DATABASE_URL"))}
    env.update({k.upper(): str(v) for k, v in DEMO_DEFAULTS.items()})
    env["DATABASE_URL"] = db_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def prepare_plant(env: dict[str, str]) -> list[str]:
    factorybot = str(BIN / "factorybot")
    subprocess.run([factorybot, "db", "upgrade"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([factorybot, "demo-data", "--today", "2026-11-25", "--reset"], env=env, check=True,
                   capture_output=True)
    print(f"demo plant loaded in {time.perf_counter() - started:.1f} s (CLI process included)")
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        bills = [r[0] for r in conn.execute(text("select bill_no from sales_orders order by bill_no"))]
    engine.dispose()
    return bills


def write_requests(path: Path, bills: list[str], count: int) -> None:
    crypto = WeComCrypto(str(DEMO_DEFAULTS["wecom_token"]), str(DEMO_DEFAULTS["wecom_aes_key"]),
                         str(DEMO_DEFAULTS["wecom_corp_id"]))
    builder = CallbackBuilder(crypto, str(DEMO_DEFAULTS["wecom_corp_id"]), int(DEMO_DEFAULTS["wecom_agent_id"]))
    rng = random.Random(7)
    base_id = 7_000_000_000_000_000 + int(time.time()) % 1_000_000 * 1_000_000
    with path.open("w") as out:
        for i in range(count):
            signed = builder.sign(builder.text(ASKER, rng.choice(bills), msg_id=base_id + i))
            out.write(f"/wecom/callback?{urlencode(signed.query)}\t{signed.body}\n")


def start_gunicorn(app: str, env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    # The bot logs one JSON line per callback: they go to a file, as in production. (A pipe nobody reads
    # fills up and stalls the workers, which is what an early version of this script measured.)
    log_path = Path(tempfile.mkstemp(prefix="factorybot-gunicorn-", suffix=".log")[1])
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:factorybot.gunicorn_conf", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn {app} exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn {app} did not answer /healthz")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def scrape_metrics(name: str, port: int, env: dict[str, str]) -> Scrape:
    """GET /metrics from the server (loopback, or OPS_TOKEN when set) and pick the benchmark route's histogram."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if env.get("OPS_TOKEN"):
        request.add_header("Authorization", f"Bearer {env['OPS_TOKEN']}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        text = resp.read().decode()
    count, total, buckets = 0, 0.0, []
    for family in text_string_to_metric_families(text):
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            if sample.labels.get("route") != ROUTE:
                continue
            if sample.name.endswith("_bucket"):
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                count = int(sample.value)
            elif sample.name.endswith("_sum"):
                total = sample.value
    metrics_dir = env.get("PROMETHEUS_MULTIPROC_DIR")
    processes = len(list(Path(metrics_dir).glob("histogram_*.db"))) if metrics_dir else 1
    return Scrape(name, count, total, sorted(buckets), processes)


def run_wrk(name: str, port: int, requests_file: Path, mode: str, seconds: int, connections: int,
            samples: Path | None) -> Run:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA),
           f"http://127.0.0.1:{port}", "--", str(requests_file), mode, str(samples or ""), "50"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    f = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    errors = f["connect"] + f["read"] + f["write"] + f["status"] + f["timeout"] + f["overrun"]
    return Run(name, f["requests"], f["duration_us"] / 1e6, f["p50_us"] / 1e3, f["p99_us"] / 1e3, errors)


def check_samples(run: Run, samples: Path, bills: set[str]) -> None:
    """Decrypt sampled replies: each must be an order answer naming a real bill number."""
    crypto = WeComCrypto(str(DEMO_DEFAULTS["wecom_token"]), str(DEMO_DEFAULTS["wecom_aes_key"]),
                         str(DEMO_DEFAULTS["wecom_corp_id"]))
    for raw in samples.read_text().splitlines():
        body = raw.replace("\\n", "\n").replace("\\\\", "\\")
        run.checked += 1
        try:
            plain = crypto.open_reply(body)
        except Exception:
            run.wrong += 1
            continue
        if "阶段" not in plain or not any(b in plain for b in _bills_in(plain, bills)):
            run.wrong += 1


def _bills_in(plain: str, bills: set[str]) -> list[str]:
    start = plain.find("SEORD")
    return [plain[start:start + 11]] if start >= 0 and plain[start:start + 11] in bills else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke check")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14",
                        help="Redis for the second FactoryBot run ('' to skip)")
    parser.add_argument("--port", type=int, default=None,
                        help="serve on the first free port from this one on (default: any free port)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (./run test installs it)")
    seconds = 4 if args.quick else 10
    count = 20_000 if args.quick else 60_000

    tmp = Path(tempfile.mkdtemp(prefix="factorybot-bench-"))
    try:
        env = bench_env(f"sqlite:///{tmp}/bench.db", None)
        bills = prepare_plant(env)
        started = time.perf_counter()
        runs: list[Run] = []
        scrapes: list[tuple[Scrape, int]] = []  # with the callbacks wrk got answered (warm-up included)
        print(f"{os.cpu_count()} CPUs; gunicorn -w {args.workers}; wrk -t1 -c{args.connections} -d{seconds}s")

        configs = [("FactoryBot, SQLite, DB dedup", None)]
        if args.redis:
            configs.append(("FactoryBot, SQLite, Redis dedup", args.redis))
        for name, redis_url in configs:
            if redis_url:
                import redis

                try:
                    redis.Redis.from_url(redis_url).flushdb()
                except redis.RedisError as exc:
                    print(f"skipping '{name}': {exc}")
                    continue
            requests_file = tmp / "requests.tsv"
            write_requests(requests_file, bills, count)
            if not runs:
                print(f"{count} signed callbacks built in {time.perf_counter() - started:.1f} s")
            port = free_port(args.port)
            # As in production with several workers: each writes its metrics to files that /metrics merges.
            run_env = bench_env(env["DATABASE_URL"], redis_url)
            run_env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / f"metrics-{len(scrapes)}")
            proc = start_gunicorn("bot:create_app()", run_env, port, args.workers)
            try:
                warm = run_wrk("warm-up", port, requests_file, "once", 1, args.connections, None)
                samples = tmp / "samples.txt"
                write_requests(requests_file, bills, count)  # fresh MsgIds: the warm-up used some
                run = run_wrk(name, port, requests_file, "once", seconds, args.connections, samples)
                check_samples(run, samples, set(bills))
                runs.append(run)
                scrapes.append((scrape_metrics(name, port, run_env), warm.requests + run.requests))
            finally:
                stop(proc)

        port = free_port(args.port)
        proc = start_gunicorn("bench.bare_app:app", env, port, args.workers)
        try:
            run_wrk("warm-up", port, requests_file, "cycle", 1, args.connections, None)
            ceiling = run_wrk("bare Flask (ceiling)", port, requests_file, "cycle", seconds, args.connections, None)
        finally:
            stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"{'run':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'replies ok':>11} {'of ceiling':>10}")
    for run in [*runs, ceiling]:
        ok = f"{run.checked - run.wrong}/{run.checked}" if run.checked else "-"
        share = f"{run.rps / ceiling.rps:.0%}" if ceiling.rps else "-"
        print(f"{run.name:34} {run.rps:8.0f} {run.p50_ms:8.1f} {run.p99_ms:8.1f} {run.errors:7d} {ok:>11} {share:>10}")

    print()
    print(f'/metrics after each run: {HISTOGRAM}{{route="{ROUTE}"}}, warm-up included; p50/p99 from its buckets')
    print(f"{'run':34} {'count':>8} {'wrk got':>8} {'workers':>8} {'mean ms':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for scrape, answered in scrapes:
        mean = f"{1000 * scrape.sum_s / scrape.count:8.1f}" if scrape.count else f"{'-':>8}"
        p50, p99 = (scrape.quantile(q) for q in (0.5, 0.99))
        print(f"{scrape.name:34} {scrape.count:8d} {answered:8d} {scrape.processes:8d} {mean} "
              + " ".join(f"{1000 * v:8.1f}" if v is not None else f"{'-':>8}" for v in (p50, p99)))


if __name__ == "__main__":
    main()
