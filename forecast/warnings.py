"""交期预警: the alert rule fed by the forecast. Part of every alert round (alerts/tick.py).

An order is warned when it moves to 会逾期, or to 有风险 within `warn_days` of its due date. The subject is
the order and the level, so each level fires once and a change of level fires anew. A warning someone
closed (已处理) while the forecast still says the same is not raised again until the level has changed
in between: the planner moved the mould, and the new speed takes a day to show in the forecast.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from alerts.engine import EvalResult, send_alert_card
from alerts.policy import AlertPolicy
from alerts.rules import LATE_FORECAST, Finding
from alerts.store import CLEARED, clear, fire
from domain.models import Alert, RepairTicket, SalesOrder, ShopException, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, ExceptionStatus, TicketStatus
from forecast.explain import order_reasons
from forecast.projection import OrderForecast, Projector, Risk, forecast_orders, warning_level
from forecast.store import load_snapshot, screen_open_orders
from forecast.suggest import Interval, press_busy, suggest
from forecast.text import due_text

# Added to the resolution of a warning a person closed, once its level has gone away: the level may fire
# again. It reads as what happened ("已处理，预测已解除") wherever the resolution is shown.
REARMED = "，预测已解除"
BREAKDOWN = "设备故障"
CARD_VALUE_CHARS = 40  # alerts/cards.py shows this much of a fact
# A closed warning older than this cannot hold anything back: its order is long finished.
MEMORY = timedelta(days=120)


def subject_key(bill_no: str, level: Risk) -> str:
    return f"forecast:{bill_no}:{level.value}"


def warn_late_orders(uow: UnitOfWork, policy: AlertPolicy, now: datetime, result: EvalResult) -> None:
    fp = policy.forecast
    today = fp.calendar.production_day(now)
    latest = _latest(uow, now)
    # Most orders are comfortably on time: a cheap check sets them aside before the full projection. An
    # order with a warning in force is always projected, so its warning can follow it or clear.
    unsure, history = screen_open_orders(uow, fp, now)
    held = {key.split(":")[1] for key, alert in latest.items() if _holds(alert)}
    if held:
        unsure |= set(uow.session.scalars(select(SalesOrder.id).where(SalesOrder.bill_no.in_(held))))
    snap = load_snapshot(uow, fp, now, order_ids=unsure, history=history) if unsure else None
    forecasts = forecast_orders(snap.lines, snap.work_orders, now, fp, history) if snap else []
    warned = []
    for order in forecasts:
        level = warning_level(order, today, fp)
        if level is None:
            continue
        # Back from 会逾期 to 有风险 is no news: the 会逾期 warning stays (its facts follow the forecast).
        if level == Risk.AT_RISK and _holds(latest.get(subject_key(order.bill_no, Risk.LATE))):
            level = Risk.LATE
        warned.append((order, level))
    findings = _findings(uow, policy, warned, now) if warned else []
    past_due = {subject_key(o.bill_no, level) for o, level in warned if o.worst.line.due < today}
    _apply_once(uow, policy, latest, findings, now, result, past_due)
    count = uow.session.scalar(select(func.count()).select_from(Alert).where(
        Alert.rule == LATE_FORECAST, Alert.status != AlertStatus.CLOSED)) or 0
    if count:
        result.by_rule[LATE_FORECAST] = count
    else:
        result.by_rule.pop(LATE_FORECAST, None)


def _findings(uow: UnitOfWork, policy: AlertPolicy, warned: list[tuple[OrderForecast, Risk]],
              now: datetime) -> list[Finding]:
    fp = policy.forecast
    moulds = {o.worst.bottleneck.facts.mould for o, _ in warned} - {None}
    presses: dict[str, set[str]] = defaultdict(set)
    for mould, machine in uow.session.execute(
            select(WorkOrder.mould, WorkOrder.machine).distinct()
            .where(WorkOrder.mould.in_(moulds), WorkOrder.machine.is_not(None))):
        if mould is not None and machine is not None:  # always: both are filtered in the query
            presses[mould].add(machine)
    down = _presses_down(uow)
    # When the presses that could take a mould are busy: projected for the work orders on them only.
    candidates = set().union(*presses.values()) - down if presses else set()
    busy: dict[str, list[Interval]] = {}
    if candidates:
        on_them = load_snapshot(uow, fp, now, machines=candidates)
        projector = Projector(now, fp, on_them.history)
        busy = press_busy(projector.project(f) for f in on_them.work_orders)
    out = []
    for order, level in warned:
        line = order.worst
        wo = line.bottleneck
        f = wo.facts
        usable = presses.get(f.mould or "", set()) - down
        usable_busy: dict[str, list[Interval]] = {p: busy.get(p, []) for p in usable}
        advice = suggest(wo, line.line.due, now, fp, usable, usable_busy)
        why = _fit(order_reasons(order, now, fp, policy.defect_limit_pct)) or "-"
        facts = {"订单": f"{order.bill_no} {order.customer}", "预计完工": due_text(line), "原因": why,
                 "建议": advice.text, "工单": f.code, "机台": f.machine or "-"}
        if not advice.acts:  # nothing to suggest: no row that only says so
            del facts["建议"]
        out.append(Finding(LATE_FORECAST, subject_key(order.bill_no, level), _title(order, level), f.workshop, facts))
    return out


def _fit(reasons: list[str], limit: int = CARD_VALUE_CHARS) -> str:
    """As many whole reasons as a card row shows, the first always."""
    out = reasons[:1]
    for reason in reasons[1:]:
        if len("；".join([*out, reason])) <= limit:
            out.append(reason)
    return "；".join(out)


def _title(order: OrderForecast, level: Risk) -> str:
    line = order.worst
    if level == Risk.LATE:
        late = -line.slack_days
        return f"{order.bill_no} 停机中，至少晚 {late} 天交货" if line.stopped else f"{order.bill_no} 预计晚 {late} 天交货"
    if line.stopped:
        return f"{order.bill_no} 停机中，交期 {line.line.due:%m-%d} 有风险"
    return f"{order.bill_no} 交期 {line.line.due:%m-%d} 有风险（余 {line.slack_days} 天）"


def _presses_down(uow: UnitOfWork) -> set[str]:
    """Presses with an open breakdown or repair: no use suggesting them."""
    broken = set(uow.session.scalars(
        select(WorkOrder.machine).join(ShopException, ShopException.work_order_id == WorkOrder.id)
        .where(ShopException.type == BREAKDOWN, ShopException.status != ExceptionStatus.CLOSED)))
    repairing = set(uow.session.scalars(
        select(RepairTicket.machine).where(RepairTicket.status != TicketStatus.DONE)))
    return {m for m in broken | repairing if m}


def _latest(uow: UnitOfWork, now: datetime) -> dict[str, Alert]:
    """Per subject, the warning that decides what happens next: an open one, or one a person closed."""
    latest: dict[str, Alert] = {}
    for alert in uow.session.scalars(
            select(Alert).where(Alert.rule == LATE_FORECAST, or_(
                Alert.status != AlertStatus.CLOSED,
                and_(or_(Alert.resolution.is_(None), Alert.resolution != CLEARED), Alert.closed_at >= now - MEMORY)))
            .order_by(Alert.id)):
        latest[alert.subject_key] = alert
    return latest


def _holds(alert: Alert | None) -> bool:
    """Still in force: open, or closed by a person and not re-armed since."""
    return alert is not None and (alert.status != AlertStatus.CLOSED or not _rearmed(alert))


def _rearmed(alert: Alert) -> bool:
    return (alert.resolution or "").endswith(REARMED)


def _apply_once(uow: UnitOfWork, policy: AlertPolicy, latest: dict[str, Alert], findings: Iterable[Finding],
                now: datetime, result: EvalResult, past_due: set[str]) -> None:
    """engine.apply, except that a warning closed by a person stays quiet until its level has changed, and an
    order already past its due date gets no new warning (it is plainly late by then) but keeps an open one."""
    found = set()
    for f in findings:
        found.add(f.subject_key)
        current = latest.get(f.subject_key)
        if current is not None and current.status != AlertStatus.CLOSED:
            if current.facts != dict(f.facts):
                current.facts = dict(f.facts)
            continue
        if current is not None and not _rearmed(current):
            continue  # closed by a person while this level held: once per order and level
        if f.subject_key in past_due:
            continue
        fired = fire(uow, rule=LATE_FORECAST, subject_key=f.subject_key, title=f.title, now=now,
                     facts=dict(f.facts), workshop=f.workshop, known_absent=True)
        result.fired.append(fired.alert_id)
        alert = uow.session.get(Alert, fired.alert_id)
        assert alert is not None
        send_alert_card(uow, policy, alert, level=0, now=now)
    for subject, alert in latest.items():
        if subject in found:
            continue
        if alert.status != AlertStatus.CLOSED:
            cleared = clear(uow, rule=LATE_FORECAST, subject_key=subject, now=now)
            if cleared is not None:
                result.cleared.append(cleared)
        elif not _rearmed(alert):
            alert.resolution = f"{alert.resolution or '已处理'}{REARMED}"[:100]
