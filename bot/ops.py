"""Endpoints for whoever runs FactoryBot: /healthz (the process answers), /readyz (its dependencies do),
/metrics (Prometheus). /readyz and /metrics are for operators only: with OPS_TOKEN set they need it as a
bearer token, without it they answer only to this machine, and never through a reverse proxy."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import readiness
from bot.observability import HTTP_SECONDS, StoreCollector, new_request_id, request_id, scrape_registry
from domain.safe_compare import safe_equal

bp = Blueprint("ops", __name__)

LOOPBACK = ("127.0.0.1", "::1")
METRICS_KEY = "factorybot.metrics"  # app.extensions: the registry /metrics serves
# A reverse proxy on this machine connects from loopback on behalf of anyone on the internet. These headers
# (and any X-Forwarded-* or X-Original-*) are how proxies and CDNs say so; a request carrying any of them is
# not "this machine", whatever its address. Broad on purpose: a header we do not know is still a proxy's.
FORWARDING_HEADERS = frozenset(h.lower() for h in (
    "Forwarded", "Via", "X-Real-IP", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
    "X-Cluster-Client-IP", "Client-IP", "X-ProxyUser-IP", "X-Host", "X-Proxy-Id", "Akamai-Origin-Hop",
))
FORWARDING_PREFIXES = ("x-forwarded-", "x-original-", "x-envoy-")


def forwarded(headers: Any) -> bool:
    """Whether any proxy says this request was passed on from somewhere else."""
    return any(name.lower() in FORWARDING_HEADERS or name.lower().startswith(FORWARDING_PREFIXES)
               for name, _ in headers.items())


def socket_peer() -> str | None:
    """The address that opened the connection, before ProxyFix put the client's in REMOTE_ADDR."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR")


def _allowed() -> bool:
    token = current_app.extensions["bot"].settings.ops_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return bool(given) and safe_equal(given, token)
    if forwarded(request.headers):
        return False  # through a proxy only with OPS_TOKEN
    return socket_peer() in LOOPBACK


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Any:
    if not _allowed():
        return Response("forbidden", status=403)
    deps = current_app.extensions["bot"]
    checks = dict((
        readiness.timed("database", lambda: readiness.database(deps.runtime.engine)),
        readiness.timed("redis", lambda: readiness.redis(deps.redis, deps.core.dedup)),
        readiness.timed("wecom", lambda: (readiness.wecom(deps.client), readiness.wecom_refusals(deps.client))[1]),
        readiness.timed("kis", lambda: readiness.kis(bool(deps.settings.kis_odbc),
                                                     lambda: deps.runtime.uow(read_only=True))),
    ))
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
