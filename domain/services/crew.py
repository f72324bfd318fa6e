"""我的班组: a crew as its lead sees it — who is in it, what each of them reported in the shift, and what is
still open on the presses of the workshop (work orders running, exceptions, repair tickets).

Which crew: the asker's own (said whether it is on shift; off shift, its last shift is shown), else for a team
lead or supervisor who is in no crew, the crew on shift now. Anyone else, or a plant without crews, is told
why in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from domain.errors import DomainError
from domain.models import Operation, Person, Product, RepairTicket, ShopException, WorkOrder, WorkReport
from domain.plant_calendar import Crew, PlantCalendar, Shift
from domain.services.people import active_person
from domain.services.shift_output import PressShift, press_output
from domain.uow import UnitOfWork
from domain.vocab import ExceptionStatus, Role, TicketStatus, WorkOrderStatus

# Who may look at the crew on shift without being in a crew themselves.
OVERSEERS = (Role.TEAM_LEAD, Role.SUPERVISOR, Role.OPS_MANAGER, Role.ADMIN)
LOOK_BACK_SHIFTS = 64  # far enough back to find an off-shift crew's last shift in any sane rotation

NO_CREWS = ("本厂还没有设置班组（管理员可用 factorybot calendar crews 设置班组和轮班）。"
            "您可以发「今天」查看自己的报工。")
NOT_IN_CREW = ("您不在任何班组。「我的班组」向班组成员显示本班组；不在班组的班组长、车间主管、运营经理和管理员看到当班班组。"
               "您可以发「今天」查看自己的报工。")


@dataclass(frozen=True)
class MemberDay:
    userid: str
    name: str
    lead: bool
    reports: int
    good: int
    defect: int


@dataclass(frozen=True)
class RunningOrder:
    code: str
    machine: str | None
    product: str
    good: int  # on its first operation: what the presses made
    planned: int


@dataclass(frozen=True)
class OpenException:
    id: int
    type: str
    work_order: str | None
    status: str  # the status' label


@dataclass(frozen=True)
class OpenRepair:
    id: int
    machine: str | None
    status: TicketStatus


@dataclass(frozen=True)
class CrewView:
    crew: Crew
    own: bool  # the asker's own crew (else: the crew on shift, shown to an overseer)
    on_shift: bool  # the crew is working now
    shift: Shift  # the shift shown: the current one, or the crew's last
    lead_name: str | None
    workshop: str | None  # whose presses are shown; None: every workshop
    members: tuple[MemberDay, ...]
    presses: tuple[PressShift, ...]
    running: tuple[RunningOrder, ...]
    exceptions: tuple[OpenException, ...]
    repairs: tuple[OpenRepair, ...]


def _last_shift_of(calendar: PlantCalendar, crew: str, now: datetime) -> Shift | None:
    """The crew's current shift, else the last one it worked."""
    current = calendar.shift_of(now)
    if current.crew == crew and current.working:
        return current
    at = now
    for _ in range(LOOK_BACK_SHIFTS):
        before = calendar.previous_shift(at)
        if before is None:
            return None
        if before.crew == crew:
            return before
        at = before.start
    return None


def crew_view(uow: UnitOfWork, calendar: PlantCalendar, userid: str, *, now: datetime) -> CrewView:
    person = active_person(uow, userid)
    if not calendar.crews:
        raise DomainError(NO_CREWS)
    own = calendar.crew_of(userid)
    on = calendar.crew_on(now)
    if own is not None:
        crew, shift = own, _last_shift_of(calendar, own.name, now)
        if shift is None:
            raise DomainError(f"您的班组「{own.name}」在轮班表里没有排班，请联系管理员检查 factorybot calendar crews。")
    elif person.has_role(*OVERSEERS):
        if on is None:
            upcoming = calendar.next_shift(now)
            nxt = f"下一班是 {upcoming.label} {upcoming.hours_text}" if upcoming else "之后没有排班"
            raise DomainError(f"现在没有班组当班（{nxt}）。")
        crew, shift = on, calendar.shift_of(now)
    else:
        raise DomainError(NOT_IN_CREW)
    on_shift = on is not None and on.name == crew.name
    people = {p.userid: p for p in uow.session.scalars(select(Person).where(Person.userid.in_(crew.people)))}
    lead = people.get(crew.lead) if crew.lead else None
    workshop = person.workshop or (lead.workshop if lead is not None else None)
    return CrewView(
        crew=crew, own=own is not None, on_shift=on_shift, shift=shift,
        lead_name=(lead.name if lead else crew.lead), workshop=workshop,
        members=_members(uow, calendar, crew, people, shift),
        presses=tuple(press_output(uow, calendar, shift, workshop=workshop)),
        running=_running(uow, workshop), exceptions=_exceptions(uow, workshop), repairs=_repairs(uow, workshop),
    )


def _members(uow: UnitOfWork, calendar: PlantCalendar, crew: Crew, people: dict[str, Person],
             shift: Shift) -> tuple[MemberDay, ...]:
    ids = [p.id for p in people.values()]
    in_shift = WorkReport.work_day == shift.day
    if calendar.multi_shift:
        in_shift = in_shift & (WorkReport.shift == shift.name)
    counted = {pid: (int(n), int(g), int(d)) for pid, n, g, d in uow.session.execute(
        select(WorkReport.operator_id, func.count(), func.coalesce(func.sum(WorkReport.good_qty), 0),
               func.coalesce(func.sum(WorkReport.defect_qty), 0))
        # Only reports still counted: an undone one (or one corrected to nothing) is no report of the shift.
        .where(in_shift, WorkReport.operator_id.in_(ids), WorkReport.undone_at.is_(None),
               WorkReport.good_qty + WorkReport.defect_qty > 0)
        .group_by(WorkReport.operator_id))} if ids else {}
    out = []
    for userid in crew.people:
        p = people.get(userid)
        n, g, d = counted.get(p.id, (0, 0, 0)) if p is not None else (0, 0, 0)
        out.append(MemberDay(userid, p.name if p is not None else userid, userid == crew.lead, n, g, d))
    return tuple(out)


def _running(uow: UnitOfWork, workshop: str | None) -> tuple[RunningOrder, ...]:
    q = (select(WorkOrder.code, WorkOrder.machine, Product.name, Operation.good_qty, WorkOrder.planned_qty)
         .join(Product, Product.id == WorkOrder.product_id)
         .join(Operation, (Operation.work_order_id == WorkOrder.id) & (Operation.seq == 1))
         .where(WorkOrder.status == WorkOrderStatus.IN_PROGRESS)
         .order_by(WorkOrder.machine, WorkOrder.code))
    if workshop:
        q = q.where(WorkOrder.workshop == workshop)
    return tuple(RunningOrder(*row) for row in uow.session.execute(q))


def _exceptions(uow: UnitOfWork, workshop: str | None) -> tuple[OpenException, ...]:
    q = (select(ShopException.id, ShopException.type, WorkOrder.code, ShopException.status)
         .outerjoin(WorkOrder, WorkOrder.id == ShopException.work_order_id)
         .join(Person, Person.id == ShopException.reporter_id)
         .where(ShopException.status != ExceptionStatus.CLOSED).order_by(ShopException.id))
    if workshop:
        # On a work order of the workshop, or (about no work order) raised by someone of it.
        q = q.where((WorkOrder.workshop == workshop) | (WorkOrder.id.is_(None) & (Person.workshop == workshop)))
    return tuple(OpenException(i, t, code, ExceptionStatus(s).label) for i, t, code, s in uow.session.execute(q))


def _repairs(uow: UnitOfWork, workshop: str | None) -> tuple[OpenRepair, ...]:
    q = (select(RepairTicket.id, RepairTicket.machine, RepairTicket.status)
         .where(RepairTicket.status != TicketStatus.DONE).order_by(RepairTicket.id))
    if workshop:
        q = q.where(RepairTicket.workshop == workshop)
    return tuple(OpenRepair(i, m, TicketStatus(s)) for i, m, s in uow.session.execute(q))
