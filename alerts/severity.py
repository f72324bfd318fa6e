"""How serious an alert is, and so whether the top of the chain (the executives) is woken for it.

An alert gets its severity once, when it fires: ALERT_SEVERITY gives it per rule (a rule not listed is
normal). A shop-floor exception is one rule for many kinds of report, and only an equipment fault stops a
press: the rule's configured "severe" applies to 设备故障, the other types (品质异常, 材料不符 …) are normal.
A configured "critical" applies to every exception: whoever sets that wants all of them to reach the top.

Executives hear of severe and critical alerts only, and inside the quiet hours (plant time, which may cross
midnight) of critical ones only. What is held back waits one level below; a quiet-hours hold climbs at the
first round after the quiet hours end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from alerts.policy import AlertPolicy
from alerts.rules import EXCEPTION
from domain.vocab import Role

NORMAL, SEVERE, CRITICAL = "normal", "severe", "critical"
FAULT = "设备故障"
LABELS = {SEVERE: "严重", CRITICAL: "紧急"}


def severity_of(policy: AlertPolicy, rule: str, facts: Mapping[str, Any]) -> str:
    level = policy.severity.get(rule, NORMAL)
    if rule == EXCEPTION and level == SEVERE and str(facts.get("类型") or "") != FAULT:
        return NORMAL
    return level if level in (NORMAL, SEVERE, CRITICAL) else NORMAL


def in_quiet_hours(policy: AlertPolicy, now: datetime) -> bool:
    if policy.quiet_hours is None:
        return False
    start, end = policy.quiet_hours
    t = policy.local(now).time().replace(tzinfo=None)
    return _within(t, start, end)


def _within(t: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end  # across midnight: 22:00-07:00


def is_executive_level(policy: AlertPolicy, level: int) -> bool:
    return Role.EXECUTIVE in policy.level_roles(level)


def may_climb_to(policy: AlertPolicy, level: int, severity: str, now: datetime) -> bool:
    """Whether an alert of this severity may be raised to this level of the chain now."""
    if not is_executive_level(policy, level):
        return True
    if severity == CRITICAL:
        return True
    return severity == SEVERE and not in_quiet_hours(policy, now)
