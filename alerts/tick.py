"""One scheduled round: evaluate the rules, escalate, remind, re-dispatch repairs, hand over the faults whose
press nobody named. Sending is separate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text

from alerts import handover, intake, repair
from alerts.engine import EvalResult, evaluate
from alerts.escalation import escalate, remind_at_shift_end
from alerts.policy import AlertPolicy
from domain.db import is_postgres
from domain.uow import UnitOfWork
from forecast.warnings import warn_late_orders


@dataclass(frozen=True)
class TickResult:
    evaluation: EvalResult
    escalated: list[int]
    reminded: list[int]
    redispatched: list[int]
    handover: int | None = None  # the handover this round made (at a shift's end)
    repair_escalated: list[int] = field(default_factory=list)  # repairs handed to the 设备主管 this round
    press_handed_over: list[int] = field(default_factory=list)  # faults whose press nobody named in time


ROUND_LOCK = 7_240_001  # any constant: PostgreSQL advisory lock key for "an alert round is running"


def tick(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> TickResult:
    # Two rounds at once (two web processes without Redis, or beat plus `alerts run`) would both see
    # "no open alert" and both fire; on PostgreSQL they take turns (SQLite's BEGIN IMMEDIATE already does).
    if is_postgres(uow.session):
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROUND_LOCK})
    repairs = repair.repair_round(uow, policy, now)
    handed = intake.questions_lapsed(uow, policy, now)
    evaluation = evaluate(uow, policy, now)
    warn_late_orders(uow, policy, now, evaluation)
    # After the rules: the handover lists the alerts still open at the shift's end.
    made = handover.handover_round(uow, policy, now, evaluation)
    escalated = escalate(uow, policy, now)
    reminded = remind_at_shift_end(uow, policy, now)
    return TickResult(evaluation, escalated, reminded, repairs.redispatched, made.id if made else None,
                      repairs.escalated, handed)
