"""Worker points: proportional to the work a report records, with a daily cap against farming.

POINTS_RULE says what one point is worth:
- `minute:30`: 30 standard minutes of work, at the work order's standard rate (its daily plan over the
  production day's working minutes), so an hour on a slow part earns what an hour on a fast one does;
- `piece:100`: 100 good pieces;
- `batch:1`: one point for every report that records good pieces (the size of the report does not count).

Points are counted per person and production day, not per report: the day's points are the floor of the
day's work in points, at most POINTS_DAILY_CAP, and a report earns what it adds to that. Ten reports of 10
pieces earn what one of 100 does (splitting gains nothing and loses nothing), and a correction moves the day's
points to what the corrected figures earn (domain/services/corrections.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from domain.errors import ConfigError

BASES = ("minute", "piece", "batch")
BASIS_LABELS = {"minute": "标准分钟", "piece": "件良品", "batch": "次报工"}
# The standard rate of a work order with no daily plan: its whole quantity over one production day.
FALLBACK_DAY_MINUTES = 720.0
# A sum of float shares may fall a hair under a whole point (0.1 + 0.2 …): counted as reached.
_EPS = 1e-9


@dataclass(frozen=True)
class PointsRule:
    basis: str = "minute"  # one of BASES
    amount: float = 30.0  # minutes or pieces per point; for batch, points per report

    def __str__(self) -> str:
        return f"{self.basis}:{self.amount:g}"

    def describe(self, cap: int) -> str:
        """The rule as a worker reads it."""
        if self.basis == "batch":
            text = f"每次报工（有良品）得 {self.amount:g} 分"
        elif self.basis == "piece":
            text = f"每 {self.amount:g} 件良品得 1 分"
        else:
            text = f"按标准工时计分：每 {self.amount:g} 标准分钟（按工单日计划产能折算）得 1 分"
        return f"{text}，每天最多 {cap} 分；只报不良不得分。"

    def share(self, good_qty: int, *, daily_plan_qty: int, day_minutes: float) -> float:
        """What one report's good pieces are worth in points, before the day's floor and cap."""
        if good_qty <= 0:
            return 0.0
        if self.basis == "batch":
            return self.amount
        if self.basis == "piece":
            return good_qty / self.amount
        per_minute = daily_plan_qty / (day_minutes or FALLBACK_DAY_MINUTES)
        if per_minute <= 0:
            return 0.0
        return good_qty / per_minute / self.amount


def parse_points_rule(text: str, name: str = "POINTS_RULE") -> PointsRule:
    """"minute:30", "piece:100" or "batch:1"."""
    basis, _, amount = text.strip().partition(":")
    basis = basis.strip().lower()
    if basis not in BASES:
        raise ConfigError(f"{name}: 应写作 minute:30（每 30 标准分钟 1 分）、piece:100（每 100 件良品 1 分）"
                          f"或 batch:1（每次报工 1 分），不认识 {text!r}")
    try:
        value = float(amount) if amount.strip() else 1.0
    except ValueError:
        raise ConfigError(f"{name}: {amount!r} 不是数字") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: 数值必须大于 0")
    return PointsRule(basis, value)


def day_points(shares: Iterable[float], cap: int) -> int:
    """A person's points for a production day from the shares of all its reports."""
    return max(0, min(cap, math.floor(sum(shares) + _EPS)))


def points_earned(shares_before: Iterable[float], points_before: int, share: float, cap: int) -> int:
    """What a new report earns: the day's points with it, less the points the day's reports already hold.
    Never negative for a new report (a day already over the cap, after a rule change, earns 0)."""
    before = list(shares_before)
    return max(0, day_points([*before, share], cap) - points_before)
