"""The 月度订单达成分析表 as a PDF: Jinja2 → HTML with inline SVG charts → weasyprint (through reports.pdf)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from alerts.rules import RULE_LABELS
from reports import charts, fmt
from reports.delivery import OnTime
from reports.highlights import highlights
from reports.monthly import MonthlyReport, TrendPoint
from reports.pdf import html_to_pdf
from reports.production import QualityRow

# Long lists are cut in the PDF so a big month stays a readable handful of pages; the workbook has every row.
TOP_CUSTOMERS = 25
TOP_PRODUCTS = 30
TOP_LATE = 40
TOP_QUALITY = 30
CHART_CUSTOMERS = 15


@dataclass(frozen=True)
class Folded:
    """A table cut to its first rows, with the rest summed into one row."""

    rows: list[Any]
    rest: Any | None
    rest_count: int


def _sum_on_time(items: list[OnTime]) -> OnTime:
    return OnTime(*(sum(getattr(o, f) for o in items) for f in ("due", "on_time", "late", "pending", "due_qty",
                                                                   "orders")))


def fold_on_time(rows: list[tuple[str, OnTime]], top: int) -> Folded:
    tail = [o for _, o in rows[top:]]
    return Folded(rows[:top], _sum_on_time(tail) if tail else None, len(tail))


def fold_quality(rows: list[QualityRow], top: int) -> Folded:
    tail = rows[top:]
    if not tail:
        return Folded(rows, None, 0)
    rest = QualityRow("", f"其他 {len(tail)} 项", "", sum(r.moulded_good for r in tail),
                      sum(r.moulded_defect for r in tail), sum(r.later_defect for r in tail),
                      sum(r.finished_good for r in tail))
    return Folded(rows[:top], rest, len(tail))


def worst_first(rows: list[tuple[str, OnTime]]) -> list[tuple[str, OnTime]]:
    """Judged customers, the lowest rate first: the chart is read for who needs a call."""
    judged = [(name, o) for name, o in rows if o.rate_pct is not None]
    return sorted(judged, key=lambda r: (r[1].rate_pct, -r[1].due, r[0]))


def shown_trend(trend: list[TrendPoint]) -> list[TrendPoint]:
    """The trend without the empty months before the store's first data (a new plant has no history)."""
    for i, p in enumerate(trend):
        if p.received_orders or p.due_lines or p.finished_good or p.shipped_orders:
            return trend[i:]
    return trend[-1:]


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=fmt.pct, num=fmt.num, minutes=fmt.minutes, day=fmt.day)
    env.globals.update(points=fmt.points, change=fmt.change)
    return env


def adoption_weeks(r: MonthlyReport) -> list[str]:
    """The week labels of the adoption curve: as many as the longest workshop's curve (at most 13)."""
    longest = max((len(c) for c in r.usage.adoption.values()), default=0) if r.usage else 0
    return [f"第{i}周" for i in range(1, longest + 1)]


def monthly_html(r: MonthlyReport, *, generated_on: date | None = None) -> str:
    trend = shown_trend(r.trend)
    customers = r.received_by_customer[:CHART_CUSTOMERS]
    weeks = adoption_weeks(r)
    context = {
        "r": r,
        "title": f"月度订单达成分析表 · {r.month.label}",
        "generated_on": generated_on or r.as_of,
        "highlights": highlights(r),
        "trend": trend,
        "by_customer": fold_on_time(r.on_time_by_customer, TOP_CUSTOMERS),
        "by_product": fold_on_time(r.on_time_by_product, TOP_PRODUCTS),
        "late": r.late[:TOP_LATE],
        "quality": fold_quality(r.quality, TOP_QUALITY),
        "rule_labels": RULE_LABELS,
        "top": {"late": TOP_LATE, "customers": CHART_CUSTOMERS},
        "trend_chart": Markup(charts.rate_trend(
            [(p.month.short_label, p.on_time_pct) for p in trend], title="交期达成率趋势")),
        "customer_chart": Markup(charts.horizontal_bars(
            [(c.customer, c.orders, f"{c.orders} 单 · {fmt.num(c.qty)} 件") for c in customers],
            title="各客户接单")),
        "customer_rate_chart": Markup(charts.horizontal_bars(
            [(name, o.rate_pct or 0.0, f"{fmt.pct(o.rate_pct)}（{o.on_time}/{o.judged} 行）")
             for name, o in worst_first(r.on_time_by_customer[:CHART_CUSTOMERS])],
            title="各客户交期达成率", row_height=17, scale_to=100.0,
            reference=(r.on_time.rate_pct, f"全厂 {fmt.pct(r.on_time.rate_pct)}")
            if r.on_time.rate_pct is not None else None)),
        "usage_chart": Markup(charts.horizontal_bars(
            [(g.label, g.share_pct, f"{g.mean_daily_active:.1f}/{g.enrolled} 人（{g.share_pct:.0f}%）")
             for g in (r.usage.by_workshop + r.usage.by_role if r.usage else [])],
            title="日均活跃占比（按车间、按角色）", row_height=17, scale_to=100.0)),
        "adoption_weeks": weeks,
        "adoption_chart": Markup(charts.percent_lines(
            list(r.usage.adoption.items()) if r.usage else [], x_labels=weeks,
            title="上线曲线（各车间上线后前 90 天，每周日均活跃占比）")),
        "pareto_chart": Markup(charts.pareto(
            [(b.label, b.defects, b.cumulative_pct) for b in r.pareto], title="不良柏拉图")),
    }
    return _env().get_template("monthly.html").render(**context)


def render_monthly_pdf(r: MonthlyReport, *, generated_on: date | None = None) -> bytes:
    return html_to_pdf(monthly_html(r, generated_on=generated_on))


def filename(r: MonthlyReport, ext: str = "pdf") -> str:
    return f"月度订单达成分析表-{r.month.iso}.{ext}"
