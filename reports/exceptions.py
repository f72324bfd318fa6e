"""Exceptions reported from the floor in a month, by type, with how fast they were answered and closed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.models import ShopException
from domain.uow import UnitOfWork
from reports.month import Month


@dataclass(frozen=True)
class ExceptionType:
    type: str
    count: int
    mean_response_minutes: float | None  # opened → acknowledged, over those acknowledged
    mean_close_minutes: float | None  # opened → closed, over those closed
    still_open: int  # not closed when the report was made


Row = tuple[str, datetime, datetime | None, datetime | None]


def _mean_minutes(spans: list[tuple[datetime, datetime]]) -> float | None:
    return sum((b - a).total_seconds() for a, b in spans) / 60 / len(spans) if spans else None


def by_type(rows: list[Row]) -> list[ExceptionType]:
    """Rows are (type, opened, acknowledged, closed); the most frequent type first."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row[0]].append(row)
    out = []
    for kind, items in groups.items():
        acked = [(opened, ack) for _, opened, ack, _ in items if ack is not None]
        closed = [(opened, close) for _, opened, _, close in items if close is not None]
        out.append(ExceptionType(kind, len(items), _mean_minutes(acked), _mean_minutes(closed),
                                 sum(1 for *_, close in items if close is None)))
    return sorted(out, key=lambda e: (-e.count, e.type))


def overall(rows: list[Row]) -> ExceptionType:
    """Every type together (its means over all exceptions, not an average of the types' means)."""
    return by_type([("合计", *row[1:]) for row in rows])[0] if rows else ExceptionType("合计", 0, None, None, 0)


def exception_rows(uow: UnitOfWork, month: Month, tz: ZoneInfo) -> list[Row]:
    """(type, opened, acknowledged, closed) of the exceptions opened in the month."""
    start, end = month.utc_bounds(tz)
    rows = uow.session.execute(
        select(ShopException.type, ShopException.opened_at, ShopException.acknowledged_at, ShopException.closed_at)
        .where(ShopException.opened_at >= start, ShopException.opened_at < end)
    ).all()
    return [(kind, opened, ack, closed) for kind, opened, ack, closed in rows]
