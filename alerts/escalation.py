"""Nobody may ignore an alert: unacknowledged ones climb the chain, unclosed ones are raised at shift end.

Both reach the people on duty now (alerts/routing.py): on a plant of several shifts the reminder comes at
every shift's end, to the incoming shift, so nothing open is left over at handover.

Neither ever sends a person a second card of an alert (issue 18: the ops manager, a first recipient of every
card and the chain's first level, got each one three times). A climb adds the next level's people who have
no card yet and changes the card in place for those who have one; a reminder to someone who has the card is
a short text. Executives are woken for severe alerts only, and at night for critical ones (alerts/severity.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from alerts.card_updates import queue_refresh
from alerts.cards import REMINDER
from alerts.engine import send_alert_card
from alerts.outbox import queue_text
from alerts.policy import AlertPolicy
from alerts.routing import leads_on_duty, people_with, recipients
from alerts.rules import plant_closed
from alerts.severity import is_executive_level, may_climb_to
from alerts.store import card_holders
from domain.models import Alert, Person
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus

# With more than one reminder a shift allowed (ALERT_REMINDERS_PER_SHIFT), the next one waits this long.
REMIND_AGAIN_AFTER = timedelta(hours=2)
# One reminder text lists at most this many alerts (a WeCom text holds 2048 bytes); the rest are counted.
REMINDER_LINES = 10


def escalate(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[int]:
    """Open alerts left unacknowledged for ack_within move one level up the chain, once per period.

    Only the next level's people who have no card of the alert get one; everyone who has it sees the card
    change in place ("已升级至 运营经理"). The executives' level takes severe and critical alerts only, and
    critical ones only inside the quiet hours (alerts/severity.py): anything else waits one level below,
    without a card and without cycling, and a quiet-hours hold climbs once the quiet hours are over.
    """
    if plant_closed(now, policy):
        return []  # nobody to climb to on a rest day or holiday: the chain moves on the next working day
    moved = []
    top = len(policy.chain) - 1
    for alert in uow.session.scalars(select(Alert).where(Alert.status == AlertStatus.OPEN).order_by(Alert.id)):
        since = alert.escalated_at or alert.fired_at
        if alert.level >= top or now - since < policy.ack_within:
            continue
        if not may_climb_to(policy, alert.level + 1, alert.severity, now):
            continue
        alert.level += 1
        alert.escalated_at = now
        queue_refresh(uow, policy, alert, now, reason=f"level{alert.level}")
        send_alert_card(uow, policy, alert, level=alert.level, now=now)
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
    """After the shift ends, every alert still not closed is raised again, so none sleeps: at most
    reminders_per_shift times in the period that starts at this shift end (its count starts again then).

    The reminder goes to the alert's owner if they are on duty, else to the people on duty who would get it
    now. Whoever already has the card gets a short text (one per person, listing their alerts), not a second
    card; someone on duty who never had it (the incoming shift) gets the card, once.

    An alert that fired at or after this shift's end has only just been sent: raising it "again" in the
    same round would be a duplicate. It belongs to the next shift's end, like any alert of that shift.
    """
    shift_end = ended_shift(policy, now)
    if shift_end is None or policy.reminders_per_shift <= 0:
        return []
    reminded = []
    lines: dict[str, list[str]] = defaultdict(list)
    for alert in uow.session.scalars(select(Alert).where(Alert.status != AlertStatus.CLOSED,
                                                         Alert.fired_at < shift_end).order_by(Alert.id)):
        if alert.reminded_at is not None and alert.reminded_at >= shift_end:
            if alert.reminders >= policy.reminders_per_shift or now - alert.reminded_at < REMIND_AGAIN_AFTER:
                continue
        else:
            alert.reminders = 0  # a new shift's count
        users = _remind_whom(uow, policy, alert, now)
        have = card_holders(uow, alert.id)
        send_alert_card(uow, policy, alert, level=alert.level, now=now,
                        userids=[u for u in users if u not in have], prefix=REMINDER)
        for u in users:
            if u in have:
                lines[u].append(_reminder_line(policy, alert, now))
        alert.reminded_at = now
        alert.reminders = (alert.reminders or 0) + 1
        reminded.append(alert.id)
    for userid, mine in lines.items():
        queue_text(uow, [userid], _reminder_text(mine), now, key=f"alert_reminder:{userid}:{now.isoformat()}"[:120])
    return reminded


def _remind_whom(uow: UnitOfWork, policy: AlertPolicy, alert: Alert, now: datetime) -> list[str]:
    if alert.acknowledged_by_id:
        owner = uow.session.get(Person, alert.acknowledged_by_id)
        if owner is not None and owner.active and policy.plant.on_duty(owner.userid, now):
            return [owner.userid]  # it is theirs: nobody else is asked again
    # Nobody owns it (or its owner has gone home): the people on duty it was raised to (its first
    # recipients and each level it climbed), never the executives, whom the chain alone wakes (severe
    # alerts, outside quiet hours), and the workshop's leads on shift.
    users: list[str] = []
    for level in range(alert.level + 1):
        if level > 0 and is_executive_level(policy, level):
            continue
        roles = policy.route(alert.rule) if level == 0 else policy.level_roles(level)
        users += [u for u in people_with(uow, roles, alert.workshop, on_duty_at=now, policy=policy)
                  if u not in users]
    users += [u for u in leads_on_duty(uow, policy, alert.workshop, now) if u not in users]
    if not users and policy.plant.multi_shift:
        # Nobody of the incoming shift to tell: upwards, as a new alert would go.
        users = recipients(uow, policy, rule=alert.rule, workshop=alert.workshop, level=max(alert.level, 1), now=now)
    return users


def _age(alert: Alert, now: datetime) -> str:
    minutes = max(0, int((now - alert.fired_at).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}分钟"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}小时"
    return f"{hours // 24}天{hours % 24}小时" if hours % 24 else f"{hours // 24}天"


def _reminder_line(policy: AlertPolicy, alert: Alert, now: datetime) -> str:
    title = alert.title if len(alert.title) <= 40 else alert.title[:39] + "…"
    return f"预警 #{alert.id} {title}，已开 {_age(alert, now)}"


def _reminder_text(lines: list[str]) -> str:
    if len(lines) == 1:
        number = lines[0].split()[1]
        return f"{REMINDER}{lines[0]}，发送「预警 {number}」处理"
    shown = lines[:REMINDER_LINES]
    more = f"\n另有 {len(lines) - len(shown)} 条，发送「预警」查看" if len(lines) > len(shown) else ""
    return f"{REMINDER}{len(lines)} 条预警未关闭：\n" + "\n".join(shown) + more + "\n发送「预警 #编号」处理"
