"""An alert and an exception are acknowledged and closed by one rule (domain/services/handling.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.models import Alert, ShopException
from domain.services import handling
from domain.vocab import AlertStatus, ExceptionStatus

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _records() -> list[handling.Handled]:
    return [Alert(status=AlertStatus.OPEN), ShopException(status=ExceptionStatus.OPEN)]


@pytest.mark.parametrize("record", _records(), ids=["alert", "exception"])
def test_acknowledge_then_close_keeps_who_and_when(record: handling.Handled) -> None:
    assert handling.acknowledge(record, person_id=1, now=NOW)
    assert not handling.acknowledge(record, person_id=2, now=NOW + timedelta(minutes=1))
    assert (record.status, record.acknowledged_by_id, record.acknowledged_at) == ("acknowledged", 1, NOW)
    later = NOW + timedelta(hours=1)
    assert handling.close(record, person_id=2, now=later, resolution="已处理")
    assert (record.status, record.closed_by_id, record.closed_at, record.resolution) == ("closed", 2, later, "已处理")
    assert record.acknowledged_by_id == 1  # closing does not rewrite who acknowledged
    assert type(record.status) is (AlertStatus if isinstance(record, Alert) else ExceptionStatus)


@pytest.mark.parametrize("record", _records(), ids=["alert", "exception"])
def test_closing_unacknowledged_counts_the_closer_and_closes_once(record: handling.Handled) -> None:
    assert handling.close(record, person_id=3, now=NOW, resolution=None)
    assert (record.acknowledged_by_id, record.acknowledged_at) == (3, NOW)
    assert not handling.close(record, person_id=4, now=NOW + timedelta(hours=1), resolution="again")
    assert (record.closed_by_id, record.resolution) == (3, None)
    assert not handling.acknowledge(record, person_id=4, now=NOW)
    assert record.status == "closed"
