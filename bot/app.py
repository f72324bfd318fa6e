"""create_app: one Flask app per process, wired from Settings (the only config reader is the entry point)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import ops, web_auth
from bot.board import bp as board_bp
from bot.breaker import Breaker
from bot.callback import bp as callback_bp
from bot.dedup import DatabaseDedup, DedupStore, FallbackDedup, RedisDedup
from bot.deps import BotDeps
from bot.dispatch import BotCore
from bot.forms import bp as forms_bp
from bot.handlers import build_router
from bot.log_masking import secret_values
from bot.observability import configure_logging, wecom_call, wecom_undelivered
from bot.queue import TaskQueue
from bot.session_key import session_key
from bot.task_runtime import build_queue, check_tasks
from bot.tools import HandlerTools
from bot.undelivered import Recorder
from domain import qr_payload
from domain.photos import PhotoStore
from domain.services import label_keys
from factorybot.config import Settings
from factorybot.runtime import Runtime
from wecom.client import NotDelivered, WeComClient
from wecom.crypto import WeComCrypto

log = logging.getLogger(__name__)


def build_client(settings: Settings, redis: Any | None,
                 on_not_delivered: Callable[[NotDelivered], None] | None = None) -> WeComClient:
    assert settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None
    return WeComClient(
        settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id, settings.wecom_api_base, redis=redis,
        on_not_delivered=on_not_delivered, on_call=wecom_call, on_undelivered=wecom_undelivered,
    )


def build_deps(settings: Settings, *, queue: TaskQueue | None = None, redis: Any | None = None,
               start_periodic: bool = False) -> BotDeps:
    settings.require_wecom()
    assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
    check_tasks(settings)  # an unregistered task name stops start-up here, not on its first enqueue
    runtime = Runtime.build(settings)
    dedup_redis = redis
    if redis is None and settings.redis_url:
        import redis as redis_lib
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Bounded waits: a stopped Redis must make /readyz say so, not hang a worker.
        redis = redis_lib.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        # Callbacks wait far less, with no retries of redis-py's own: one short timeout, then the breaker
        # sends them to the database dedup (bot/dedup.py FallbackDedup).
        timeout = settings.redis_timeout_seconds
        dedup_redis = redis_lib.Redis.from_url(settings.redis_url, socket_connect_timeout=timeout,
                                               socket_timeout=timeout, retry=Retry(NoBackoff(), 0))
    database_dedup = DatabaseDedup(runtime.session_factory, settings.dedup_ttl_seconds, settings.dedup_lease_seconds)
    dedup: DedupStore = database_dedup
    redis_breaker = Breaker("Redis", "the database dedup", settings.redis_retry_seconds)
    if dedup_redis is not None:
        dedup = FallbackDedup(RedisDedup(dedup_redis, settings.dedup_ttl_seconds,
                                         lease=settings.dedup_lease_seconds), database_dedup, redis_breaker)
    recorder = Recorder(runtime.session_factory, runtime.now)
    client = build_client(settings, redis, recorder)
    core = BotCore(
        router=build_router(),
        session_factory=runtime.session_factory,
        policy=runtime.policy,
        dedup=dedup,
        queue=queue or _Pending(),
        public_url=settings.public_url,
        tools=HandlerTools(client, PhotoStore(Path(settings.media_dir)), runtime.alert_policy),
        dedup_wait=settings.dedup_wait_seconds,
    )
    recorder.clock = lambda: core.clock()  # one clock for what was missed and for the daily notice's window
    if queue is None:
        queue = build_queue(settings, runtime, core, client, start_periodic=start_periodic)
        core.queue = queue
    crypto = WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    return BotDeps(settings, runtime, core, crypto, client, queue, redis)


def record_label_key(runtime: Runtime) -> None:
    """Say in the database which label key this bot verifies with, for `factorybot labels` and doctor.

    Best effort: a bot whose database is not reachable yet must still start (/readyz says why)."""
    key = runtime.policy.label_key
    try:
        with runtime.uow() as uow:
            label_keys.record_in_use(uow, qr_payload.fingerprint(key) if key else None, runtime.now())
            uow.commit()
    except SQLAlchemyError as exc:  # another worker writing the same row, or a schema not yet upgraded
        log.warning("label key fingerprint not recorded: %s", type(exc).__name__)


class _Pending:
    def enqueue(self, name: str, **kwargs: Any) -> None:  # pragma: no cover - replaced before use
        raise RuntimeError("queue not wired")


def install_sessions(app: Flask, settings: Settings) -> None:
    """The pages' session cookie: its own key, HTTPS-only when the public address is, a shift's life."""
    app.secret_key = session_key(settings)
    app.config.update(SESSION_COOKIE_NAME="fb_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.public_url.lower().startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_lifetime_hours),
                      # The life counts from the sign-in, not from the last click: a phone left on a
                      # machine does not stay signed in for ever by being used.
                      SESSION_REFRESH_EACH_REQUEST=False)


def create_app(settings: Settings | None = None, *, queue: TaskQueue | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.require_ops_token_behind_proxy()
    configure_logging(settings.log_level, settings.log_format, mask_values=secret_values(settings))
    app = Flask("factorybot")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_callback_bytes
    # The web process runs the periodic alert rounds itself only when no Celery beat exists (no Redis).
    app.extensions["bot"] = build_deps(settings, queue=queue, start_periodic=queue is None)
    record_label_key(app.extensions["bot"].runtime)

    install_sessions(app, settings)

    app.register_blueprint(callback_bp)
    app.register_blueprint(forms_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(web_auth.bp)

    app.register_blueprint(ops.bp)
    ops.install(app, app.extensions["bot"])
    if settings.trusted_proxies:
        # Caddy (docs/deploy/Caddyfile) sets X-Forwarded-For/-Proto/-Host; only that many hops are believed.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    return app
