"""Reporting work from the floor: the rule that decides what counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError

from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import Operation, Person, PointsEntry, WorkOrder, WorkReport
from domain.points import points_earned
from domain.policy import PlantPolicy
from domain.services import shift_output
from domain.services.people import active_person
from domain.services.stages import advance_after_report
from domain.uow import UnitOfWork
from domain.vocab import OperationStatus, Role, Stage, WorkOrderStatus

MAX_QTY_PER_REPORT = 1_000_000


@dataclass(frozen=True)
class ReportResult:
    report_id: int
    duplicate: bool
    work_order_code: str
    bill_no: str
    product_name: str
    operation: str
    good_qty: int
    defect_qty: int
    operation_good_total: int
    operation_remaining: int
    operation_done: bool
    work_order_done: bool
    next_operation: str | None
    next_workshop: str | None
    today_good_total: int
    points_earned: int
    points_today: int
    stage: Stage
    undo_minutes: int = 0  # how long the reporter may take it back with 撤销 (PlantPolicy.undo_minutes)


@dataclass(frozen=True)
class Capacity:
    """How much an operation can still take, and how much of that is over-production tolerance."""

    remaining: int
    tolerance: int

    @property
    def limit(self) -> int:
        return self.remaining + self.tolerance


def capacity(wo: WorkOrder, op: Operation, policy: PlantPolicy) -> Capacity:
    """The first operation is bounded by the plan (plus tolerance); later ones by what the previous produced."""
    if op.seq == wo.operations[0].seq:
        return Capacity(max(wo.planned_qty - op.good_qty, 0), policy.tolerance(wo.planned_qty))
    prev = _previous(wo, op)
    return Capacity(max(prev.good_qty - op.good_qty - op.defect_qty, 0), 0)


def report_work(
    uow: UnitOfWork,
    policy: PlantPolicy,
    *,
    work_order_code: str,
    userid: str,
    good_qty: int,
    defect_qty: int,
    source_key: str,
    now: datetime,
    operation_name: str | None = None,
    operation_seq: int | None = None,
) -> ReportResult:
    session = uow.session
    existing = session.scalar(select(WorkReport).where(WorkReport.source_key == source_key))
    if existing is not None:
        return _result(uow, policy, existing, duplicate=True, newly_done=False)

    person = active_person(uow, userid)
    check_quantities(good_qty, defect_qty)

    wo = _open_work_order(uow, work_order_code)
    op = _choose_operation(wo, person, _op_name(wo, operation_name, operation_seq))
    # Lock the row so two reports racing for the last units are serialised (PostgreSQL); on SQLite
    # BEGIN IMMEDIATE already serialises writers. The conditional UPDATE below is the real guard.
    session.execute(select(Operation.id).where(Operation.id == op.id).with_for_update())
    session.refresh(op)
    # After the lock: an operation finished by a report that won it is refused here.
    cap, taken = check_room(wo, op, policy, good_qty, defect_qty)

    guard: ColumnElement[bool]
    if op.seq == wo.operations[0].seq:
        # The tolerance lets the report that finishes the plan overshoot it; nothing is added once it is met.
        guard = (Operation.good_qty < wo.planned_qty) & (Operation.good_qty + good_qty <= wo.planned_qty + cap.tolerance)
    else:
        prev = _previous(wo, op)
        prev_good = select(Operation.good_qty).where(Operation.id == prev.id).scalar_subquery()
        guard = Operation.good_qty + Operation.defect_qty + good_qty + defect_qty <= prev_good
    res = session.execute(
        update(Operation)
        .where(Operation.id == op.id, guard)
        .values(good_qty=Operation.good_qty + good_qty, defect_qty=Operation.defect_qty + defect_qty)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(op)
        if op.seq == wo.operations[0].seq and op.good_qty >= wo.planned_qty:
            raise DomainError(_done_message(wo, op))
        raise DomainError(_over_message(wo, op, capacity(wo, op, policy), taken))
    session.refresh(op)

    day = day_work(uow, policy, person.id, policy.calendar.shift_of(now).day)
    rows = report_rows(policy, wo, op, person, good_qty=good_qty, defect_qty=defect_qty, source_key=source_key,
                       now=now, day=day)
    report = WorkReport(**rows.report)
    session.add(report)
    try:
        session.flush()
    except IntegrityError as exc:  # the same delivery raced us in another process
        raise DomainError("该报工已记录，请勿重复提交。") from exc
    session.add(PointsEntry(work_report_id=report.id, **rows.points))
    was_done = op.status == OperationStatus.DONE
    after_count(uow, wo, op, now)
    session.flush()
    return _result(uow, policy, report, duplicate=False, newly_done=op.status == OperationStatus.DONE and not was_done)


def _open_work_order(uow: UnitOfWork, work_order_code: str) -> WorkOrder:
    wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == work_order_code.strip().upper()))
    if wo is None:
        raise NotFound(f"工单 {work_order_code} 不存在，请核对工单号。")
    check_open(wo)
    return wo


# The rule of a report, in pieces that report_work and the bulk counter (report_batch) both call, so the
# demo plant and a chat report are counted by the same code.

def check_quantities(good_qty: int, defect_qty: int) -> None:
    if good_qty < 0 or defect_qty < 0 or good_qty + defect_qty <= 0:
        raise DomainError("数量必须大于0：良品和不良品都不能为负数，且不能同时为0。")
    if good_qty > MAX_QTY_PER_REPORT or defect_qty > MAX_QTY_PER_REPORT:
        raise DomainError("数量过大，请核对后重新填写。")


def check_open(wo: WorkOrder) -> None:
    if wo.status in (WorkOrderStatus.DONE, WorkOrderStatus.CLOSED, WorkOrderStatus.VOIDED):
        raise DomainError(f"工单 {wo.code} {WorkOrderStatus(wo.status).label}，不能再报工。")


def check_room(wo: WorkOrder, op: Operation, policy: PlantPolicy, good_qty: int, defect_qty: int) -> tuple[Capacity, int]:
    """The operation can still take this report: not done, and what it takes (good for the first operation,
    good and defect after it) within its capacity. Returns the capacity and what the report takes."""
    if op.status == OperationStatus.DONE:
        raise DomainError(_done_message(wo, op))
    cap = capacity(wo, op, policy)
    taken = good_qty if op.seq == wo.operations[0].seq else good_qty + defect_qty
    if taken > cap.limit:
        raise DomainError(_over_message(wo, op, cap, taken))
    return cap, taken


@dataclass
class DayWork:
    """A person's reports of one production day, as points count them: each report's share of a point
    (domain/points.py) and the points the day's reports hold."""

    shares: list[float] = field(default_factory=list)
    points: int = 0


def day_work(uow: UnitOfWork, policy: PlantPolicy, person_id: int, work_day: date, *,
             leave_out: int | None = None) -> DayWork:
    """The person's counted reports of the day (leave_out: a report id left out, the one being corrected)."""
    q = (select(WorkReport.id, WorkReport.good_qty, WorkReport.points, WorkOrder.daily_plan_qty)
         .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
         .where(WorkReport.operator_id == person_id, WorkReport.work_day == work_day))
    out = DayWork()
    for rid, good, points, daily in uow.session.execute(q):
        if rid == leave_out:
            continue
        out.shares.append(policy.points_share(int(good), int(daily or 0), work_day))
        out.points += int(points)
    return out


@dataclass(frozen=True)
class ReportRows:
    """A counted report's rows: `report` for WorkReport, `points` for its PointsEntry (without work_report_id)."""

    report: dict[str, Any]
    points: dict[str, Any]


def report_rows(policy: PlantPolicy, wo: WorkOrder, op: Operation, person: Person, *, good_qty: int, defect_qty: int,
                source_key: str, now: datetime, day: DayWork) -> ReportRows:
    """day: the person's reports of the production day so far; the new report is added to it."""
    # The shift the report is counted in (a report at 02:00 is the night shift of the day before), its
    # production day and the crew on it: today's totals, points and the per-shift figures all follow it.
    shift = policy.calendar.shift_of(now)
    work_day = shift.day
    share = policy.points_share(good_qty, wo.daily_plan_qty, work_day)
    points = points_earned(day.shares, day.points, share, policy.points_daily_cap)
    day.shares.append(share)
    day.points += points
    report = dict(source_key=source_key, work_order_id=wo.id, operation_id=op.id, operator_id=person.id,
                  good_qty=good_qty, defect_qty=defect_qty, points=points, reported_at=now, work_day=work_day,
                  shift=shift.name, crew=shift.crew)
    entry = dict(person_id=person.id, points=points, reason=f"报工 {wo.code} {op.name}", work_day=work_day,
                 created_at=now)
    return ReportRows(report, entry)


def after_count(uow: UnitOfWork, wo: WorkOrder, op: Operation, now: datetime) -> None:
    """Once the quantities are added: started, done, and the order's stage."""
    if op.started_at is None:
        op.started_at = now
    if wo.started_at is None:
        wo.started_at = now
    if wo.status == WorkOrderStatus.PLANNED:
        wo.status = WorkOrderStatus.IN_PROGRESS
    _refresh_done(wo, now)
    advance_after_report(uow, wo, op, now)


def _op_name(wo: WorkOrder, name: str | None, seq: int | None) -> str | None:
    if seq is None:
        return name
    op = next((o for o in wo.operations if o.seq == seq), None)
    if op is None:
        raise NotFound(f"工单 {wo.code} 没有第 {seq} 道工序。")
    return op.name


@dataclass(frozen=True)
class ReportPrompt:
    """What a worker sees after scanning a traveller: the operation that is theirs, how much is left, and
    what one tap on 完成 records (prepare_report says how that figure is reached)."""

    work_order_code: str
    bill_no: str
    customer: str
    product_name: str
    item_number: str
    mould: str | None
    machine: str | None
    operation: str
    operation_seq: int
    workshop: str
    planned_qty: int
    good_so_far: int
    defect_so_far: int
    remaining: int
    tolerance: int
    route: tuple[tuple[str, str], ...]  # (operation, status label) in order
    done_qty: int  # the good pieces one tap on 完成 records; 0: no one-tap 完成 (the form still works)
    done_note: str  # how done_qty was reached, or why there is none, as the card says it
    early_start: str | None = None  # "计划 12-05 开工": not started, planned for a later production day


def prepare_report(uow: UnitOfWork, policy: PlantPolicy, *, work_order_code: str, userid: str, now: datetime,
                   operation_seq: int | None = None) -> ReportPrompt:
    """The operation this worker would report on, and what one tap on 完成 records.

    One tap on 完成 records, as good pieces, the operation's remainder capped by what the shift could
    plausibly have made on it that nobody has reported yet:
    - the remainder (capacity()): for the first operation, the plan less the good pieces made so far; for a
      later one, what the previous operation has passed and this one has not yet taken (good and defect);
    - the shift's plausible output: the press's standard rate (the work order's daily plan over the
      production day's working minutes, the rate points count standard minutes at) times the working
      minutes of the shift so far (breaks left out), less every piece, good or defect, already reported on
      this operation in this shift, by anyone. The minutes count from the shift's start (or from the work
      order's start, if that came later in the shift), not from the operation's last report: the shift's
      reports then never add up to more than the press could make, however often and by whomever they were
      made, and splitting the shift into many taps gains nothing.
    So at 10:00 on an 08:00-20:00 shift, with 1345 pieces already reported, a daily plan of 12000 (2000 by
    10:00) gives 完成 655 件, and a daily plan of 2000 (333 by 10:00) gives no 完成 at all.
    There is no one-tap 完成 when that figure is 0 (before the shift's first working minute, on a rest day,
    with no daily plan, or once the shift's reports reach the plausible output), nor on a work order not
    started whose planned start is still to come (a later production day: 计划 12-05 开工，暂不能一键完成;
    or later in this shift); the card says why and offers the form. A quantity typed in chat or on the form
    is still recorded (a press freed early may start the next job), the chat reply naming it an early start.
    The card's button shows exactly this figure (完成 N 件) and the tap records exactly N, once confirm_done
    has checked at the moment of the tap that N is still allowed (else it records nothing and the card is
    replaced by the current one).

    operation_seq: the operation a card was made for (a tap's re-check); None: the worker's own, the first
    operation of their workshop that is not done.
    """
    person = active_person(uow, userid)
    wo = _open_work_order(uow, work_order_code)
    op = _choose_operation(wo, person, _op_name(wo, None, operation_seq))
    return _prompt(uow, policy, wo, op, now)


def confirm_done(uow: UnitOfWork, policy: PlantPolicy, *, work_order_code: str, operation_seq: int, qty: int,
                 userid: str, source_key: str, now: datetime) -> ReportPrompt | None:
    """A tap on 完成 N, before it records N: None when it may (N is within what prepare_report allows now,
    or this very tap was recorded already and report_work answers the repeat); else the prompt as it
    stands now, whose done_qty is not N, and nothing may be recorded. The operation's row is locked first,
    so a second tap racing this one waits and then sees what this one recorded."""
    if uow.session.scalar(select(WorkReport.id).where(WorkReport.source_key == source_key)) is not None:
        return None
    person = active_person(uow, userid)
    wo = _open_work_order(uow, work_order_code)
    op = _choose_operation(wo, person, _op_name(wo, None, operation_seq))
    uow.session.execute(select(Operation.id).where(Operation.id == op.id).with_for_update())
    uow.session.refresh(op)
    prompt = _prompt(uow, policy, wo, op, now)
    return None if 0 < qty <= prompt.done_qty else prompt


def early_start(uow: UnitOfWork, policy: PlantPolicy, work_order_code: str, now: datetime) -> str | None:
    """"计划 12-05 开工" for a work order not started and planned for a later production day, else None."""
    wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == work_order_code.strip().upper()))
    return _early_start(wo, policy, now) if wo is not None else None


def _early_start(wo: WorkOrder, policy: PlantPolicy, now: datetime) -> str | None:
    cal = policy.calendar
    if wo.status != WorkOrderStatus.PLANNED or cal.production_day(wo.planned_start) <= cal.production_day(now):
        return None
    return f"计划 {cal.production_day(wo.planned_start):%m-%d} 开工"


def _prompt(uow: UnitOfWork, policy: PlantPolicy, wo: WorkOrder, op: Operation, now: datetime) -> ReportPrompt:
    if op.status == OperationStatus.DONE:  # finished by a report that won the operation's lock
        raise DomainError(_done_message(wo, op))
    cap = capacity(wo, op, policy)
    if cap.remaining <= 0:
        if op.seq == wo.operations[0].seq:
            raise DomainError(f"工单 {wo.code} 工序「{op.name}」已报满计划数量 {wo.planned_qty} 件。")
        prev = _previous(wo, op)
        raise DomainError(
            f"工单 {wo.code} 上道工序「{prev.name}」的良品已全部报完（{prev.good_qty} 件），"
            f"工序「{op.name}」暂无可报数量。"
        )
    early = _early_start(wo, policy, now)
    done_qty, note = _one_tap(uow, policy, wo, op, cap.remaining, now, early)
    return ReportPrompt(
        work_order_code=wo.code,
        bill_no=wo.line.order.bill_no,
        customer=wo.line.order.customer.name,
        product_name=wo.product.name,
        item_number=wo.product.item_number,
        mould=wo.mould,
        machine=wo.machine,
        operation=op.name,
        operation_seq=op.seq,
        workshop=op.workshop,
        planned_qty=wo.planned_qty,
        good_so_far=op.good_qty,
        defect_so_far=op.defect_qty,
        remaining=cap.remaining,
        tolerance=cap.tolerance,
        route=tuple((o.name, OperationStatus(o.status).label) for o in wo.operations),
        done_qty=done_qty,
        done_note=note,
        early_start=early,
    )


NO_ONE_TAP = "，暂不能一键完成"


def _one_tap(uow: UnitOfWork, policy: PlantPolicy, wo: WorkOrder, op: Operation, remaining: int, now: datetime,
             early: str | None) -> tuple[int, str]:
    """(what 完成 records, the card's note): prepare_report's rule."""
    if early:
        return 0, early + NO_ONE_TAP
    cal = policy.calendar
    shift = cal.shift_of(now)
    tz = cal.tz
    if wo.status == WorkOrderStatus.PLANNED and wo.planned_start > now:
        return 0, f"计划 {wo.planned_start.astimezone(tz):%H:%M} 开工" + NO_ONE_TAP
    rate = shift_output.standard_rate(cal, wo.daily_plan_qty, shift.day)
    if rate <= 0:
        return 0, "工单没有日计划产量，无法按标准产能推算" + NO_ONE_TAP
    # Nothing of a work order was made before it began: its planned start, or its first report if it was
    # started ahead of plan (the earliest moment it is known to have run). The shift's start bounds both.
    since = wo.planned_start if wo.started_at is None else min(wo.planned_start, wo.started_at)
    # The press moulds one job at a time: at the first operation, minutes it spent this shift on its other
    # work orders were not this one's.
    busy = (shift_output.press_minutes_elsewhere(uow, cal, shift, machine=wo.machine, work_order_id=wo.id)
            if wo.machine and op.seq == wo.operations[0].seq else 0.0)
    out = shift_output.plausible_output(cal, shift, rate=rate, since=since, now=now, busy_minutes=busy)
    if out.minutes <= 0:
        if not shift.working:
            return 0, "今天是休息日" + NO_ONE_TAP
        if out.since > shift.start:  # started (or planned) later in the shift, a moment ago
            return 0, f"{out.since.astimezone(tz):%H:%M} 开工，还推算不出产量" + NO_ONE_TAP
        return 0, f"{shift.name} {shift.start:%H:%M} 开始" + NO_ONE_TAP
    reported = shift_output.operation_shift_qty(uow, cal, shift, op.id)
    left = out.made - reported
    if left <= 0:
        return 0, f"本班已报 {reported} 件，{'已超过' if left < 0 else '已达'}按标准产能推算的 {out.made} 件" + NO_ONE_TAP
    if remaining <= left:
        return remaining, f"一键完成记剩余的 {remaining} 件良品"
    note = f"一键完成记 {left} 件良品：本班按标准产能至今约 {out.made} 件"
    if busy > 0:
        note += f"（机台 {wo.machine} 本班另有其他工单约 {round(busy)} 分钟）"
    return left, note + (f"，已报 {reported} 件" if reported else "")


def _choose_operation(wo: WorkOrder, person: Person, name: str | None) -> Operation:
    ops = wo.operations
    if name:
        op = next((o for o in ops if o.name == name), None)
        if op is None:
            raise NotFound(f"工单 {wo.code} 没有工序「{name}」，工序为：{'→'.join(o.name for o in ops)}。")
        candidates = [op]
    else:
        candidates = [o for o in ops if o.status != OperationStatus.DONE]
    if not person.has_role(Role.ADMIN):
        candidates = [o for o in candidates if o.workshop == person.workshop]
    candidates = [o for o in candidates if o.status != OperationStatus.DONE]
    if candidates:
        return candidates[0]
    current = next((o for o in ops if o.status != OperationStatus.DONE), None)
    if name:
        op = next(o for o in ops if o.name == name)
        if op.status == OperationStatus.DONE:
            raise DomainError(_done_message(wo, op))
        raise NotAllowed(f"工序「{name}」属于{op.workshop}，您在{person.workshop or '未分配车间'}，不能报这道工序。")
    where = f"当前工序：{current.name}（{current.workshop}）" if current else "所有工序已完成"
    raise NotAllowed(f"工单 {wo.code} 没有属于您车间（{person.workshop or '未分配'}）的待报工序；{where}。")


def _previous(wo: WorkOrder, op: Operation) -> Operation:
    ops = wo.operations
    return ops[[o.id for o in ops].index(op.id) - 1]


def _done_message(wo: WorkOrder, op: Operation) -> str:
    return f"工单 {wo.code} 的工序「{op.name}」已完成，不能再报工。"


def _over_message(wo: WorkOrder, op: Operation, cap: Capacity, taken: int) -> str:
    extra = f"（含允许超产 {cap.tolerance} 件）" if cap.tolerance else ""
    return (
        f"数量超出：工单 {wo.code} 工序「{op.name}」最多还能报 {cap.limit} 件{extra}，"
        f"本次报 {taken} 件。请核对数量。"
    )


def operation_done(wo: WorkOrder, op: Operation, prev: Operation | None) -> bool:
    """Whether an operation's quantities finish it: the first once it has the plan's good pieces, a later one
    once the previous is done and it has used all the previous made. Reports (here) and corrections
    (domain/services/corrections.py) judge by this one rule."""
    if prev is None:
        return op.good_qty >= wo.planned_qty
    return prev.status == OperationStatus.DONE and op.good_qty + op.defect_qty >= prev.good_qty


def _refresh_done(wo: WorkOrder, now: datetime) -> None:
    """Operations only ever move to done; a later step is done once it has used all the previous one made."""
    prev: Operation | None = None
    for op in wo.operations:
        if op.status != OperationStatus.DONE:
            if operation_done(wo, op, prev):
                op.status = OperationStatus.DONE
                op.finished_at = now
            elif op.good_qty or op.defect_qty:
                op.status = OperationStatus.IN_PROGRESS
        prev = op
    if all(o.status == OperationStatus.DONE for o in wo.operations):
        wo.status = WorkOrderStatus.DONE
        wo.finished_at = now


def _result(
    uow: UnitOfWork, policy: PlantPolicy, report: WorkReport, *, duplicate: bool, newly_done: bool
) -> ReportResult:
    session = uow.session
    op = report.operation
    wo = op.work_order
    ops = wo.operations
    idx = [o.id for o in ops].index(op.id)
    nxt = ops[idx + 1] if idx + 1 < len(ops) else None
    today_good, today_points = session.execute(
        select(func.coalesce(func.sum(WorkReport.good_qty), 0), func.coalesce(func.sum(WorkReport.points), 0)).where(
            WorkReport.operator_id == report.operator_id, WorkReport.work_day == report.work_day
        )
    ).one()
    return ReportResult(
        report_id=report.id,
        duplicate=duplicate,
        work_order_code=wo.code,
        bill_no=wo.line.order.bill_no,
        product_name=wo.product.name,
        operation=op.name,
        good_qty=report.good_qty,
        defect_qty=report.defect_qty,
        operation_good_total=op.good_qty,
        operation_remaining=capacity(wo, op, policy).remaining,
        operation_done=op.status == OperationStatus.DONE,
        work_order_done=wo.status == WorkOrderStatus.DONE,
        next_operation=nxt.name if (nxt and newly_done) else None,
        next_workshop=nxt.workshop if (nxt and newly_done) else None,
        today_good_total=int(today_good),
        points_earned=report.points,
        points_today=int(today_points),
        stage=Stage(wo.line.order.stage),
        undo_minutes=policy.undo_minutes,
    )
