"""Charts as inline SVG: vector in the PDF, text extractable, drawn in the report's CJK face.

Small on purpose: the few chart shapes the monthly report needs, no plotting library, no GUI backend.
Coordinates are user units on a fixed canvas; the template scales the canvas to the column width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = "Noto Sans CJK SC"
INK, MUTED, GRID = "#1f2933", "#6b7785", "#d9dee3"
BLUE, ORANGE = "#1f5f99", "#e07b24"
# One colour per series of a line chart, told apart in print too (no two adjacent ones close in lightness).
SERIES = (BLUE, ORANGE, "#2e8b57", "#8e44ad", "#c0392b", "#5d6d7e", "#b7950b", "#17a2b8")
OTHER = "其他"


@dataclass(frozen=True)
class Canvas:
    width: int = 680
    height: int = 260
    left: int = 48
    right: int = 20
    top: int = 22
    bottom: int = 40

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


def _svg(canvas: Canvas, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {canvas.width} {canvas.height}" '
            f'font-family="{FONT}" font-size="12" fill="{INK}" role="img" aria-label="{escape(title)}">'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, *, anchor: str = "middle", size: float = 12, fill: str = INK,
          weight: str = "normal", rotate: float | None = None) -> str:
    transform = f' transform="rotate({rotate:.0f} {x:.1f} {y:.1f})"' if rotate is not None else ""
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{bold}'
            f"{transform}>{escape(s)}</text>")


def nice_ticks(value: float, *, intervals: int = 4, integer: bool = False, start: float = 0.0) -> list[float]:
    """Axis ticks from `start` up to a round top at or above `value`: distinct, evenly spaced by a step of
    1, 2, 2.5 or 5 times a power of ten (never below 1 when counting whole things), about `intervals` of
    them. 2 defects give 0, 1, 2 rather than 0, 0.5, 1, 1.5, 2 printed as "0, 0, 1, 2, 2"."""
    span = max(value - start, 0.0)
    if span <= 0:
        return [start, start + 1.0]
    raw = span / intervals
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if not integer or power >= 10 else (1, 2, 5, 10)
    step = next(k * power for k in steps if k * power >= raw - 1e-9)
    if integer:
        step = max(1.0, step)
    n = math.ceil(span / step - 1e-9)
    return [start + step * i for i in range(n + 1)]


def _grid(canvas: Canvas, ticks: Sequence[float], fmt: str) -> list[str]:
    """Grid lines and labels at `ticks` (the first at the bottom, the last at the top of the plot)."""
    out = []
    low, top = ticks[0], ticks[-1]
    for value in ticks:
        y = canvas.top + canvas.plot_h * (1 - (value - low) / (top - low))
        out.append(f'<line x1="{canvas.left}" y1="{y:.1f}" x2="{canvas.left + canvas.plot_w}" y2="{y:.1f}" '
                   f'stroke="{GRID}" stroke-width="1"/>')
        out.append(_text(canvas.left - 6, y + 4, fmt.format(value), anchor="end", size=10, fill=MUTED))
    return out


def _tick_format(ticks: Sequence[float], suffix: str = "") -> str:
    """As many decimals as the step needs, so no two ticks print alike."""
    step = ticks[1] - ticks[0]
    decimals = 0 if float(step).is_integer() else (1 if float(step * 10).is_integer() else 2)
    return "{:,." + str(decimals) + "f}" + suffix


def rate_trend(points: Sequence[tuple[str, float | None]], *, title: str, floor: float | None = None) -> str:
    """A percentage over months: a line with a marker and label per month; months without data leave a gap."""
    canvas = Canvas(height=190, top=18, bottom=30)
    known = [v for _, v in points if v is not None]
    # Start the axis near the data so a few points of change are visible; the top covers every point.
    high = max([100.0, *known])
    low = floor if floor is not None else (max(0.0, min(known) - 5) if known else 0.0)
    ticks = _rate_ticks(low, high)
    low, span = ticks[0], ticks[-1] - ticks[0]
    body = _grid(canvas, ticks, _tick_format(ticks, "%"))
    x_step = canvas.plot_w / max(1, len(points))
    xy: list[tuple[float, float] | None] = []
    for i, (label, point_value) in enumerate(points):
        x = canvas.left + x_step * (i + 0.5)
        body.append(_text(x, canvas.top + canvas.plot_h + 18, label, size=11))
        if point_value is None:
            xy.append(None)
            body.append(_text(x, canvas.top + canvas.plot_h - 6, "无应交", size=10, fill=MUTED))
            continue
        y = canvas.top + canvas.plot_h * (1 - (point_value - low) / span)
        xy.append((x, y))
    segment: list[str] = []
    for point in [*xy, None]:
        if point is None:
            if len(segment) > 1:
                body.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{BLUE}" stroke-width="2.5"/>')
            segment = []
        else:
            segment.append(f"{point[0]:.1f},{point[1]:.1f}")
    for point, (_, point_value) in zip(xy, points, strict=True):
        if point is not None and point_value is not None:
            body.append(f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="4" fill="{BLUE}"/>')
            body.append(_text(point[0], point[1] - 9, f"{point_value:.1f}%", size=11, weight="bold"))
    return _svg(canvas, body, title)


def _rate_ticks(low: float, high: float) -> list[float]:
    """Round percentage ticks from at or below `low` to at or above `high`, 10 or 20 apart: 40, 60, 80, 100
    rather than 30, 53, 77, and never two alike."""
    step = 10.0 if high - low <= 50 else 20.0
    start = math.floor(min(low, high - step) / step) * step
    end = math.ceil(high / step) * step
    return [start + step * i for i in range(round((end - start) / step) + 1)]


def pareto(bars: Sequence[tuple[str, int, float]], *, title: str, unit: str = "件") -> str:
    """Bars (label, count, cumulative % of all defects) largest first, the cumulative share as a line.

    A last bar labelled 其他… (the folded tail) is drawn too, in grey and with its share, so the line
    reaches 100% and a tail bigger than the causes named is seen for what it is.
    """
    canvas = Canvas(height=320, right=46, bottom=112)
    if not bars:
        return _svg(canvas, [_text(canvas.width / 2, canvas.height / 2, "本月无不良记录", fill=MUTED)], title)
    ticks = nice_ticks(max(count for _, count, _ in bars), integer=True)
    top = ticks[-1]
    body = _grid(canvas, ticks, _tick_format(ticks))
    for i in range(5):  # right axis: cumulative share
        y = canvas.top + canvas.plot_h * (1 - i / 4)
        body.append(_text(canvas.left + canvas.plot_w + 6, y + 4, f"{25 * i}%", anchor="start", size=10, fill=MUTED))
    y80 = canvas.top + canvas.plot_h * 0.2
    body.append(f'<line x1="{canvas.left}" y1="{y80:.1f}" x2="{canvas.left + canvas.plot_w}" y2="{y80:.1f}" '
                f'stroke="{ORANGE}" stroke-width="1" stroke-dasharray="4 3"/>')
    step = canvas.plot_w / len(bars)
    width = step * 0.62
    line = []
    previous = 0.0
    for i, (label, count, cumulative) in enumerate(bars):
        tail = i == len(bars) - 1 and label.startswith(OTHER)
        x = canvas.left + step * i + (step - width) / 2
        h = canvas.plot_h * count / top
        body.append(f'<rect x="{x:.1f}" y="{canvas.top + canvas.plot_h - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                    f'fill="{MUTED if tail else BLUE}"/>')
        shown = f"{count:,}（{cumulative - previous:.1f}%）" if tail else f"{count:,}"
        body.append(_text(x + width / 2, canvas.top + canvas.plot_h - h - 4, shown, size=8))
        previous = cumulative
        cx = x + width / 2
        body.append(_text(cx + 3, canvas.top + canvas.plot_h + 12, label, anchor="end", size=9, rotate=-45))
        line.append((cx, canvas.top + canvas.plot_h * (1 - cumulative / 100)))
    body.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in line)}" fill="none" '
                f'stroke="{ORANGE}" stroke-width="2"/>')
    for x, y in line:
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{ORANGE}"/>')
    body.append(_text(canvas.left, canvas.top - 8, f"不良数（{unit}）", anchor="start", size=10, fill=MUTED))
    body.append(_text(canvas.left + canvas.plot_w + canvas.right, canvas.top - 8, "累计占比", anchor="end", size=10,
                      fill=ORANGE))
    return _svg(canvas, body, title)


def horizontal_bars(rows: Sequence[tuple[str, float, str]], *, title: str, row_height: int = 20,
                    scale_to: float | None = None, reference: tuple[float, str] | None = None) -> str:
    """One bar per (label, value, value text) in the order given; labels left, values at the bar's end.

    `scale_to` fixes the full width (100 for a percentage), otherwise the largest value fills it;
    `reference` draws a dashed line at a value (e.g. the plant's own rate) with its label, and then the
    values go in a column right of the plot so the line never runs through them."""
    row_h = row_height
    extra = 16 if reference else 0
    canvas = Canvas(height=max(60, 16 + extra + row_h * len(rows)), left=190, right=130, top=8 + extra, bottom=8)
    if not rows:
        return _svg(canvas, [_text(canvas.width / 2, canvas.height / 2, "本月无数据", fill=MUTED)], title)
    top = scale_to or max(value for _, value, _ in rows) or 1
    body = []
    for i, (label, value, text) in enumerate(rows):
        y = canvas.top + i * row_h
        w = canvas.plot_w * value / top
        short = label if len(label) <= 14 else label[:13] + "…"
        baseline = y + row_h / 2 + 4
        body.append(_text(canvas.left - 8, baseline, short, anchor="end", size=11))
        body.append(f'<rect x="{canvas.left}" y="{y + 3:.1f}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
                    f'fill="{BLUE}"/>')
        value_x = canvas.left + (canvas.plot_w if reference else w) + 6
        body.append(_text(value_x, baseline, text, anchor="start", size=11))
    if reference is not None:
        x = canvas.left + canvas.plot_w * reference[0] / top
        body.append(f'<line x1="{x:.1f}" y1="{canvas.top - 4}" x2="{x:.1f}" y2="{canvas.top + row_h * len(rows)}" '
                    f'stroke="{ORANGE}" stroke-width="1.5" stroke-dasharray="4 3"/>')
        body.append(_text(x, canvas.top - 8, reference[1], size=10, fill=ORANGE))
    return _svg(canvas, body, title)


def percent_lines(series: Sequence[tuple[str, Sequence[float]]], *, x_labels: Sequence[str], title: str) -> str:
    """Percentages (0–100) of several series over the same steps, e.g. each workshop's weekly share.

    One coloured line per series, a legend above, each line's last value at its end (nudged apart when
    two end close together). The axis always runs 0–100%, so the curves compare at a glance. A series
    shorter than the labels (it started later) simply ends earlier."""
    canvas = Canvas(height=240, right=44, top=34, bottom=26)
    if not series or not x_labels:
        return _svg(canvas, [_text(canvas.width / 2, canvas.height / 2, "暂无数据", fill=MUTED)], title)
    body = _grid(canvas, [0.0, 25.0, 50.0, 75.0, 100.0], "{:.0f}%")
    step = canvas.plot_w / len(x_labels)
    for i, label in enumerate(x_labels):
        body.append(_text(canvas.left + step * (i + 0.5), canvas.top + canvas.plot_h + 16, label, size=9,
                          fill=MUTED))
    legend_x = float(canvas.left)
    ends: list[tuple[float, float, str, str]] = []  # x, y, text, colour of each line's last value
    for n, (name, values) in enumerate(series):
        colour = SERIES[n % len(SERIES)]
        body.append(f'<rect x="{legend_x:.1f}" y="{canvas.top - 22}" width="14" height="4" fill="{colour}"/>')
        body.append(_text(legend_x + 18, canvas.top - 16, name, anchor="start", size=10))
        legend_x += 18 + 11 * len(name) + 16
        shown = [min(max(v, 0.0), 100.0) for v in values[:len(x_labels)]]
        points = [(canvas.left + step * (i + 0.5), canvas.top + canvas.plot_h * (1 - v / 100))
                  for i, v in enumerate(shown)]
        if not points:
            continue
        if len(points) > 1:
            body.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" fill="none" '
                        f'stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        ends.append((points[-1][0], points[-1][1], f"{values[len(points) - 1]:.0f}%", colour))
    placed: dict[float, float] = {}  # per column of line ends, the lowest label yet; the next goes below
    for x, y, text, colour in sorted(ends, key=lambda e: (e[0], e[1])):
        y = max(y + 4, placed.get(x, -1e9) + 11)
        placed[x] = y
        body.append(_text(x + 6, y, text, anchor="start", size=10, fill=colour, weight="bold"))
    return _svg(canvas, body, title)
