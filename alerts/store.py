"""One open alert per rule and subject: firing is idempotent, clearing closes, returning fires anew.

An alert a person closed (已处理, 转维修) while its condition still held keeps its subject quiet until the
condition is seen to clear; then it is re-armed (its resolution says so) and a return fires again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from domain.models import Alert, AlertCard
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus

CLEARED = "条件已解除"
# Appended to the resolution of an alert a person closed, once its condition has cleared. Kept in the
# resolution (no extra column) and read as what happened wherever it is shown: "已处理，条件已解除".
REARMED = f"，{CLEARED}"
# A closed alert older than this holds nothing back any more (its subject is long gone, or worth a new card).
HOLD_MEMORY = timedelta(days=120)


@dataclass(frozen=True)
class Fired:
    alert_id: int
    new: bool


def open_alert(uow: UnitOfWork, rule: str, subject_key: str) -> Alert | None:
    return uow.session.scalar(
        select(Alert).where(Alert.rule == rule, Alert.subject_key == subject_key, Alert.status != AlertStatus.CLOSED)
        .order_by(Alert.id.desc()).limit(1)
    )


def open_alerts_carded_to(uow: UnitOfWork, userid: str) -> list[Alert]:
    """The open alerts whose card went to this person, newest first (the chat's 预警 list)."""
    rows = uow.session.execute(
        select(Alert, AlertCard.userids).join(AlertCard, AlertCard.alert_id == Alert.id)
        .where(Alert.status != AlertStatus.CLOSED).order_by(Alert.fired_at.desc())
    ).all()
    mine = {a.id: a for a, users in rows if userid in users.split("|")}
    return list(mine.values())


def card_holders(uow: UnitOfWork, alert_id: int) -> set[str]:
    """Everyone who has been sent a card of this alert (each AlertCard row is one send)."""
    return {u for users in uow.session.scalars(select(AlertCard.userids).where(AlertCard.alert_id == alert_id))
            for u in users.split("|") if u}


def holds(alert: Alert) -> bool:
    """Open, or closed (by a person or the system) and not yet re-armed by its condition clearing."""
    return alert.status != AlertStatus.CLOSED or not (alert.resolution or "").endswith(CLEARED)


def rearm(alert: Alert) -> None:
    """The condition of a closed alert has cleared: the next occurrence may fire again."""
    if alert.status != AlertStatus.CLOSED or not holds(alert):
        return
    base = alert.resolution or "已处理"
    alert.resolution = f"{base[:100 - len(REARMED)]}{REARMED}"


def in_force(uow: UnitOfWork, rule: str, now: datetime) -> dict[str, Alert]:
    """Per subject of a rule, the alert that decides what a finding does: an open one (refresh it) or one
    closed while its condition held (stay quiet). Subjects missing here fire on their next finding."""
    latest: dict[str, Alert] = {}
    for alert in uow.session.scalars(
            select(Alert).where(Alert.rule == rule, or_(
                Alert.status != AlertStatus.CLOSED,
                and_(or_(Alert.resolution.is_(None), ~Alert.resolution.endswith(CLEARED)),
                     Alert.closed_at >= now - HOLD_MEMORY)))
            .order_by(Alert.id)):
        latest[alert.subject_key] = alert
    closed = [a.subject_key for a in latest.values() if a.status == AlertStatus.CLOSED]
    if closed:
        # Only the subject's newest alert decides: an older closed one behind a newer (cleared) one is history.
        newest = dict(uow.session.execute(
            select(Alert.subject_key, func.max(Alert.id)).where(Alert.rule == rule, Alert.subject_key.in_(closed))
            .group_by(Alert.subject_key)).all())
        for subject in closed:
            if newest.get(subject) != latest[subject].id:
                del latest[subject]
    return latest


def fire(
    uow: UnitOfWork, *, rule: str, subject_key: str, title: str, now: datetime,
    facts: Mapping[str, Any] | None = None, workshop: str | None = None, known_absent: bool = False,
    severity: str = "normal",
) -> Fired:
    """Open an alert unless one is already open for this rule and subject (then refresh its facts).

    known_absent: the caller has just looked (under the same transaction) and found none open.
    severity: decided once, as it fires (alerts/severity.py); a refresh keeps it.
    """
    current = None if known_absent else open_alert(uow, rule, subject_key)
    if current is not None:
        current.facts = dict(facts or current.facts)
        return Fired(current.id, new=False)
    alert = Alert(rule=rule, subject_key=subject_key, workshop=workshop, title=title[:200], facts=dict(facts or {}),
                  status=AlertStatus.OPEN, level=0, fired_at=now, severity=severity)
    uow.session.add(alert)
    uow.session.flush()
    return Fired(alert.id, new=True)


def clear(uow: UnitOfWork, *, rule: str, subject_key: str, now: datetime) -> int | None:
    """The condition no longer holds: close its open alert, so the next occurrence fires again."""
    current = open_alert(uow, rule, subject_key)
    if current is None:
        return None
    current.status = AlertStatus.CLOSED
    current.closed_at = now
    current.resolution = CLEARED
    return current.id
