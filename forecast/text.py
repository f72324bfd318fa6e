"""Forecast results → the short Chinese phrases people read in chat, on cards and on the board."""

from __future__ import annotations

from datetime import date

from forecast.projection import LineForecast, OrderForecast, Risk


def eta_text(line: LineForecast) -> str:
    """预计 11-28 完工 · 停机中，恢复后最早 11-26 完工 · 已于 11-20 完工."""
    if line.done and line.finish_day is not None:
        return f"已于 {line.finish_day:%m-%d} 完工"
    if line.finish_day is None:
        return f"停机中，恢复后最早 {line.earliest_day:%m-%d} 完工" if line.earliest_day else "停机中"
    return f"预计 {line.finish_day:%m-%d} 完工"


def risk_text(line: LineForecast, today: date | None = None) -> str:
    """会逾期 3 天 · 有风险（余 1 天）· 按期（余 5 天）; a stopped line is judged by its earliest restart.
    Given today, a line already past its due date says by how much: 已逾期 2 天 (its eta says when it will
    finish; "会逾期" would speak of a lateness that has already happened)."""
    slack = line.slack_days
    if today is not None and line.line.due < today and not line.done:
        return f"已逾期 {(today - line.line.due).days} 天"
    if line.risk == Risk.LATE:
        return f"{'至少' if line.stopped else ''}会逾期 {-slack} 天"
    if line.risk == Risk.AT_RISK:
        return "有风险" if line.stopped else "有风险（交期当天完工）" if slack == 0 else f"有风险（余 {slack} 天）"
    return f"按期（余 {slack} 天）"


def order_finish_text(order: OrderForecast) -> str:
    """When the order will now be made: 预计 12-10 完工 · 停机中，恢复后最早 12-10 完工 · 已全部完工."""
    if order.done:
        return "已全部完工"
    if order.ship_day is not None:
        return f"预计 {order.ship_day:%m-%d} 完工"
    days = [ln.finish_day or ln.earliest_day for ln in order.lines if not ln.done]
    known = [d for d in days if d is not None]
    return f"停机中，恢复后最早 {max(known):%m-%d} 完工" if known and len(known) == len(days) else "停机中"


def overdue_text(days_late: int, order: OrderForecast | None = None, *, done: bool = False) -> str:
    """An order past its due date: 已逾期 5 天，预计 12-10 完工 — how late it is and when it will now finish,
    in place of any 会逾期 (which speaks of a lateness still to come). done: its late lines were all made (or
    shipped), so the delay is final: 逾期 5 天完工."""
    if done:
        return f"逾期 {days_late} 天完工"
    late = f"已逾期 {days_late} 天"
    return f"{late}，{order_finish_text(order)}" if order is not None else late


def overdue_days(order: OrderForecast, today: date) -> int:
    """Days past the earliest due date of an order still in work (0: none is past due or all is made). A line
    made but past due counts, as on the order's page: the order is late until it ships."""
    if order.done:
        return 0
    return max(((today - ln.line.due).days for ln in order.lines if ln.line.due < today), default=0)


def order_forecast_text(order: OrderForecast, today: date | None = None) -> str:
    """The line an order query shows under 交期."""
    worst = order.worst
    if order.done:
        return f"预计完工：已全部完工（{order.ship_day:%Y-%m-%d}）" if order.ship_day else "预计完工：已全部完工"
    ship = order.ship_day
    head = f"预计完工：{ship:%Y-%m-%d}" if ship else f"预计完工：{eta_text(worst)}"
    return f"{head} · {risk_text(worst, today)}"


def due_text(line: LineForecast) -> str:
    """预计完工 row of a warning card: 12-03（交期 11-30，晚 3 天）."""
    due = f"交期 {line.line.due:%m-%d}"
    if line.stopped:
        return f"停机中，最早 {line.earliest_day:%m-%d}（{due}）" if line.earliest_day else f"停机中（{due}）"
    if line.slack_days < 0:
        return f"{line.finish_day:%m-%d}（{due}，晚 {-line.slack_days} 天）"
    return f"{line.finish_day:%m-%d}（{due}，余 {line.slack_days} 天）"
