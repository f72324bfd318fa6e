"""One scheduled round: evaluate the rules, escalate, remind, re-dispatch repairs. Sending is separate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts import repair
from alerts.engine import EvalResult, evaluate
from alerts.escalation import escalate, remind_at_shift_end
from alerts.policy import AlertPolicy
from domain.uow import UnitOfWork


@dataclass(frozen=True)
class TickResult:
    evaluation: EvalResult
    escalated: list[int]
    reminded: list[int]
    redispatched: list[int]


def tick(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> TickResult:
    redispatched = repair.redispatch_unanswered(uow, policy, now)
    evaluation = evaluate(uow, policy, now)
    escalated = escalate(uow, policy, now)
    reminded = remind_at_shift_end(uow, policy, now)
    return TickResult(evaluation, escalated, reminded, redispatched)
