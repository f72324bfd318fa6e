"""After 认领 / 已处理 / 转维修, every copy of the card shows the new state, for everyone who got it.

Each card send has its own single-use response code (72 h). The tap's own event code updates the tapped
card; the others use their stored send code once. A card with no usable code left gets a text instead,
so nobody keeps acting on a stale card without knowing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.cards import alert_card, state_line
from alerts.engine import people_by_id
from alerts.outbox import queue_text
from alerts.policy import AlertPolicy
from domain.models import Alert, AlertCard
from domain.uow import UnitOfWork
from wecom.client import WeComClient
from wecom.errors import WeComAPIError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _CardUpdate:
    card_row_id: int
    userids: list[str]
    code: str
    card: dict[str, Any]
    stored_code: bool  # the send's own code, usable once


def update_cards(session_factory: sessionmaker[Session], client: WeComClient, policy: AlertPolicy, *,
                 alert_id: int, tapped_task_id: str, response_code: str, now: datetime) -> int:
    # Three steps, so no transaction is open while WeCom is called: read what to update, call WeCom,
    # then record the codes used and the texts for the cards that could not be updated.
    with UnitOfWork(session_factory, read_only=True) as uow:
        alert = uow.session.get(Alert, alert_id)
        if alert is None:
            return 0
        people = people_by_id(uow, {alert.acknowledged_by_id, alert.closed_by_id})
        notice = f"预警 #{alert.id} {alert.title}\n{state_line(alert, policy, people)}"
        planned: list[_CardUpdate] = []
        in_words: list[list[str]] = []
        for row in uow.session.scalars(select(AlertCard).where(AlertCard.alert_id == alert_id)):
            users = row.userids.split("|")
            if row.task_id == tapped_task_id and response_code:
                code, stored = response_code, False
            elif row.response_code and not row.code_used:
                code, stored = row.response_code, True
            else:
                if row.task_id != tapped_task_id:
                    in_words.append(users)
                continue
            card = alert_card(alert, task_id=row.task_id, policy=policy, people=people)
            planned.append(_CardUpdate(row.id, users, code, card, stored))
    updated = 0
    for u in planned:
        try:
            client.update_card(u.userids, u.code, card=u.card)
            updated += 1
        except WeComAPIError as exc:  # the code expired (72 h) or was used: say it in words instead
            log.warning("card %s of alert %s not updated: %s", u.card_row_id, alert_id, exc)
            in_words.append(u.userids)
    with UnitOfWork(session_factory) as uow:
        for u in planned:
            if u.stored_code:
                sent = uow.session.get(AlertCard, u.card_row_id)
                if sent is not None:
                    sent.code_used = True
        for users in in_words:
            queue_text(uow, users, notice, now)
        uow.commit()
    return updated
