"""After 认领 / 已处理 / 转维修, every copy of the card shows the new state, for everyone who got it.

Each card send has its own single-use response code (72 h). The tap's own event code updates the tapped
card; the others use their stored send code once. A card with no usable code left gets a text instead,
so nobody keeps acting on a stale card without knowing.
"""

from __future__ import annotations

import logging
from datetime import datetime

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


def update_cards(session_factory: sessionmaker[Session], client: WeComClient, policy: AlertPolicy, *,
                 alert_id: int, tapped_task_id: str, response_code: str, now: datetime) -> int:
    updated = 0
    with UnitOfWork(session_factory) as uow:
        alert = uow.session.get(Alert, alert_id)
        if alert is None:
            return 0
        people = people_by_id(uow, {alert.acknowledged_by_id, alert.closed_by_id})
        for row in uow.session.scalars(select(AlertCard).where(AlertCard.alert_id == alert_id)):
            if row.task_id == tapped_task_id and response_code:
                code = response_code
            elif row.response_code and not row.code_used:
                code = row.response_code
                row.code_used = True
            else:
                if row.task_id != tapped_task_id:
                    queue_text(uow, row.userids.split("|"),
                               f"预警 #{alert.id} {alert.title}\n{state_line(alert, policy, people)}", now)
                continue
            card = alert_card(alert, task_id=row.task_id, policy=policy, people=people)
            try:
                client.update_card(row.userids.split("|"), code, card=card)
                updated += 1
            except WeComAPIError as exc:  # the code expired (72 h) or was used: say it in words instead
                log.warning("card %s of alert %s not updated: %s", row.task_id, alert_id, exc)
                queue_text(uow, row.userids.split("|"),
                           f"预警 #{alert.id} {alert.title}\n{state_line(alert, policy, people)}", now)
        uow.commit()
    return updated
