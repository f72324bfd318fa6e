"""One open alert per rule and subject: firing is idempotent, clearing closes, returning fires anew."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from domain.models import Alert
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus

CLEARED = "条件已解除"


@dataclass(frozen=True)
class Fired:
    alert_id: int
    new: bool


def open_alert(uow: UnitOfWork, rule: str, subject_key: str) -> Alert | None:
    return uow.session.scalar(
        select(Alert).where(Alert.rule == rule, Alert.subject_key == subject_key, Alert.status != AlertStatus.CLOSED)
        .order_by(Alert.id.desc()).limit(1)
    )


def fire(
    uow: UnitOfWork, *, rule: str, subject_key: str, title: str, now: datetime,
    facts: Mapping[str, Any] | None = None, workshop: str | None = None, known_absent: bool = False,
) -> Fired:
    """Open an alert unless one is already open for this rule and subject (then refresh its facts).

    known_absent: the caller has just looked (under the same transaction) and found none open.
    """
    current = None if known_absent else open_alert(uow, rule, subject_key)
    if current is not None:
        current.facts = dict(facts or current.facts)
        return Fired(current.id, new=False)
    alert = Alert(rule=rule, subject_key=subject_key, workshop=workshop, title=title[:200], facts=dict(facts or {}),
                  status=AlertStatus.OPEN, level=0, fired_at=now)
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
