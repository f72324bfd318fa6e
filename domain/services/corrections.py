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

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import Operation, Person, PointsEntry, ReportCorrection, SalesOrder, WorkOrder, WorkReport
from domain.points import day_points
from domain.policy import PlantPolicy
from domain.services.people import active_person
from domain.services.reporting import MAX_QTY_PER_REPORT, day_work, operation_done
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
    # Set when this change reopened a done operation: the next operation, whose leads were told to arrange it.
    reopened_next: str | None = None
    reopened_next_workshop: str | None = None
    operation_planned_qty: int = 0  # what the reopened operation has to make (the plan, or what it was passed)


def undo_report(uow: UnitOfWork, policy: PlantPolicy, *, userid: str, report_id: int | None, source_key: str,
                now: datetime) -> CorrectionResult:
    """The reporter takes back their report (report_id None: their latest report still counted)."""
    first = _already(uow, source_key)
    if first is not None:
        return first
    person = active_person(uow, userid)
    report = _latest(uow, person) if report_id is None else _report(uow, report_id)
    if report.operator_id != person.id:
        raise NotAllowed(f"报工号 #{report.id} 是{report.operator.name}的报工，只有报工人本人可以撤销；"
                         + _ask_for_correction(policy, person, report))
    _check_not_undone(policy, report)
    _check_not_corrected(uow, report)
    if now - report.reported_at > timedelta(minutes=policy.undo_minutes):
        raise DomainError(
            f"报工号 #{report.id} 报于 {_when(policy, report.reported_at, now)}，已超过 {policy.undo_minutes} 分钟，"
            "不能自行撤销。" + _ask_for_correction(policy, person, report))
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


def _latest(uow: UnitOfWork, person: Person) -> WorkReport:
    """A bare 撤销 names the person's most recent report, and only it: once that is undone, a second 撤销
    does not walk back through the earlier ones (those need their number)."""
    report = uow.session.scalar(
        select(WorkReport).where(WorkReport.operator_id == person.id)
        .order_by(WorkReport.reported_at.desc(), WorkReport.id.desc()).limit(1))
    if report is None:
        raise NotFound("您没有可以撤销的报工。")
    if report.undone_at is not None:
        raise DomainError(f"您最近的报工 #{report.id} 已撤销；如需撤销更早的报工，请发送「撤销报工 #编号」")
    return report


def _check_not_corrected(uow: UnitOfWork, report: WorkReport) -> None:
    """A lead's correction stands: an undo by the reporter would silently throw it away."""
    by = uow.session.scalar(
        select(Person.name).join(ReportCorrection, ReportCorrection.by_id == Person.id)
        .where(ReportCorrection.work_report_id == report.id, ReportCorrection.kind == CORRECT,
               ReportCorrection.by_id != report.operator_id)
        .order_by(ReportCorrection.id.desc()).limit(1))
    if by is not None:
        raise NotAllowed(f"报工号 #{report.id} 已由 {by} 更正，不能自行撤销；如有误请找班组长再次更正")


def _ask_for_correction(policy: PlantPolicy, person: Person, report: WorkReport) -> str:
    """Where an undo is refused: one who may correct the report is shown how; anyone else is sent to one."""
    if _corrector_refusal(policy, person, report) is None:
        return f"如需更正请发送：更正 报工号 {report.id} 良品 数量 不良 数量 原因 …"
    return f"请找班组长或车间主管更正（更正 报工号 {report.id} 良品 数量 不良 数量 原因 …）。"


def _check_not_undone(policy: PlantPolicy, report: WorkReport) -> None:
    if report.undone_at is not None:
        raise DomainError(f"报工号 #{report.id} 已于 {_hm(policy, report.undone_at)} 撤销，不能再改；如需报工请重新报。")


def _check_corrector(policy: PlantPolicy, person: Person, report: WorkReport) -> None:
    refusal = _corrector_refusal(policy, person, report)
    if refusal is not None:
        raise NotAllowed(refusal)


def _corrector_refusal(policy: PlantPolicy, person: Person, report: WorkReport) -> str | None:
    """Why `person` may not correct `report` (None: they may)."""
    if person.has_role(Role.ADMIN):
        return None
    if not person.has_role(*CORRECTORS):
        # Only the reporter can take it back themselves; anyone else can only ask a lead.
        own = f"报错了请在 {policy.undo_minutes} 分钟内回复「撤销」，或" if report.operator_id == person.id else "请"
        return f"只有班组长、车间主管或系统管理员可以更正报工；{own}找班组长更正报工号 #{report.id}。"
    if person.workshop != report.operation.workshop:
        return (f"报工号 #{report.id} 是{report.operation.workshop}的报工（工序「{report.operation.name}」），"
                f"您在{person.workshop or '未分配车间'}，不能更正。")
    return None


def _hm(policy: PlantPolicy, moment: datetime) -> str:
    return moment.astimezone(policy.tz).strftime("%H:%M")


def _when(policy: PlantPolicy, moment: datetime, now: datetime) -> str:
    """The time of day, with the date when it was not today."""
    local = moment.astimezone(policy.tz)
    same_day = local.date() == now.astimezone(policy.tz).date()
    return local.strftime("%H:%M" if same_day else "%m-%d %H:%M")


def change_text(old_good: int, old_defect: int, new_good: int, new_defect: int) -> str:
    """What a correction changed, and only that: `良品 500 → 480，不良 0 → 20`."""
    parts = [f"良品 {old_good} → {new_good}"] if old_good != new_good else []
    if old_defect != new_defect:
        parts.append(f"不良 {old_defect} → {new_defect}")
    return "，".join(parts) or f"良品 {new_good}（未变）"


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
                grows=good > old_good if idx == 0 else good + defect > old_good + old_defect, undo=kind == UNDO)
    was_done = op.status == OperationStatus.DONE

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
    result = _result(uow, correction, duplicate=False)
    if was_done and op.status != OperationStatus.DONE and nxt is not None:
        # The next operation's leads were told to arrange it when this one finished: they hear it is open.
        result = replace(result, reopened_next=nxt.name, reopened_next_workshop=nxt.workshop,
                         operation_planned_qty=wo.planned_qty if idx == 0 else ops[idx - 1].good_qty)
    return result


def _check_room(policy: PlantPolicy, wo: WorkOrder, ops: list[Operation], idx: int, good: int, defect: int, *,
                grows: bool, undo: bool = False) -> None:
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
            verb = "撤销" if undo else "更正"
            # A worker cannot 更正: an undo sends them to a lead, who corrects the next operation first.
            then = (f"请找班组长先更正「{nxt.name}」的报工。" if undo else f"请先更正「{nxt.name}」的报工。")
            raise DomainError(
                f"不能{verb}：下道工序「{nxt.name}」已报 良品 {nxt.good_qty} 不良 {nxt.defect_qty}，共 {taken} 件，"
                f"工序「{op.name}」的良品不能少于 {taken} 件（{verb}后为 {good} 件）。{then}")


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
        if operation_done(wo, op, prev):
            if op.status != OperationStatus.DONE:
                op.status, op.finished_at = OperationStatus.DONE, now
        else:
            op.status = OperationStatus.IN_PROGRESS if op.good_qty or op.defect_qty else OperationStatus.PENDING
            op.finished_at = None
            if op.status == OperationStatus.PENDING:  # nothing of it counts any more: it never began
                op.started_at = None
        prev = op
    all_done = all(o.status == OperationStatus.DONE for o in wo.operations)
    if all_done and wo.status in (WorkOrderStatus.PLANNED, WorkOrderStatus.IN_PROGRESS):
        wo.status, wo.finished_at = WorkOrderStatus.DONE, now
    elif all_done_before and not all_done and wo.status == WorkOrderStatus.DONE:
        wo.status, wo.finished_at = WorkOrderStatus.IN_PROGRESS, None
    if wo.status == WorkOrderStatus.IN_PROGRESS and not _counted(wo):
        # Every report of it was taken back: it is planned again, so its planned start (and the 未开工
        # alert) apply as if it had never begun.
        wo.status, wo.started_at = WorkOrderStatus.PLANNED, None


def _counted(wo: WorkOrder) -> bool:
    return any(o.good_qty or o.defect_qty for o in wo.operations)


def restage(order: SalesOrder, now: datetime) -> None:
    """The order's stage after a correction: forward as a report moves it, and back from 入库 or 质检 when
    what put it there was taken back, to 排产 when nothing of it counts any more (never below 排产, and
    never once shipped). 质检 is the reporting rule's
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
    if back == Stage.PRODUCTION and not any(_counted(w) for w in live):
        back = Stage.SCHEDULED  # nothing of it is made any more: back to 排产, never further
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
