"""A live bot (real callbacks, the fake WeCom) on a two-shift plant whose clock the test sets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import create_app
from tests.bot.conftest import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    LABEL_KEY,
    TOKEN,
    LiveHarness,
    SyncQueue,
    make_settings,
)
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder

TWO_SHIFTS = "白班=08:00-20:00,夜班=20:00-08:00"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def plant_time(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A wall-clock moment at the plant, as the bot's clock gives it (UTC)."""
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI).astimezone(UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def live_plant(db_url: str, fake_wecom: Any, tmp_path: Any, clock: Clock, **extra: Any) -> LiveHarness:
    """Like the `live` fixture, with the settings given (SHIFTS=…) and the bot's clock at `clock`."""
    from bot.tasks import TaskDeps, task_table  # as the `live` fixture: the task table is built per app

    fake_wecom.reset()
    queue = SyncQueue()
    settings = make_settings(db_url, fake_wecom.url, label_key=LABEL_KEY, media_dir=str(tmp_path / "media"),
                             wecom_oauth_base=fake_wecom.url, **extra)
    app = create_app(settings, queue=queue)
    deps = app.extensions["bot"]
    deps.core.clock = clock
    deps.runtime.now = clock  # type: ignore[method-assign]  # the board and the web pages ask the runtime
    queue.tasks = task_table(TaskDeps(deps.core, deps.client, deps.runtime.alert_policy))
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    return LiveHarness(app, app.test_client(), queue, CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto,
                       fake=fake_wecom)
