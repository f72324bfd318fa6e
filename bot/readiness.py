"""The checks behind /readyz, shared with `factorybot doctor`: each returns a short detail or raises why not."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from bot.dedup import FallbackDedup
from domain.models import SyncState
from domain.uow import UnitOfWork
from wecom.client import WeComClient
from wecom.errors import WeComAPIError

KIS_PULL_JOB = "kis_pull"
KIS_STALE_AFTER = timedelta(hours=26)  # the nightly pull plus a couple of hours of grace
REDIS_ABSENT = "not configured (tasks run in-process)"


class NotReady(Exception):
    """A dependency answers but refuses us; its text says, in Chinese, what to change."""


def database(engine: Engine) -> str:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def redis(client: Any | None, dedup: Any = None) -> str:
    """With the dedup's fallback: its short-timeout probe, so a stalled Redis makes /readyz wait half a second,
    not five; the detail says callbacks are being deduplicated in the database meanwhile."""
    if client is None:
        return REDIS_ABSENT
    if isinstance(dedup, FallbackDedup):
        dedup.probe()
        if dedup.breaker.down:
            raise NotReady(f"Redis 不可用，回调已回退到数据库去重（Redis unreachable, dedup falls back to the "
                           f"database）：{dedup.breaker.reason}")
        return "ok"
    client.ping()
    return "ok"


def wecom(client: WeComClient) -> str:
    client.check_token()
    return "access token ok"


def wecom_refusals(client: WeComClient) -> str:
    """The token may be fine while the last call of some API was refused (60020, 48002, 81013…): say so."""
    refused = client.refusals()
    if refused:
        raise NotReady("；".join(f"{r.api}：{r.hint}" for r in refused))
    return "access token ok"


def kis(configured: bool, uow: Callable[[], UnitOfWork]) -> str:
    if not configured:
        return "not configured"
    with uow() as unit:
        state = unit.session.get(SyncState, KIS_PULL_JOB)
        last = state.last_ok_at if state is not None else None
    if last is None:
        raise RuntimeError("no successful KIS pull yet")
    age = datetime.now(UTC) - last
    if age > KIS_STALE_AFTER:
        raise RuntimeError(f"last successful pull {age.total_seconds() / 3600:.1f} h ago")
    return f"last successful pull {age.total_seconds() / 3600:.1f} h ago"


def timed(name: str, fn: Callable[[], str]) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except (NotReady, WeComAPIError) as exc:  # already a sentence for the operator: keep it whole
        detail, ok = str(exc)[:600], False
    except Exception as exc:  # any failure of a dependency is a "not ready", with its reason
        detail, ok = f"{type(exc).__name__}: {str(exc)[:200]}", False
    return name, {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}
