"""How fast alerts are handled: mean time to acknowledge and to close, and the share closed the same day; how
fast repairs are answered (派单 → 接单) and done (接单 → 完成), overall, per technician and per press."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.models import Alert, Person, RepairTicket
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
class RepairGroup:
    """The tickets of one technician (the one it was last sent to) or one press."""

    label: str
    count: int
    done: int
    mean_response_minutes: float | None
    mean_repair_minutes: float | None
    left_out: int = 0


@dataclass(frozen=True)
class RepairStats:
    count: int
    mean_response_minutes: float | None  # dispatched → accepted
    mean_repair_minutes: float | None  # accepted → finished
    left_out: int = 0  # steps recorded before the step they follow (old data), not in the means
    by_technician: tuple[RepairGroup, ...] = ()  # most tickets first
    by_press: tuple[RepairGroup, ...] = ()  # by press name


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


NOBODY = "未派单"
NO_PRESS = "未注明机台"


def _repair_group(label: str, tickets: list[RepairTicket]) -> RepairGroup:
    response, bad_response = _minutes([(t.dispatched_at, t.accepted_at) for t in tickets
                                       if t.accepted_at and t.dispatched_at])
    repair, bad_repair = _minutes([(t.accepted_at, t.finished_at) for t in tickets if t.finished_at and t.accepted_at])
    done = sum(1 for t in tickets if t.finished_at is not None)
    return RepairGroup(label, len(tickets), done, _mean(response), _mean(repair), bad_response + bad_repair)


def repair_stats(uow: UnitOfWork, policy: AlertPolicy, month: str) -> RepairStats:
    start, end = month_bounds(month, policy)
    tickets = list(uow.session.scalars(
        select(RepairTicket).where(RepairTicket.opened_at >= start, RepairTicket.opened_at < end)
        .order_by(RepairTicket.id)))
    names = dict(uow.session.execute(select(Person.id, Person.name).where(
        Person.id.in_({t.technician_id for t in tickets if t.technician_id}))).all())
    by_tech: dict[str, list[RepairTicket]] = defaultdict(list)
    by_press: dict[str, list[RepairTicket]] = defaultdict(list)
    for t in tickets:
        by_tech[names.get(t.technician_id, NOBODY) if t.technician_id else NOBODY].append(t)
        by_press[t.machine or NO_PRESS].append(t)
    whole = _repair_group("合计", tickets)
    techs = sorted((_repair_group(name, items) for name, items in by_tech.items()),
                   key=lambda g: (g.label == NOBODY, -g.count, g.label))
    presses = sorted((_repair_group(press, items) for press, items in by_press.items()),
                     key=lambda g: (g.label == NO_PRESS, g.label))
    return RepairStats(whole.count, whole.mean_response_minutes, whole.mean_repair_minutes, whole.left_out,
                       tuple(techs), tuple(presses))
