"""Nobody may ignore an alert: unacknowledged ones climb the chain, unclosed ones are raised at shift end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from alerts.cards import ESCALATED, REMINDER
from alerts.engine import send_alert_card
from alerts.policy import AlertPolicy
from alerts.routing import people_with
from alerts.rules import plant_closed
from domain.models import Alert, Person
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus


def escalate(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[int]:
    """Open alerts left unacknowledged for ack_within move one level up the chain, once per period."""
    if plant_closed(now, policy):
        return []  # nobody to climb to on a rest day or holiday: the chain moves on the next working day
    moved = []
    top = len(policy.chain) - 1
    for alert in uow.session.scalars(select(Alert).where(Alert.status == AlertStatus.OPEN).order_by(Alert.id)):
        since = alert.escalated_at or alert.fired_at
        if alert.level >= top or now - since < policy.ack_within:
            continue
        alert.level += 1
        alert.escalated_at = now
        send_alert_card(uow, policy, alert, level=alert.level, now=now, prefix=ESCALATED)
        moved.append(alert.id)
    return moved


def remind_at_shift_end(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[int]:
    """After the shift ends, every alert still not closed is raised again, once per day, so none sleeps.

    An alert that fired at or after this shift's end has only just been sent: raising it "again" in the
    same round would be a duplicate card. It belongs to the next shift's end, like any alert of that shift.
    """
    if plant_closed(now, policy):
        return []  # no shift ends today: the next working day's end reminds
    local = policy.local(now)
    shift_end = policy.at(local.date(), policy.shift_end)
    if now < shift_end:
        return []
    reminded = []
    for alert in uow.session.scalars(select(Alert).where(Alert.status != AlertStatus.CLOSED,
                                                         Alert.fired_at < shift_end).order_by(Alert.id)):
        if alert.reminded_at is not None and alert.reminded_at >= shift_end:
            continue
        users = set(people_with(uow, policy.level_roles(1), None))
        if alert.acknowledged_by_id:
            acker = uow.session.get(Person, alert.acknowledged_by_id)
            if acker is not None:
                users.add(acker.userid)
        alert.reminded_at = now
        send_alert_card(uow, policy, alert, level=alert.level, now=now, userids=sorted(users), prefix=REMINDER)
        reminded.append(alert.id)
    return reminded
