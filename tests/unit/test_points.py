"""Points follow the work (domain/points.py): per person and production day, floored, capped."""

from __future__ import annotations

import pytest

from domain.errors import ConfigError
from domain.points import PointsRule, day_points, parse_points_rule, points_earned

# A work order of 1000 a day over a 720-minute production day: 1.39 pieces a standard minute.
MINUTE = PointsRule("minute", 30)


def share(good: int, rule: PointsRule = MINUTE) -> float:
    return rule.share(good, daily_plan_qty=1000, day_minutes=720)


def test_a_small_report_earns_what_it_is_worth_not_a_point_for_reporting():
    # The issue saw 良品 3 → +1 (one point per report whatever its size): 3 pieces are 2 standard minutes.
    assert points_earned([], 0, share(3), cap=30) == 0
    assert points_earned([], 0, share(0), cap=30) == 0  # defects only
    assert points_earned([], 0, share(300), cap=30) == 7  # 216 minutes: 7.2 points


def test_splitting_a_report_gains_nothing_and_loses_nothing():
    whole = day_points([share(100)] * 10, cap=30)
    assert whole == day_points([share(1000)], cap=30) == 24
    held = 0
    shares: list[float] = []
    for _ in range(10):
        earned = points_earned(shares, held, share(100), cap=30)
        shares.append(share(100))
        held += earned
    assert held == whole


def test_the_daily_cap_stops_farming():
    assert day_points([share(5000)], cap=30) == 30
    assert points_earned([share(5000)], 30, share(1000), cap=30) == 0


@pytest.mark.parametrize(("text", "rule"), [("minute:30", PointsRule("minute", 30)),
                                            ("piece:100", PointsRule("piece", 100)),
                                            ("batch", PointsRule("batch", 1))])
def test_the_rule_is_read_from_its_setting(text, rule):
    assert parse_points_rule(text) == rule


@pytest.mark.parametrize("text", ["hour:1", "minute:0", "piece:x", "minute:-5"])
def test_a_bad_rule_is_refused_in_chinese(text):
    with pytest.raises(ConfigError, match="POINTS_RULE"):
        parse_points_rule(text)


def test_per_piece_and_per_batch():
    piece, batch = PointsRule("piece", 100), PointsRule("batch", 1)
    assert day_points([share(250, piece), share(60, piece)], cap=30) == 3
    assert day_points([share(3, batch), share(0, batch), share(900, batch)], cap=30) == 2
