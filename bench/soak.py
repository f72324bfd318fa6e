"""故障演练 / soak: mixed WeCom traffic against the running service while faults are injected at random, then a
ledger check. Prints its figures; exits 1 when the ledger does not balance.

    .venv/bin/python -m bench.soak --seconds 60 --db sqlite      # about 90 s
    .venv/bin/python -m bench.soak --seconds 60 --db postgres --seed 7

The service runs as in production (bench/soak_stack.py): gunicorn with the bot, a Celery worker and beat, its
own redis-server, the fake WeCom, a fresh database. Simulated workers (bench/soak_traffic.py) send real
encrypted, signed callbacks — 报工 by text, scans and 完成 taps on the card the scan brings, 报异常 (each raises
a 现场异常 alert card to the managers), order questions — and re-send a delivery like WeCom (no answer in 5 s
or a non-2xx: the same request, up to three more times). Meanwhile bench/soak_faults.py kills a gunicorn
worker mid-request, kills and restarts the Celery worker and Redis, pauses Redis, and makes WeCom fail.
After the traffic, everything is restored and the queues drain (bounded); then bench/soak_ledger.py checks
what the workers were told against the database and the fake WeCom's call log.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, not only as `-m bench.soak`
    sys.path.insert(0, str(ROOT))

from bench.soak_faults import ALL_KINDS, WECOM_TIMEOUT_AFTER_SUCCESS, FaultInjector, restore  # noqa: E402
from bench.soak_ledger import Ledger, Pending, check, pending  # noqa: E402
from bench.soak_plant import PEOPLE, seed  # noqa: E402
from bench.soak_stack import BIN, Stack, drop_database, make_database  # noqa: E402
from bench.soak_traffic import Journal, Line  # noqa: E402

# The outbox backs a message off 5 s, 30 s, then 120 s (bot/outbox.py) and holds that person's later messages
# behind it: a message three faults hit is due 155 s after the first, and beat's round comes every 15 s.
DRAIN_SECONDS = 180.0


@dataclass
class Options:
    seconds: float = 60.0
    db: str = "sqlite"
    seed: int | None = None
    lines: int = 4
    orders: int = 8
    planned_qty: int = 400
    drain_seconds: float = DRAIN_SECONDS
    workdir: Path | None = None
    faults: tuple[str, ...] | None = None  # None: every kind this checkout supports; (): a run without faults


@dataclass
class Result:
    seed: int
    db: str
    seconds: float
    deliveries: dict[str, int]
    attempts: dict[str, int]
    faults: dict[str, int]
    fault_log: list[tuple[float, str, str]]
    drained_in: float
    outbox_retry: str
    ledger: Ledger
    workdir: str
    kinds: tuple[str, ...] = ()  # the fault kinds this run could inject
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return self.ledger.failures

    def figures(self) -> str:
        led, p = self.ledger, self.ledger.pending
        lines = [
            f"soak: {self.seconds:.0f} s of traffic on {self.db}, seed {self.seed}",
            f"requests: {sum(self.deliveries.values())} deliveries ("
            + ", ".join(f"{k} {v}" for k, v in sorted(self.deliveries.items())) + f"); "
            f"{sum(self.attempts.values())} HTTP attempts ("
            + ", ".join(f"{k} {v}" for k, v in sorted(self.attempts.items())) + ")",
            f"faults injected: {sum(self.faults.values())} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) + ")",
            f"reports: {led.reports_sent} sent, {led.reports_acked} accepted, {led.reports_refused} refused, "
            f"{led.reports_counted} counted, lost {led.reports_lost}"
            + (f" ({dict(led.lost_by_answer)})" if led.reports_lost else "")
            + f", doubled {led.reports_doubled}, wrong quantities {led.reports_wrong_qty}, "
            f"refused yet counted {led.reports_phantom}",
            f"alert cards: {led.alert_cards} cards, expected {led.alert_cards_expected} deliveries, delivered "
            f"{led.alert_cards_delivered}, missing {led.alert_cards_missing}, doubled {led.alert_cards_doubled}; "
            f"报异常 {led.exceptions_acked} accepted, lost {led.exceptions_lost}, "
            f"without card {led.exceptions_without_card}",
            f"direct messages: scan cards expected {led.scan_cards_expected}, delivered {led.scan_cards_delivered}, "
            f"doubled {led.scan_cards_doubled}; next-operation notices expected {led.notices_expected}, "
            f"delivered {led.notices_delivered}, doubled {led.notices_doubled}",
            f"pending left: {p.total} (notices unsent {p.notices_unsent}, failed {p.notices_failed}, "
            f"celery queued {p.celery_queued}, "
            f"unacked {p.celery_unacked}{' ' + str(dict(p.unacked_tasks)) if p.unacked_tasks else ''}, "
            f"dedup claims pending {p.dedup_pending_redis} in Redis, "
            f"{p.dedup_pending_db} in the database) after a drain of {self.drained_in:.1f} s"
            + (f"; {self.outbox_retry}" if self.outbox_retry else ""),
        ]
        if p.celery_unacked_rounds:
            lines.append(f"periodic rounds left unacknowledged by a killed Celery worker (beat ran them again): "
                         f"{dict(p.celery_unacked_rounds)}")
        if led.op_mismatches:
            lines.append("operation totals off: " + "; ".join(led.op_mismatches[:5]))
        lines.append("ledger: " + ("balanced" if not self.failures else "NOT balanced: " + "; ".join(self.failures)))
        if self.failures and led.examples:
            lines.append("examples:\n  " + "\n  ".join(led.examples))
        lines.extend(self.notes)
        return "\n".join(lines)


def supported_faults(stack: Stack) -> tuple[str, ...]:
    kinds = list(ALL_KINDS)
    if not _fake_has_timeout_after_success(stack):
        kinds.remove(WECOM_TIMEOUT_AFTER_SUCCESS)
    return tuple(kinds)


def _fake_has_timeout_after_success(stack: Stack) -> bool:
    # The fake's `after` fault (perform the send, then answer late) came with the message outbox; a checkout
    # without it skips this kind.
    import inspect

    from wecom.fake.server import FakeWeComServer

    return "after" in inspect.signature(FakeWeComServer.fault).parameters


def outbox_retry(stack: Stack) -> str:
    """`factorybot outbox retry`, as the admin runs it once a permanent refusal is fixed (when it exists)."""
    env = stack.env()
    cli = [str(BIN / "factorybot"), "outbox", "retry", "--all-failed"]
    if subprocess.run([*cli, "--help"], env=env, cwd=stack.workdir, capture_output=True).returncode != 0:
        return ""
    done = subprocess.run(cli, env=env, cwd=stack.workdir, capture_output=True, text=True, timeout=120)
    last = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or [""])[-1]
    return f"factorybot outbox retry --all-failed: rc {done.returncode}, {last}"


def drain(stack: Stack, seconds: float) -> tuple[float, Pending]:
    """Wait (bounded) until the service has nothing left to work through by itself; how long it took and what
    was left (failed notices wait for the admin's retry)."""
    started = time.monotonic()
    left = pending(stack)
    while left.moving and time.monotonic() - started < seconds:
        time.sleep(1.0)
        stack.revive()
        left = pending(stack)
    return time.monotonic() - started, left


def run_soak(opts: Options) -> Result:
    seed_value = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 10**6)
    own_dir = opts.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="factorybot-soak-")) if opts.workdir is None else opts.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    db_url, pg_name = make_database(opts.db, workdir)
    rng = random.Random(seed_value)
    stack = Stack(workdir, db_url, {u: name for u, name, _, _ in PEOPLE})
    try:
        orders = seed(db_url, opts.orders, opts.planned_qty)
        stack.start()
        kinds = supported_faults(stack) if opts.faults is None else opts.faults
        journal, stop = Journal(), threading.Event()
        lines = [Line(f"line-{i}", stack, journal, orders[i::opts.lines], rng.randrange(10**9), stop)
                 for i in range(opts.lines)]
        injector = FaultInjector(stack, journal, rng.randrange(10**9), stop, kinds)
        for thread in [*lines, injector]:
            thread.start()
        stop.wait(opts.seconds)
        stop.set()
        injector.join(90)
        for line in lines:
            line.join(60)
        errors = [f"{t.name}: {t.error!r}" for t in [*lines, injector] if t.error is not None]
        if errors:
            raise RuntimeError("soak thread failed: " + "; ".join(errors))
        restore(stack)
        drained_in, left = drain(stack, opts.drain_seconds)
        # The admin's resend of what WeCom refused for good (60020 until the IP was trusted), once it exists.
        retried = outbox_retry(stack)
        if retried:
            more, left = drain(stack, min(20.0, opts.drain_seconds))
            drained_in += more
        ledger = check(stack, journal)
        result = Result(seed_value, opts.db, opts.seconds, dict(journal.deliveries), dict(journal.attempts),
                        dict(Counter(injector.injected)), injector.log, drained_in, retried, ledger, str(workdir),
                        tuple(kinds))
        if stack.died:
            result.notes.append("processes that exited on their own and were started again (as a supervisor "
                                f"would): {dict(stack.died)}")
        (workdir / "soak-result.json").write_text(json.dumps(_jsonable(result), ensure_ascii=False, indent=1))
        return result
    finally:
        stack.stop()
        if pg_name:
            drop_database(pg_name)
        if own_dir and not _keep(workdir):
            shutil.rmtree(workdir, ignore_errors=True)


def _keep(workdir: Path) -> bool:
    result = workdir / "soak-result.json"
    return not result.exists() or '"failures": []' not in result.read_text()


def _jsonable(result: Result) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        # Not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs and so counts the pairs.
        if is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data: dict[str, Any] = plain(result)
    data["failures"] = result.failures
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="traffic phase (default 60)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, help="RNG seed (default: a random one, printed)")
    parser.add_argument("--lines", type=int, default=4, help="simulated production lines (threads)")
    parser.add_argument("--drain", type=float, default=DRAIN_SECONDS, help="longest wait for the queues to empty")
    parser.add_argument("--workdir", type=Path, help="keep logs and the database here")
    parser.add_argument("--fault", action="append", choices=ALL_KINDS, help="only these kinds (repeatable)")
    parser.add_argument("--no-faults", action="store_true", help="the same traffic with no fault: the baseline")
    args = parser.parse_args(argv)
    result = run_soak(Options(seconds=args.seconds, db="postgresql" if args.db == "postgres" else "sqlite",
                              seed=args.seed, lines=args.lines, drain_seconds=args.drain, workdir=args.workdir,
                              faults=() if args.no_faults else tuple(args.fault) if args.fault else None))
    print(result.figures())
    if result.failures or args.workdir:
        print(f"logs: {result.workdir}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
