"""Settings for the local demo: a fake WeCom on this machine, with credentials nobody else uses.

An environment variable, when set, wins over these defaults, so the same commands work against a real corp.
"""

from __future__ import annotations

import os

from factorybot.config import Settings
from factorybot.demo_directory import DEPARTMENT_WORKSHOPS

FAKE_WECOM_PORT = 8930
BOT_PORT = 8000
DEMO_LABEL_KEY = "FactoryBotDemoLabelKey-not-for-production"

DEMO_DEFAULTS: dict[str, object] = {
    "wecom_corp_id": "wwdemo0000000001",
    "wecom_agent_id": 1000002,
    "wecom_secret": "demo-secret-not-for-production",
    "wecom_token": "FactoryBotDemoToken",
    "wecom_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "wecom_api_base": f"http://127.0.0.1:{FAKE_WECOM_PORT}",
    "public_url": f"http://127.0.0.1:{BOT_PORT}",
    "wecom_department_workshops": DEPARTMENT_WORKSHOPS,
    # The demo's own label key: `factorybot labels` beside a running demo finds it (the demo's bot records its
    # fingerprint in the database), so labels printed there are the ones the demo's bot accepts.
    "label_key": DEMO_LABEL_KEY,
}


def demo_settings() -> Settings:
    unset = {k: v for k, v in DEMO_DEFAULTS.items() if not os.environ.get(k.upper())}
    return Settings.from_env(**unset)


def for_demo_servers(settings: Settings, host: str, port: int, fake_port: int) -> Settings:
    """The settings as `factorybot demo` runs them: always against the fake WeCom it starts itself."""
    return settings.model_copy(update={
        "wecom_api_base": f"http://{host}:{fake_port}",
        "wecom_oauth_base": f"http://{host}:{fake_port}",
        "public_url": f"http://{host}:{port}",
    })
