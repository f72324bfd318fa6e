"""Taking back a wrong report: 撤销 by its reporter within UNDO_MINUTES, 更正 by a team lead or supervisor of
the report's workshop (or an administrator) with a reason.

A correction changes the report's quantities in place and keeps what it changed in a ReportCorrection
(kind undo or correct: who, when, why, old and new quantities and points). The operation's totals move by
the difference under the same guards as a report (the plan and its tolerance for the first operation, what
the previous operation passed for a later one) plus one a report never needs: an operation's good may not
fall below what the next operation has already taken. Statuses are derived again and may go back (a done
operation whose finishing report is undone is in progress again). Points follow the corrected figure, so the
person's day keeps the points its reports earn (domain/points.py). The KIS write-back sees the change
through the report's quantities and the correction's kis_seen_at (kis/push.collect).

A correction to 0 good and 0 defects is allowed to a lead (a report on the wrong work order): it leaves
the report counted as nothing, like an undo, but keeps it 更正 with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import Operation, Person, PointsEntry, ReportCorrection, SalesOrder, WorkOrder, WorkReport
from domain.points import day_points
from domain.policy import PlantPolicy
from domain.services.people import active_person
from domain.services.reporting import MAX_QTY_PER_REPORT, day_work
from domain.services.stages import advance, advance_when_made, all_at_qc
from domain.uow import UnitOfWork
from domain.vocab import OperationStatus, Role, Stage, WorkOrderStatus

UNDO = "undo"
CORRECT = "correct"
CORRECTORS = (Role.TEAM_LEAD, Role.SUPERVISOR)
REASON_WIDTH = 200
CORRECT_FORMAT = "更正 报工号 123 良品 780 不良 20 原因 点数错误"


@dataclass(frozen=True)
class CorrectionResult:
    correction_id: int
    report_id: int
    kind: str  # undo | correct
    duplicate: bool  # the same tap or message again: nothing changed this time
    work_order_code: str
    bill_no: str
    operation: str
    reporter_userid: str
    reporter: str
    by: str
    reason: str
    old_good: int
    old_defect: int
    new_good: int
    new_defect: int
    old_points: int
    new_points: int
    operation_good_total: int
    operation_defect_total: int
    operation_done: bool
    work_order_status: WorkOrderStatus
    reporter_points_day: int  # the reporter's points of the report's production day, after the change


def undo_report(uow: UnitOfWork, policy: PlantPolicy, *, userid: str, report_id: int | None, source_key: str,
                now: datetime) -> CorrectionResult:
    """The reporter takes back their report (report_id None: their latest report still counted)."""
    first = _already(uow, source_key)
    if first is not None:
        return first
    person = active_person(uow, userid)
    report = _latest_counted(uow, person) if report_id is None else _report(uow, report_id)
    if report.operator_id != person.id:
        raise NotAllowed(f"报工号 #{report.id} 是{report.operator.name}的报工，只有报工人本人可以撤销；"
                         f"如需更正请找班组长或车间主管。")
    _check_not_undone(policy, report)
    if now - report.reported_at > timedelta(minutes=policy.undo_minutes):
        raise DomainError(
            f"报工号 #{report.id} 报于 {_hm(policy, report.reported_at)}，已超过 {policy.undo_minutes} 分钟，"
            f"不能自行撤销。请找班组长或车间主管更正（更正 报工号 {report.id} 良品 数量 不良 数量 原因 …）。")
    return _apply(uow, policy, report, person, kind=UNDO, good=0, defect=0, reason="", source_key=source_key,
                  now=now)


def correct_report(uow: UnitOfWork, policy: PlantPolicy, *, userid: str, report_id: int, good_qty: int | None,
                   defect_qty: int | None, reason: str, source_key: str, now: datetime) -> CorrectionResult:
    """A team lead or supervisor of the report's workshop, or an administrator, sets its quantities (None:
    that quantity stays as reported)."""
    first = _already(uow, source_key)
    if first is not None:
        return first
    person = active_person(uow, userid)
    report = _report(uow, report_id)
    _check_corrector(policy, person, report)
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError(f"更正报工需要写明原因，例如：{CORRECT_FORMAT.replace('123', str(report.id))}")
    if len(reason) > REASON_WIDTH:
        raise DomainError(f"原因太长（最多 {REASON_WIDTH} 字），请简要说明。")
    if good_qty is None and defect_qty is None:
        raise DomainError(f"请写明更正后的数量，例如：{CORRECT_FORMAT.replace('123', str(report.id))}")
    good_qty = report.good_qty if good_qty is None else good_qty
    defect_qty = report.defect_qty if defect_qty is None else defect_qty
    if good_qty < 0 or defect_qty < 0:
        raise DomainError("良品和不良品数量都不能为负数。")
    if good_qty > MAX_QTY_PER_REPORT or defect_qty > MAX_QTY_PER_REPORT:
        raise DomainError("数量过大，请核对后重新填写。")
    _check_not_undone(policy, report)
    if (good_qty, defect_qty) == (report.good_qty, report.defect_qty):
        raise DomainError(f"报工号 #{report.id} 已是良品 {good_qty} 不良 {defect_qty}，无需更正。")
    return _apply(uow, policy, report, person, kind=CORRECT, good=good_qty, defect=defect_qty, reason=reason,
                  source_key=source_key, now=now)


def _already(uow: UnitOfWork, source_key: str) -> CorrectionResult | None:
    done = uow.session.scalar(select(ReportCorrection).where(ReportCorrection.source_key == source_key))
    return None if done is None else _result(uow, done, duplicate=True)


def _report(uow: UnitOfWork, report_id: int) -> WorkReport:
    report = uow.session.get(WorkReport, report_id)
    if report is None:
        raise NotFound(f"没有报工号 #{report_id}，请核对（报工成功的回复里有报工号）。")
    return report


def _latest_counted(uow: UnitOfWork, person: Person) -> WorkReport:
    report = uow.session.scalar(
        select(WorkReport)
        .where(WorkReport.operator_id == person.id, WorkReport.undone_at.is_(None),
               WorkReport.good_qty + WorkReport.defect_qty > 0)
        .order_by(WorkReport.reported_at.desc(), WorkReport.id.desc()).limit(1))
    if report is None:
        raise NotFound("您没有可以撤销的报工。")
    return report


def _check_not_undone(policy: PlantPolicy, report: WorkReport) -> None:
    if report.undone_at is not None:
        raise DomainError(f"报工号 #{report.id} 已于 {_hm(policy, report.undone_at)} 撤销，不能再改；如需报工请重新报。")


def _check_corrector(policy: PlantPolicy, person: Person, report: WorkReport) -> None:
    if person.has_role(Role.ADMIN):
        return
    if not person.has_role(*CORRECTORS):
        raise NotAllowed("只有班组长、车间主管或系统管理员可以更正报工；报错了请在 "
                         f"{policy.undo_minutes} 分钟内回复「撤销」，或找班组长更正报工号 #{report.id}。")
    if person.workshop != report.operation.workshop:
        raise NotAllowed(f"报工号 #{report.id} 是{report.operation.workshop}的报工（工序「{report.operation.name}」），"
                         f"您在{person.workshop or '未分配车间'}，不能更正。")


def _hm(policy: PlantPolicy, moment: datetime) -> str:
    return moment.astimezone(policy.tz).strftime("%H:%M")


def _apply(uow: UnitOfWork, policy: PlantPolicy, report: WorkReport, by: Person, *, kind: str, good: int,
           defect: int, reason: str, source_key: str, now: datetime) -> CorrectionResult:
    session = uow.session
    op = report.operation
    wo: WorkOrder = op.work_order
    if wo.status in (WorkOrderStatus.CLOSED, WorkOrderStatus.VOIDED):
        raise DomainError(f"工单 {wo.code} {WorkOrderStatus(wo.status).label}，不能再改它的报工。")
    ops = list(wo.operations)
    idx = [o.id for o in ops].index(op.id)
    nxt = ops[idx + 1] if idx + 1 < len(ops) else None
    # Lock this operation and the next one, in route order like every writer: a report racing on either
    # waits, so the guards below hold at commit (on SQLite BEGIN IMMEDIATE already serialises writers).
    locked = [o.id for o in (op, nxt) if o is not None]
    session.execute(select(Operation.id).where(Operation.id.in_(locked)).order_by(Operation.seq).with_for_update())
    for o in ops:
        session.refresh(o)
    session.refresh(report)
    old_good, old_defect, old_points = report.good_qty, report.defect_qty, report.points
    new_op_good = op.good_qty + good - old_good
    new_op_defect = op.defect_qty + defect - old_defect
    _check_room(policy, wo, ops, idx, new_op_good, new_op_defect,
                grows=good > old_good if idx == 0 else good + defect > old_good + old_defect)

    op.good_qty, op.defect_qty = new_op_good, new_op_defect
    report.good_qty, report.defect_qty = good, defect
    if kind == UNDO:
        report.undone_at = now
    new_points = _repoint(uow, policy, report, wo)
    correction = ReportCorrection(
        source_key=source_key, work_report_id=report.id, kind=kind, by_id=by.id, at=now, reason=reason,
        old_good=old_good, old_defect=old_defect, new_good=good, new_defect=defect, old_points=old_points,
        new_points=new_points)
    session.add(correction)
    try:
        session.flush()
    except IntegrityError as exc:  # the same delivery raced us in another process
        raise DomainError("这条更正已记录，请勿重复提交。") from exc
    rederive(wo, now)
    restage(wo.line.order, now)
    session.flush()
    return _result(uow, correction, duplicate=False)


def _check_room(policy: PlantPolicy, wo: WorkOrder, ops: list[Operation], idx: int, good: int, defect: int, *,
                grows: bool) -> None:
    """The operation's totals after the correction, under a report's guards and the next operation's take.
    grows: it takes more than before (good for the first operation, good and defect after it)."""
    op = ops[idx]
    if grows and idx == 0:
        limit = wo.planned_qty + policy.tolerance(wo.planned_qty)
        if good > limit:
            raise DomainError(f"不能更正：工单 {wo.code} 工序「{op.name}」良品最多 {limit} 件（计划 {wo.planned_qty}，"
                              f"含允许超产 {limit - wo.planned_qty}），更正后为 {good} 件。")
    if grows and idx > 0:
        prev = ops[idx - 1]
        if good + defect > prev.good_qty:
            raise DomainError(f"不能更正：上道工序「{prev.name}」只有良品 {prev.good_qty} 件，工序「{op.name}」"
                              f"更正后良品 {good} 不良 {defect}，共 {good + defect} 件，超出了。")
    if idx + 1 < len(ops):
        nxt = ops[idx + 1]
        taken = nxt.good_qty + nxt.defect_qty
        if good < taken:
            raise DomainError(
                f"不能更正：下道工序「{nxt.name}」已报 良品 {nxt.good_qty} 不良 {nxt.defect_qty}，共 {taken} 件，"
                f"工序「{op.name}」的良品不能少于 {taken} 件（更正后为 {good} 件）。请先更正「{nxt.name}」的报工。")


def _repoint(uow: UnitOfWork, policy: PlantPolicy, report: WorkReport, wo: WorkOrder) -> int:
    """The report's points after the change: what the day earns with it less what its other reports hold
    (may be negative; the day's sum is then what its reports earn)."""
    others = day_work(uow, policy, report.operator_id, report.work_day, leave_out=report.id)
    share = policy.points_share(report.good_qty, wo.daily_plan_qty, report.work_day)
    points = day_points([*others.shares, share], policy.points_daily_cap) - others.points
    report.points = points
    entry = uow.session.scalar(select(PointsEntry).where(PointsEntry.work_report_id == report.id))
    if entry is not None:
        entry.points = points
    return points


def rederive(wo: WorkOrder, now: datetime) -> None:
    """Operation and work-order status from the quantities, backwards too (unlike a report, which only
    finishes things). A work order KIS finished by its receipts stays done."""
    all_done_before = all(o.status == OperationStatus.DONE for o in wo.operations)
    prev: Operation | None = None
    for op in wo.operations:
        if prev is None:
            done = op.good_qty >= wo.planned_qty
        else:
            done = prev.status == OperationStatus.DONE and op.good_qty + op.defect_qty >= prev.good_qty
        if done:
            if op.status != OperationStatus.DONE:
                op.status, op.finished_at = OperationStatus.DONE, now
        else:
            op.status = OperationStatus.IN_PROGRESS if op.good_qty or op.defect_qty else OperationStatus.PENDING
            op.finished_at = None
        prev = op
    all_done = all(o.status == OperationStatus.DONE for o in wo.operations)
    if all_done and wo.status in (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS):
        wo.status, wo.finished_at = WorkOrderStatus.DONE, now
    elif all_done_before and not all_done and wo.status == WorkOrderStatus.DONE:
        wo.status, wo.finished_at = WorkOrderStatus.IN_PROGRESS, None


def restage(order: SalesOrder, now: datetime) -> None:
    """The order's stage after a correction: forward as a report moves it, and back from 入库 or 质检 when
    what put it there was taken back (never below 生产, and never once shipped). 质检 is the reporting rule's
    (stages.all_at_qc): only when no line still owed is being made."""
    live = [w for line in order.lines for w in line.work_orders if w.status != WorkOrderStatus.VOIDED]
    at_qc = all_at_qc(order)
    if at_qc:
        advance(order, Stage.QC, now)
    if advance_when_made(order, now):
        return
    stage = Stage(order.stage)
    made = bool(live) and all(w.status in (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED) for w in live)
    back = stage
    if stage == Stage.STOCKED and not made:
        back = Stage.QC if at_qc else Stage.PRODUCTION
    elif stage == Stage.QC and not at_qc:
        back = Stage.PRODUCTION
    if back != stage:
        order.stage, order.updated_at = back, now


def _result(uow: UnitOfWork, c: ReportCorrection, *, duplicate: bool) -> CorrectionResult:
    report = c.report
    day_total = uow.session.scalar(select(func.coalesce(func.sum(WorkReport.points), 0)).where(
        WorkReport.operator_id == report.operator_id, WorkReport.work_day == report.work_day))
    op = report.operation
    wo = op.work_order
    return CorrectionResult(
        correction_id=c.id, report_id=report.id, kind=c.kind, duplicate=duplicate, work_order_code=wo.code,
        bill_no=wo.line.order.bill_no, operation=op.name, reporter_userid=report.operator.userid,
        reporter=report.operator.name, by=c.by.name, reason=c.reason, old_good=c.old_good, old_defect=c.old_defect,
        new_good=c.new_good, new_defect=c.new_defect, old_points=c.old_points, new_points=c.new_points,
        operation_good_total=op.good_qty, operation_defect_total=op.defect_qty,
        operation_done=op.status == OperationStatus.DONE, work_order_status=WorkOrderStatus(wo.status),
        reporter_points_day=int(day_total or 0),
    )
