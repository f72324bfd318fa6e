"""Evaluate every rule against the store, fire what is found, clear what is no longer found, queue cards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, exists, func, select

from alerts import rules
from alerts.card_updates import queue_refresh
from alerts.cards import alert_card, people_by_id
from alerts.outbox import queue_card
from alerts.policy import AlertPolicy
from alerts.routing import recipients
from alerts.rules import Finding
from alerts.severity import severity_of
from alerts.store import card_holders, clear, fire, in_force, rearm
from domain.models import (
    Alert,
    AlertCard,
    Operation,
    Person,
    Product,
    RepairTicket,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    SyncState,
    WorkOrder,
    WorkReport,
)
from domain.services.shift_output import press_output, workshop_output
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, ExceptionStatus, TicketStatus, WorkOrderStatus
from wecom.cards import make_task_id

LIVE = (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS)


@dataclass
class EvalResult:
    fired: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)  # open alerts per rule after this run


def send_alert_card(uow: UnitOfWork, policy: AlertPolicy, alert: Alert, *, level: int, now: datetime,
                    userids: list[str] | None = None, prefix: str = "") -> AlertCard | None:
    """Queue a card of this alert to the level's recipients (or the given people), remembered for updates.

    One card per alert per person: whoever already has one is left out (their card is updated in place
    instead, alerts/card_updates.py). None when nobody is left to send to.
    """
    wanted = userids if userids is not None else recipients(
        uow, policy, rule=alert.rule, workshop=alert.workshop, level=level, now=now)
    have = card_holders(uow, alert.id)
    users = sorted({u for u in wanted if u} - have)
    if not users:
        return None
    n = uow.session.scalar(select(func.count()).select_from(AlertCard).where(AlertCard.alert_id == alert.id)) or 0
    row = AlertCard(alert_id=alert.id, task_id=make_task_id("alert", alert.id, level, n + 1),
                    userids="|".join(users), level=level)
    uow.session.add(row)
    uow.session.flush()
    people = people_by_id(uow, {alert.acknowledged_by_id, alert.closed_by_id})
    queue_card(uow, users, alert_card(alert, task_id=row.task_id, policy=policy, people=people, prefix=prefix),
               now, alert_card_id=row.id)
    return row


def apply(uow: UnitOfWork, policy: AlertPolicy, rule: str, findings: list[Finding], now: datetime,
          result: EvalResult, *, keep: set[str] | None = None, clear_missing: bool = True,
          each_new: bool = False) -> None:
    """Fire the findings of one rule and clear its other open alerts (except subjects in `keep`).

    A subject whose alert a person closed stays quiet while it is still found, and is re-armed once it is
    not: closing an alert by hand is not a way to get the same card again at the next round.
    clear_missing=False fires only: for one new fact (an exception just opened) among others not looked at.
    each_new: every finding is a new occurrence (rows KIS rejected in this run), so a closed alert holds
    nothing back.
    """
    # One query for the rule's alerts in force instead of one per finding: rounds stay fast with thousands open.
    latest = in_force(uow, rule, now)
    found = {f.subject_key for f in findings}
    for f in findings:
        current = latest.get(f.subject_key)
        if current is not None and current.status != AlertStatus.CLOSED:
            if current.facts != dict(f.facts):
                current.facts = dict(f.facts)
            continue
        if current is not None and not each_new:
            continue  # closed by hand while the condition still holds: quiet until it clears
        fired = fire(uow, rule=rule, subject_key=f.subject_key, title=f.title, now=now, facts=dict(f.facts),
                     workshop=f.workshop, known_absent=True, severity=severity_of(policy, rule, f.facts))
        result.fired.append(fired.alert_id)
        alert = uow.session.get(Alert, fired.alert_id)
        assert alert is not None
        send_alert_card(uow, policy, alert, level=0, now=now)
    if not clear_missing:
        return
    for subject in set(latest) - found - (keep or set()):
        alert = latest[subject]
        if alert.status == AlertStatus.CLOSED:
            rearm(alert)
            continue
        cleared = clear(uow, rule=rule, subject_key=subject, now=now)
        if cleared is not None:
            result.cleared.append(cleared)
            # The cards still offer 认领 / 已处理 on something that is over: they show it closed.
            queue_refresh(uow, policy, alert, now, reason="cleared")


def evaluate(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> EvalResult:
    result = EvalResult()
    late = rules.late_starts(_unstarted(uow, policy, now), now, policy)
    if rules.plant_closed(now, policy):
        # No verdict on a closed day: nothing new fires, and the alerts still true stay as they are (a work
        # order someone did start today clears as usual).
        apply(uow, policy, rules.LATE_START, [], now, result, keep={f.subject_key for f in late})
    else:
        apply(uow, policy, rules.LATE_START, late, now, result)
    if policy.plant.multi_shift:
        evaluate_shift_plans(uow, policy, now, result)
    else:
        today = policy.local(now).date()
        plan_findings, verdict = rules.plan_behind(_workshop_days(uow, policy, now), now, policy)
        # Before the first checkpoint there is no verdict on today: keep today's alerts, clear older days'.
        keep = set() if verdict else {f"plan:{w}:{today.isoformat()}" for w in _workshops(uow)}
        apply(uow, policy, rules.PLAN_BEHIND, plan_findings, now, result, keep=keep)
    apply(uow, policy, rules.DEFECT_STREAK, rules.defect_streaks(_quality_runs(uow, policy), policy), now, result)
    apply(uow, policy, rules.EXCEPTION, rules.exceptions_open(_open_exceptions(uow), policy), now, result)
    apply(uow, policy, rules.REPAIR_UNANSWERED,
          rules.repairs_unanswered(_waiting_tickets(uow), now, policy), now, result)
    evaluate_kis_sync(uow, policy, now, result)
    uow.flush()
    result.by_rule = dict(uow.session.execute(
        select(Alert.rule, func.count()).where(Alert.status != AlertStatus.CLOSED).group_by(Alert.rule)).all())
    return result


def evaluate_shift_plans(uow: UnitOfWork, policy: AlertPolicy, now: datetime, result: EvalResult) -> None:
    """当日计划完成率 per shift of the production day: each shift is judged from its own first checkpoint on,
    against its share of the day plan (shift_output, the figure the handover and the board show).

    A shift before its first checkpoint (or not begun, or on a rest day) gives no verdict: its alerts stay.
    A finished shift is still judged (its figure no longer moves, so its alert stays) while its production
    day lasts and while it is the last shift that ended: the night's shortfall is still open at 08:00, when
    the round lists it on the night's handover and reminds the incoming shift of it, although the
    production day changed. Other alerts of earlier production days clear.
    """
    calendar = policy.plant
    judged: list[rules.WorkshopShift] = []
    keep: set[str] = set()
    workshops = _workshops(uow)
    shifts = list(calendar.shifts(calendar.production_day(now)))
    ended = calendar.previous_shift(now)
    if ended is not None and ended.key not in {s.key for s in shifts}:
        shifts.insert(0, ended)
    for shift in shifts:
        if rules.shift_checkpoint(shift, now, policy.checkpoints) is None:
            keep |= {rules.shift_plan_key(w, shift) for w in workshops}
            continue
        for ws, (planned, good) in workshop_output(press_output(uow, calendar, shift)).items():
            judged.append(rules.WorkshopShift(ws, shift, planned, good))
    apply(uow, policy, rules.PLAN_BEHIND, rules.shift_plan_behind(judged, now, policy), now, result, keep=keep)


def evaluate_kis_sync(uow: UnitOfWork, policy: AlertPolicy, now: datetime, result: EvalResult) -> None:
    """KIS 同步失败 from the jobs' recorded outcomes: in every round, and right after a KIS run records one."""
    findings = rules.kis_sync_failures(_sync_runs(uow), policy)
    for rule, _, _ in rules.KIS_JOBS.values():
        # Rejected rows share the push's rule but are not about the last run: a successful run leaves them.
        apply(uow, policy, rule, [f for f in findings if f.rule == rule], now, result,
              keep={rules.KIS_PUSH_REJECTED})


# --- facts from the store, in as few queries as the rules need -------------------------------------------------


def _unstarted(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[rules.UnstartedWorkOrder]:
    # Started means a report still counted: an undone one (or one corrected to nothing) did not start it.
    reported = exists().where(WorkReport.work_order_id == WorkOrder.id, WorkReport.undone_at.is_(None),
                              WorkReport.good_qty + WorkReport.defect_qty > 0)
    rows = uow.session.execute(
        select(WorkOrder.code, SalesOrder.bill_no, Product.name, WorkOrder.workshop, WorkOrder.machine,
               WorkOrder.planned_start)
        .join(SalesOrderLine, SalesOrderLine.id == WorkOrder.line_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(WorkOrder.status == WorkOrderStatus.PLANNED, WorkOrder.planned_start < now - policy.start_grace,
               ~reported)
    ).all()
    return [rules.UnstartedWorkOrder(*row, reported=False) for row in rows]


def _workshops(uow: UnitOfWork) -> list[str]:
    return list(uow.session.scalars(select(WorkOrder.workshop).distinct()))


def _workshop_days(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> list[rules.WorkshopDay]:
    today = policy.local(now).date()
    day_start = policy.at(today, datetime.min.time())
    start, end = policy.shift_hours(today)
    shift_start, shift_end = policy.at(today, start), policy.at(today, end)
    # A work order plans for today when its planned span overlaps today's shift: one planned to finish at
    # the shift's start (08:00) was the work of the days before. Done work orders count on the days they
    # ran, not after: one finished early plans nothing for the rest of its planned span.
    running = and_(WorkOrder.planned_start < shift_end, WorkOrder.planned_finish > shift_start,
                   WorkOrder.status.in_(LIVE + (WorkOrderStatus.DONE,)),
                   WorkOrder.finished_at.is_(None) | (WorkOrder.finished_at >= day_start))
    # A day's plan is never more than the whole work order (a short run planned at a press's daily rate).
    day_plan = case((WorkOrder.daily_plan_qty < WorkOrder.planned_qty, WorkOrder.daily_plan_qty),
                    else_=WorkOrder.planned_qty)
    planned: dict[str, int | None] = dict(uow.session.execute(
        select(WorkOrder.workshop, func.sum(day_plan)).where(running).group_by(WorkOrder.workshop)
    ).all())
    done = dict(uow.session.execute(
        select(WorkOrder.workshop, func.coalesce(func.sum(WorkReport.good_qty), 0))
        .join(WorkReport, WorkReport.work_order_id == WorkOrder.id)
        .join(Operation, and_(Operation.id == WorkReport.operation_id, Operation.seq == 1))
        .where(running, WorkReport.work_day == today).group_by(WorkOrder.workshop)
    ).all())
    return [rules.WorkshopDay(w, today, int(p or 0), int(done.get(w, 0))) for w, p in planned.items()]


def _quality_runs(uow: UnitOfWork, policy: AlertPolicy) -> dict[str, list[rules.OrderQuality]]:
    scope = {"mould": WorkOrder.mould, "product": Product.item_number, "machine": WorkOrder.machine}[
        policy.defect_scope]
    rows = uow.session.execute(
        select(scope, WorkOrder.code, WorkOrder.workshop, Operation.good_qty, Operation.defect_qty)
        .join(Operation, and_(Operation.work_order_id == WorkOrder.id, Operation.seq == 1))
        .join(Product, Product.id == WorkOrder.product_id)
        .where(WorkOrder.started_at.is_not(None), scope.is_not(None),
               WorkOrder.status != WorkOrderStatus.VOIDED, Operation.good_qty + Operation.defect_qty > 0)
        .order_by(scope, WorkOrder.started_at, WorkOrder.id)
    ).all()
    runs: dict[str, list[rules.OrderQuality]] = defaultdict(list)
    for key, code, workshop, good, defect in rows:
        if key is None:  # never: the query leaves out work orders without one
            continue
        runs[key].append(rules.OrderQuality(key, code, workshop, good, defect))
    return runs


def _open_exceptions(uow: UnitOfWork) -> list[rules.OpenException]:
    rows = uow.session.execute(
        select(ShopException.id, ShopException.type, WorkOrder.workshop, Person.workshop, WorkOrder.code,
               func.coalesce(ShopException.machine, WorkOrder.machine), Person.name, ShopException.description,
               ShopException.opened_at)
        .join(Person, Person.id == ShopException.reporter_id)
        .outerjoin(WorkOrder, WorkOrder.id == ShopException.work_order_id)
        .where(ShopException.status != ExceptionStatus.CLOSED)
    ).all()
    return [rules.OpenException(i, t, wo_ws or p_ws, code, machine, name, desc or "", at)
            for i, t, wo_ws, p_ws, code, machine, name, desc, at in rows]


def _sync_runs(uow: UnitOfWork) -> list[rules.SyncRun]:
    rows = uow.session.execute(
        select(SyncState.name, SyncState.last_ok, SyncState.last_run_at, SyncState.last_message, SyncState.failures)
        .where(SyncState.name.in_(list(rules.KIS_JOBS)))).all()
    return [rules.SyncRun(name, ok, at, message or "", failures or 0) for name, ok, at, message, failures in rows]


def _waiting_tickets(uow: UnitOfWork) -> list[rules.WaitingTicket]:
    rows = uow.session.execute(
        select(RepairTicket.id, RepairTicket.machine, RepairTicket.workshop, Person.name, RepairTicket.dispatched_at,
               RepairTicket.opened_at)
        .outerjoin(Person, Person.id == RepairTicket.technician_id)
        .where(RepairTicket.status == TicketStatus.OPEN)
    ).all()
    return [rules.WaitingTicket(*row) for row in rows]
