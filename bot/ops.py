"""Endpoints for whoever runs FactoryBot: /healthz (the process answers), /readyz (its dependencies do),
/metrics (Prometheus). /readyz and /metrics are for operators only: with OPS_TOKEN set they need it as a
bearer token, without it they answer only to this machine, and never through a reverse proxy."""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.observability import HTTP_SECONDS, StoreCollector, new_request_id, request_id, scrape_registry
from bot.wecom.errors import WeComAPIError
from domain.models import SyncState

bp = Blueprint("ops", __name__)

KIS_PULL_JOB = "kis_pull"
KIS_STALE_AFTER = timedelta(hours=26)  # the nightly pull plus a couple of hours of grace
LOOPBACK = ("127.0.0.1", "::1")
METRICS_KEY = "factorybot.metrics"  # app.extensions: the registry /metrics serves
# A reverse proxy on this machine connects from loopback on behalf of anyone on the internet. These headers
# are how proxies say so; a request carrying any of them is not "this machine", whatever its address.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host", "X-Forwarded-Proto")


def _allowed() -> bool:
    token = current_app.extensions["bot"].settings.ops_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given, token)
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False  # through a proxy only with OPS_TOKEN
    return request.remote_addr in LOOPBACK


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


class NotReady(Exception):
    """A dependency answers but refuses us; its text says, in Chinese, what to change."""


def _check(name: str, fn: Any) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except (NotReady, WeComAPIError) as exc:  # already a sentence for the operator: keep it whole
        detail, ok = str(exc)[:600], False
    except Exception as exc:  # any failure of a dependency is a "not ready", with its reason
        detail, ok = f"{type(exc).__name__}: {str(exc)[:200]}", False
    return name, {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


@bp.get("/readyz")
def readyz() -> Any:
    if not _allowed():
        return Response("forbidden", status=403)
    deps = current_app.extensions["bot"]

    def database() -> str:
        with deps.runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"

    def redis() -> str:
        if deps.redis is None:
            return "not configured (tasks run in-process)"
        deps.redis.ping()
        return "ok"

    def wecom() -> str:
        deps.client.check_token()
        refused = deps.client.refusals()
        if refused:  # the token is fine, but the last call of these APIs was refused
            raise NotReady("；".join(f"{r.api}：{r.hint}" for r in refused))
        return "access token ok"

    def kis() -> str:
        if not deps.settings.kis_odbc:
            return "not configured"
        with deps.runtime.uow(read_only=True) as uow:
            state = uow.session.get(SyncState, KIS_PULL_JOB)
            last = state.last_ok_at if state is not None else None
        if last is None:
            raise RuntimeError("no successful KIS pull yet")
        age = datetime.now(UTC) - last
        if age > KIS_STALE_AFTER:
            raise RuntimeError(f"last successful pull {age.total_seconds() / 3600:.1f} h ago")
        return f"last successful pull {age.total_seconds() / 3600:.1f} h ago"

    checks = dict(_check(n, f) for n, f in (("database", database), ("redis", redis), ("wecom", wecom),
                                              ("kis", kis)))
    ready = all(c["ok"] for c in checks.values())
    failing = [n for n, c in checks.items() if not c["ok"]]
    return jsonify({"status": "ready" if ready else "not ready", "failing": failing, "checks": checks}), (
        200 if ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        return Response("forbidden", status=403)
    return Response(generate_latest(current_app.extensions[METRICS_KEY]), mimetype=CONTENT_TYPE_LATEST)


def install(app: Any, deps: Any) -> None:
    """Request ids and latency for every request; what /metrics serves, store gauges included."""
    app.extensions[METRICS_KEY] = scrape_registry(StoreCollector(deps.runtime.session_factory, deps.redis))

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        new_request_id()

    @app.after_request
    def _finish(resp: Response) -> Response:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        resp.headers["X-Request-Id"] = request_id.get()
        return resp
