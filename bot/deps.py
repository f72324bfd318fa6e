"""What the bot's blueprints need from the app: its own module, so a blueprint imports this and not
bot/app.py (which imports every blueprint to register it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.dispatch import BotCore
from bot.queue import TaskQueue
from factorybot.config import Settings
from factorybot.runtime import Runtime
from wecom.client import WeComClient
from wecom.crypto import WeComCrypto


@dataclass
class BotDeps:
    settings: Settings
    runtime: Runtime
    core: BotCore
    crypto: WeComCrypto
    client: WeComClient
    queue: TaskQueue
    redis: Any | None
