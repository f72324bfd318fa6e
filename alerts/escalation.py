"""Nobody may ignore an alert: unacknowledged ones climb the chain, unclosed ones are raised at shift end.

Both reach the people on duty now (alerts/routing.py): on a plant of several shifts the reminder comes at
every shift's end, to the incoming shift, so nothing open is left over at handover.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from alerts.cards import ESCALATED, REMINDER
from alerts.engine import send_alert_card
from alerts.policy import AlertPolicy
from alerts.routing import leads_on_duty, people_with, recipients
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


def ended_shift(policy: AlertPolicy, now: datetime) -> datetime | None:
    """The end of the shift whose reminder is due: the day's one shift on a one-shift plant (none on a rest
    day, or before it ends); on a plant of several shifts, the last working shift that has ended."""
    plant = policy.plant
    if plant.multi_shift:
        last = plant.previous_shift(now)
        return last.end if last is not None else None
    if plant_closed(now, policy):
        return None  # no shift ends today: the next working day's end reminds
    today = policy.local(now).date()
    shift_end = policy.at(today, policy.shift_hours(today)[1])
    return shift_end if now >= shift_end else None


def remind_at_shift_end(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[int]:
    """After the shift ends, every alert still not closed is raised again, once per shift, so none sleeps.

    An alert that fired at or after this shift's end has only just been sent: raising it "again" in the
    same round would be a duplicate card. It belongs to the next shift's end, like any alert of that shift.
    """
    shift_end = ended_shift(policy, now)
    if shift_end is None:
        return []
    multi = policy.plant.multi_shift
    reminded = []
    for alert in uow.session.scalars(select(Alert).where(Alert.status != AlertStatus.CLOSED,
                                                         Alert.fired_at < shift_end).order_by(Alert.id)):
        if alert.reminded_at is not None and alert.reminded_at >= shift_end:
            continue
        users = set(people_with(uow, policy.level_roles(1), None, on_duty_at=now, policy=policy))
        users |= set(leads_on_duty(uow, policy, alert.workshop, now))
        if alert.acknowledged_by_id:
            acker = uow.session.get(Person, alert.acknowledged_by_id)
            if acker is not None and policy.plant.on_duty(acker.userid, now):
                users.add(acker.userid)
        if not users and multi:
            # Nobody of the incoming shift to tell: upwards, as a new alert would go.
            users = set(recipients(uow, policy, rule=alert.rule, workshop=alert.workshop, level=1, now=now))
        alert.reminded_at = now
        send_alert_card(uow, policy, alert, level=alert.level, now=now, userids=sorted(users), prefix=REMINDER)
        reminded.append(alert.id)
    return reminded
