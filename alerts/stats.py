"""How fast alerts are handled: mean time to acknowledge and to close, and the share closed the same day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.models import Alert, RepairTicket
from domain.month import Month
from domain.uow import UnitOfWork


@dataclass(frozen=True)
class AlertStats:
    rule: str
    workshop: str
    count: int
    mean_ack_minutes: float | None
    mean_close_minutes: float | None
    closed_same_day_pct: float
    # Acknowledgements or closes recorded before their firing (old data: a round run with a past --at) are
    # left out of the means, never shown as a negative duration.
    left_out: int = 0


@dataclass(frozen=True)
class RepairStats:
    count: int
    mean_response_minutes: float | None  # dispatched → accepted
    mean_repair_minutes: float | None  # accepted → finished
    left_out: int = 0  # steps recorded before the step they follow (old data), not in the means


def month_bounds(month: str, policy: AlertPolicy) -> tuple[datetime, datetime]:
    return Month.parse(month).utc_bounds(policy.tz)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _minutes(pairs: list[tuple[datetime, datetime]]) -> tuple[list[float], int]:
    """Minutes from each start to its end, and how many ended before they started (left out)."""
    values = [(end - start).total_seconds() / 60 for start, end in pairs]
    return [v for v in values if v >= 0], sum(1 for v in values if v < 0)


def alert_stats(uow: UnitOfWork, policy: AlertPolicy, month: str) -> list[AlertStats]:
    start, end = month_bounds(month, policy)
    plant = policy.plant
    groups: dict[tuple[str, str], list[Alert]] = defaultdict(list)
    for a in uow.session.scalars(select(Alert).where(Alert.fired_at >= start, Alert.fired_at < end)):
        groups[(a.rule, a.workshop or "全厂")].append(a)
    out = []
    for (rule, workshop), alerts in sorted(groups.items()):
        acks, bad_acks = _minutes([(a.fired_at, a.acknowledged_at) for a in alerts if a.acknowledged_at])
        closes, bad_closes = _minutes([(a.fired_at, a.closed_at) for a in alerts if a.closed_at])
        # 当日关闭 is the plant's day: a night shift's alert fired at 23:00 and closed at 03:00 was closed
        # within its production day (on a one-shift plant that is the calendar date, as before).
        same_day = sum(1 for a in alerts if a.closed_at and a.closed_at >= a.fired_at
                       and plant.production_day(a.closed_at) == plant.production_day(a.fired_at))
        out.append(AlertStats(rule, workshop, len(alerts), _mean(acks), _mean(closes), 100 * same_day / len(alerts),
                              bad_acks + bad_closes))
    return out


def repair_stats(uow: UnitOfWork, policy: AlertPolicy, month: str) -> RepairStats:
    start, end = month_bounds(month, policy)
    tickets = uow.session.scalars(
        select(RepairTicket).where(RepairTicket.opened_at >= start, RepairTicket.opened_at < end)).all()
    response, bad_response = _minutes([(t.dispatched_at, t.accepted_at) for t in tickets
                                       if t.accepted_at and t.dispatched_at])
    repair, bad_repair = _minutes([(t.accepted_at, t.finished_at) for t in tickets if t.finished_at and t.accepted_at])
    return RepairStats(len(tickets), _mean(response), _mean(repair), bad_response + bad_repair)
