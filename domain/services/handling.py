"""Acknowledging and closing what a person handles, an exception from the floor or an alert: one rule.

Open → acknowledged → closed, each step with who and when; acknowledging moves only an open one; closing
one nobody acknowledged counts its closer as acknowledging it then; a closed one stays closed. Each caller
keeps its own replies (an exception refuses to be acknowledged once closed, an alert says it was handled).
"""

from __future__ import annotations

from datetime import datetime

from domain.models import Alert, ShopException
from domain.vocab import AlertStatus, ExceptionStatus

Handled = Alert | ShopException


def _statuses(record: Handled) -> type[AlertStatus] | type[ExceptionStatus]:
    return AlertStatus if isinstance(record, Alert) else ExceptionStatus


def acknowledge(record: Handled, *, person_id: int, now: datetime) -> bool:
    """Open → acknowledged by this person now; returns whether it moved."""
    status = _statuses(record)
    if record.status != status.OPEN:
        return False
    record.status = status.ACKNOWLEDGED
    record.acknowledged_at = now
    record.acknowledged_by_id = person_id
    return True


def close(record: Handled, *, person_id: int, now: datetime, resolution: str | None) -> bool:
    """→ closed by this person now, with why; returns False (and changes nothing) if it was closed already."""
    status = _statuses(record)
    if record.status == status.CLOSED:
        return False
    if record.acknowledged_at is None:
        record.acknowledged_at = now
        record.acknowledged_by_id = person_id
    record.status = status.CLOSED
    record.closed_at = now
    record.closed_by_id = person_id
    record.resolution = resolution
    return True
