"""The task names the callback, the handlers and the forms enqueue, as handles from the one registry.

A leaf module (no import of the tasks themselves, so a handler can use it without an import circle); the
entry points check at start-up that every one of these is registered (domain/tasks_registry.py `check`).
"""

from __future__ import annotations

from domain.tasks_registry import ref

RUN_DEFERRED = ref("bot.run_deferred")
SEND = ref("bot.send")
ALERTS_TICK = ref("alerts.tick")
ALERTS_DELIVER = ref("alerts.deliver")
ALERTS_UPDATE_CARDS = ref("alerts.update_cards")
REPORTS_SEND_MONTHLY = ref("reports.send_monthly")
KIS_PULL = ref("kis.pull")
KIS_PUSH = ref("kis.push")
