"""GET/POST /wecom/callback: verify before anything else runs; never 500, and 503 only for our own outage."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.dedup import StillRunning
from bot.deps import BotDeps
from bot.observability import REJECTED, REJECTED_ROUTE, count_rejected, count_unhandled
from wecom.errors import CallbackRejected
from wecom.inbound import InboundParseError, parse

log = logging.getLogger(__name__)
bp = Blueprint("wecom", __name__)


def _deps() -> BotDeps:
    return current_app.extensions["bot"]


def _reject(status: int, reason: str) -> Response:
    """Counted (route callback.rejected, outcome rejected) and logged, but no action event: the sender is unknown."""
    count_rejected()
    log.warning("callback rejected %s from %s: %s", status, request.remote_addr, reason,
                extra={"route": REJECTED_ROUTE, "outcome": REJECTED, "status": status})
    return Response("forbidden" if status == 403 else "bad request", status=status, mimetype="text/plain")


def _signed_args() -> tuple[str, str, str]:
    return (
        request.args.get("msg_signature", ""),
        request.args.get("timestamp", ""),
        request.args.get("nonce", ""),
    )


@bp.get("/wecom/callback")
def verify_url() -> Response:
    deps = _deps()
    signature, timestamp, nonce = _signed_args()
    echostr = request.args.get("echostr", "")
    if not (signature and timestamp and nonce and echostr):
        return _reject(400, "missing query parameters")
    try:
        plain = deps.crypto.verify_url(signature, timestamp, nonce, echostr)
        deps.crypto.check_fresh(timestamp, deps.settings.callback_max_skew_seconds)
    except CallbackRejected as exc:
        return _reject(exc.status, exc.reason)
    return Response(plain, mimetype="text/plain")


@bp.post("/wecom/callback")
def receive() -> Response:
    deps = _deps()
    signature, timestamp, nonce = _signed_args()
    if not (signature and timestamp and nonce):
        return _reject(400, "missing query parameters")
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _reject(400, "body too large")
    if len(body) > deps.settings.max_callback_bytes:
        return _reject(400, "body too large")
    try:
        plaintext = deps.crypto.decrypt(body, signature, timestamp, nonce)
        deps.crypto.check_fresh(timestamp, deps.settings.callback_max_skew_seconds)
        msg = parse(plaintext)
    except CallbackRejected as exc:
        return _reject(exc.status, exc.reason)
    except InboundParseError as exc:
        return _reject(400, f"not a WeCom message: {exc}")
    if msg.agent_id and msg.agent_id != deps.settings.wecom_agent_id:
        return _reject(400, f"callback for agent {msg.agent_id}, not ours")
    try:
        xml = deps.core.handle(msg)
    except StillRunning:  # its first run holds the lease: WeCom asks again, and gets that run's reply
        return Response("busy", status=503, mimetype="text/plain")
    except Exception:
        # Our own failure (database down…) outside any route: a route's error is already a SYSTEM_ERROR
        # reply inside handle(). An empty 200 would tell WeCom "received" and lose the message; 503 makes
        # WeCom send it again, at most three times, so this is no retry storm.
        count_unhandled()
        log.exception("callback handling failed for %s", msg.dedup_key)
        return Response("temporarily unavailable", status=503, mimetype="text/plain")
    if not xml:
        return Response("", status=200)
    return Response(deps.crypto.encrypt(xml, nonce, timestamp), mimetype="application/xml")
