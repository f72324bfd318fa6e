"""Settings for the local demo: a fake WeCom on this machine, with credentials nobody else uses.

An environment variable, when set, wins over these defaults, so the same commands work against a real corp.
"""

from __future__ import annotations

import os

from factorybot.config import Settings
from factorybot.demo_directory import DEPARTMENT_WORKSHOPS

FAKE_WECOM_PORT = 8930
BOT_PORT = 8000

DEMO_DEFAULTS: dict[str, object] = {
    "wecom_corp_id": "wwdemo0000000001",
    "wecom_agent_id": 1000002,
    "wecom_secret": "demo-secret-not-for-production",
    "wecom_token": "FactoryBotDemoToken",
    "wecom_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "wecom_api_base": f"http://127.0.0.1:{FAKE_WECOM_PORT}",
    "public_url": f"http://127.0.0.1:{BOT_PORT}",
    "wecom_department_workshops": DEPARTMENT_WORKSHOPS,
}


def demo_settings() -> Settings:
    unset = {k: v for k, v in DEMO_DEFAULTS.items() if not os.environ.get(k.upper())}
    return Settings.from_env(**unset)
