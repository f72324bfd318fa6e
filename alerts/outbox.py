"""Alert notices into the outbox of outgoing messages, in the transaction that decided them.

The rows are sent by bot/outbox.py (pending → sending → sent, retried, WeCom's duplicate check on); alerts/
only writes them, so it needs no WeCom client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.models import Notice
from domain.services.outbox import queue_message
from domain.uow import UnitOfWork


def queue_text(uow: UnitOfWork, userids: Iterable[str], text: str, now: datetime,
               key: str | None = None) -> Notice | None:
    return queue_message(uow, userids, now, text=text, key=key)


def queue_card(uow: UnitOfWork, userids: Iterable[str], card: Mapping[str, Any], now: datetime,
               alert_card_id: int | None = None) -> Notice | None:
    # One alert card row is one send: queued once, whatever repeats.
    key = f"alert_card:{alert_card_id}" if alert_card_id is not None else None
    return queue_message(uow, userids, now, card=card, alert_card_id=alert_card_id, key=key)
