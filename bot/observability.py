"""What operators see: one JSON log line per callback with a request id that follows the work into tasks,
and Prometheus metrics (callbacks and WeCom calls by outcome, latency histograms, store gauges).

Message bodies and secrets are never logged; user ids are, because "who could not report" is the question.

Several processes (gunicorn -w 2, the Celery worker): with PROMETHEUS_MULTIPROC_DIR set before
prometheus-client is first imported, every process writes its counters and histograms to files there and
/metrics merges them (`scrape_registry`). The gauges are not in those files: they are read from the store
and the broker at scrape time, once, by the process that answers. An in-process Gauge added here would need
a `multiprocess_mode` ("livesum" for a per-process quantity to add up, "max" for a timestamp).
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot import log_masking
from domain.models import Alert, KisOutbox, Notice, SyncState
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, NoticeState

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REGISTRY = CollectorRegistry(auto_describe=True)
CALLBACKS = Counter("factorybot_callbacks_total", "WeCom callbacks handled, by route and outcome",
                    ["route", "outcome"], registry=REGISTRY)
CALLBACK_SECONDS = Histogram("factorybot_callback_seconds", "Time to answer a callback, by route", ["route"],
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=REGISTRY)
HTTP_SECONDS = Histogram("factorybot_http_request_seconds", "HTTP request time, by endpoint", ["endpoint"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=REGISTRY)
WECOM_CALLS = Counter("factorybot_wecom_calls_total", "Outbound WeCom API calls, by API and outcome",
                      ["api", "outcome"], registry=REGISTRY)
WECOM_UNDELIVERED = Counter("factorybot_wecom_undelivered_total",
                            "Recipients WeCom named as not reached by a message it accepted, by reason",
                            ["reason"], registry=REGISTRY)

CALLBACK_LOG = logging.getLogger("factorybot.callback")


def multiprocess_mode() -> bool:
    """Whether prometheus-client chose its multiprocess values: it reads PROMETHEUS_MULTIPROC_DIR once, when
    first imported, so its choice (not the environment now) says where this process's samples are."""
    return values.ValueClass is not values.MutexValue


def scrape_registry(store: Collector) -> CollectorRegistry:
    """What /metrics serves: this process's metrics, or every process's merged from the multiprocess
    directory, and the store gauges."""
    if not multiprocess_mode():
        _register_replacing(REGISTRY, store)
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(store)
    return registry


def _register_replacing(registry: CollectorRegistry, collector: Collector) -> None:
    try:
        registry.register(collector)
    except ValueError:  # another app in this process (tests) registered one: replace it
        for old in list(registry._collector_to_names):
            if isinstance(old, type(collector)):
                registry.unregister(old)
        registry.register(collector)


def new_request_id() -> str:
    rid = secrets.token_hex(6)
    request_id.set(rid)
    return rid


class JsonFormatter(logging.Formatter):
    """One JSON object per line: grep- and Loki-friendly, with the request id of the work it belongs to."""

    FIELDS = ("route", "user", "latency_ms", "outcome", "kind", "status", "api")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id.get(),
            "msg": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info or record.exc_text:
            # exc_text is the traceback as masked when the record was made; formatting it again would not be.
            out["error"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "json", mask_values: Iterable[str | None] = ()) -> None:
    """JSON lines on stderr unless fmt is "text" (a developer at a terminal): LOG_LEVEL and LOG_FORMAT,
    read by the entry point into Settings. Every record is masked (bot/log_masking.py), `mask_values` wherever they appear."""
    log_masking.install(mask_values)  # before the early return: another app in this process may bring new secrets
    root = logging.getLogger()
    if getattr(root, "_factorybot_configured", False):
        return
    handler = logging.StreamHandler()
    handler.addFilter(log_masking.SecretFilter())  # the extra= fields, set after the record factory ran
    if fmt == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
        handler.addFilter(_add_request_id)
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    root._factorybot_configured = True  # type: ignore[attr-defined]


def _add_request_id(record: logging.LogRecord) -> bool:
    record.request_id = request_id.get()
    return True


def log_callback(*, route: str, user: str, kind: str, outcome: str, started: float) -> None:
    seconds = time.perf_counter() - started
    CALLBACKS.labels(route, outcome).inc()
    CALLBACK_SECONDS.labels(route).observe(seconds)
    CALLBACK_LOG.info("callback", extra={"route": route, "user": user, "kind": kind, "outcome": outcome,
                                         "latency_ms": round(seconds * 1000, 1), "request_id": request_id.get()})


# A callback refused before anything ran (bad signature, not decryptable, malformed, another agent's):
# nothing in it can be trusted, not even the user, so it is counted under this route and kept nowhere else.
REJECTED_ROUTE, REJECTED = "callback.rejected", "rejected"


# A callback whose handling broke outside any route (the dedup store or the reply itself): the user got
# no answer, so it is a failure of the system even though no route ran.
UNHANDLED_ROUTE = "callback.unhandled"


def count_rejected() -> None:
    CALLBACKS.labels(REJECTED_ROUTE, REJECTED).inc()


def count_unhandled() -> None:
    CALLBACKS.labels(UNHANDLED_ROUTE, "failed").inc()


def wecom_call(api: str, outcome: str) -> None:
    WECOM_CALLS.labels(api, outcome).inc()


def wecom_undelivered(reason: str, n: int = 1) -> None:
    WECOM_UNDELIVERED.labels(reason).inc(n)


class StoreCollector(Collector):
    """Gauges read from the store and the broker at scrape time, so they are true for every process."""

    def __init__(self, session_factory: Any, redis: Any | None, queue_name: str = "factorybot") -> None:
        self.session_factory = session_factory
        self.redis = redis
        self.queue_name = queue_name

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alerts = GaugeMetricFamily("factorybot_alerts_open", "Open alerts, by rule", labels=["rule"])
        waiting = GaugeMetricFamily("factorybot_notices_waiting", "WeCom messages written but not yet sent")
        failed = GaugeMetricFamily("factorybot_notices_failed", "WeCom messages refused or given up: "
                                   "see `factorybot outbox list`, resend with `factorybot outbox retry`")
        sync_age = GaugeMetricFamily("factorybot_kis_sync_age_seconds", "Seconds since a KIS job last succeeded",
                                     labels=["job"])
        outbox = GaugeMetricFamily("factorybot_kis_outbox_rows", "Completions in the KIS outbox, by status",
                                   labels=["status"])
        try:
            with UnitOfWork(self.session_factory, read_only=True) as uow:
                s = uow.session
                for rule, n in s.execute(select(Alert.rule, func.count()).where(Alert.status != AlertStatus.CLOSED)
                                         .group_by(Alert.rule)):
                    alerts.add_metric([rule], n)
                by_state = dict(s.execute(select(Notice.state, func.count()).group_by(Notice.state)).all())
                waiting.add_metric([], by_state.get(NoticeState.PENDING, 0) + by_state.get(NoticeState.SENDING, 0))
                failed.add_metric([], by_state.get(NoticeState.FAILED, 0))
                now = datetime.now(UTC)
                for name, last in s.execute(select(SyncState.name, SyncState.last_ok_at)):
                    if last is not None:
                        sync_age.add_metric([name], (now - last).total_seconds())
                for status, n in s.execute(select(KisOutbox.status, func.count()).group_by(KisOutbox.status)):
                    outbox.add_metric([str(status)], n)
        except Exception:  # a scrape must answer even when the database does not; /readyz says why
            logging.getLogger(__name__).warning("store gauges unavailable", exc_info=True)
        yield alerts
        yield waiting
        yield failed
        yield sync_age
        yield outbox
        if self.redis is not None:
            depth = GaugeMetricFamily("factorybot_celery_queue_depth", "Tasks waiting in the Celery queue")
            try:
                depth.add_metric([], self.redis.llen(self.queue_name))
                yield depth
            except Exception:
                logging.getLogger(__name__).warning("queue depth unavailable", exc_info=True)
