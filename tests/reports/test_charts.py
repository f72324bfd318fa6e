"""The monthly report's charts read as SVG text: axis ticks distinct, round and covering the top; the
Pareto's folded tail (其他) drawn as its own bar. As seen: "0, 0, 1, 2, 2" on the axis for 2 defects, and
a 其他 share of 59.7 % in a 10,000-order month not drawn."""

from __future__ import annotations

import re

import pytest

from reports.charts import BLUE, MUTED, pareto, rate_trend

TICK = re.compile(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end" font-size="10" fill="#6b7785">([^<]+)</text>')


def left_ticks(svg: str) -> list[str]:
    """The left axis' labels, bottom to top."""
    return TICK.findall(svg)


@pytest.mark.parametrize(("top", "ticks"), [
    (2, ["0", "1", "2"]),
    (1, ["0", "1"]),
    (3, ["0", "1", "2", "3"]),
    (7, ["0", "2", "4", "6", "8"]),
    (118, ["0", "50", "100", "150"]),
    (1234, ["0", "500", "1,000", "1,500"]),
])
def test_pareto_ticks_are_distinct_round_and_cover_the_top(top, ticks) -> None:
    svg = pareto([("电饭煲上盖 M-012", top, 100.0)], title="不良柏拉图")
    assert left_ticks(svg) == ticks


@pytest.mark.parametrize("top", range(1, 400, 7))
def test_pareto_ticks_never_repeat(top) -> None:
    ticks = left_ticks(pareto([("a", top, 60.0), ("b", max(1, top // 3), 100.0)], title="t"))
    assert len(ticks) == len(set(ticks)) >= 2
    assert float(ticks[-1].replace(",", "")) >= top


@pytest.mark.parametrize(("rates", "ticks"), [
    ([100.0, 100.0, 100.0], ["90%", "100%"]),
    ([94.7, 92.5, None], ["80%", "90%", "100%"]),
    ([40.0, 86.7, 91.0], ["20%", "40%", "60%", "80%", "100%"]),
])
def test_trend_ticks_are_distinct_percentages(rates, ticks) -> None:
    svg = rate_trend([(f"{m}月", r) for m, r in zip((9, 10, 11), rates, strict=True)], title="交期达成率趋势")
    assert left_ticks(svg) == ticks


def test_the_pareto_draws_its_folded_tail_as_a_bar_with_its_share() -> None:
    bars = [("电饭煲上盖 M-012", 300, 30.3), ("空调面板 M-007", 99, 40.3), ("其他 212 项", 591, 100.0)]
    svg = pareto(bars, title="不良柏拉图")
    rects = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="([^"]+)"/>', svg)
    assert [fill for _, fill in rects] == [BLUE, BLUE, MUTED]
    assert float(rects[2][0]) > float(rects[0][0])  # the tail is the tallest bar, as it is
    assert "其他 212 项" in svg and "591（59.7%）" in svg
