"""The alert tests' small plant (managers, technicians) and the bot's live harness, reused here."""

from __future__ import annotations

from tests.alerts.conftest import alert_policy, plant  # noqa: F401
from tests.bot.conftest import live, plant_db  # noqa: F401
