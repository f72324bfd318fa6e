"""交接班: at a shift's end, what the outgoing lead leaves to the incoming one, made once per shift occurrence.

The facts are kept on the Handover row as they were at the shift's end (the card and the chat's 交接班 show
the same), built from the shared figures: output against plan per press is shift_output.press_output.

Who hands over: the lead of the ended shift's crew to the lead of the next shift's crew. A crew without a
lead (or a plant without crews) falls back to the team leads of the workshops concerned (else their
supervisors) who are on duty then: outgoing during the ended shift, incoming at the next shift's start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from domain.errors import NotAllowed, NotFound
from domain.models import Alert, Handover, Person, RepairTicket, ShopException, WorkOrder
from domain.plant_calendar import PlantCalendar, Shift
from domain.services.people import active_person, person_names, workshop_leads
from domain.services.shift_output import press_output
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, ExceptionStatus, Role, TicketStatus, WorkOrderStatus

# Besides the incoming lead, these may confirm a handover (a lead off sick, a shift without a lead).
CONFIRMERS = (Role.SUPERVISOR, Role.OPS_MANAGER)
TICKET_STATES = {TicketStatus.OPEN: "待接单", TicketStatus.ACCEPTED: "已接单", TicketStatus.ON_SITE: "维修中"}
# A handover made later than this after the shift's end would show the facts of another time (the first
# round after enabling shifts, or after a long outage): none is made then.
MADE_WITHIN = timedelta(hours=2)
MAX_ITEMS = 30  # per list on the row: a card shows a few, the chat at most this many


def handovers_enabled(calendar: PlantCalendar) -> bool:
    """A handover means something with several shifts a day, or crews with leads (a one-shift plant without
    crews has none, as before)."""
    return calendar.multi_shift or any(c.lead for c in calendar.crews)


def _leads(uow: UnitOfWork, calendar: PlantCalendar, crew_name: str | None, workshops: list[str],
           moment: datetime) -> tuple[str | None, list[str]]:
    """(the crew's lead, the people who hand over / take over)."""
    crew = calendar.crew(crew_name) if crew_name else None
    if crew is not None and crew.lead:
        return crew.lead, [crew.lead]
    people: list[str] = []
    for ws in workshops:
        people += [u for u in workshop_leads(uow, ws) if calendar.on_duty(u, moment) and u not in people]
    return None, people


def _side(crew: str | None, lead: str | None, people: list[str], names: dict[str, str]) -> dict[str, Any]:
    return {"crew": crew, "lead": lead, "userids": people, "names": [names.get(u, u) for u in people]}


def _moulds_changed(uow: UnitOfWork, shift: Shift) -> list[str]:
    """"P03 M-12 → M-15" for each work order started in the shift on a press whose previous one had another."""
    started = uow.session.scalars(
        select(WorkOrder).where(WorkOrder.started_at >= shift.start, WorkOrder.started_at < shift.end,
                                WorkOrder.machine.is_not(None), WorkOrder.mould.is_not(None))
        .order_by(WorkOrder.started_at, WorkOrder.id)).all()
    out = []
    for wo in started:
        assert wo.started_at is not None  # the query asks for it
        before = uow.session.scalar(
            select(WorkOrder.mould).where(WorkOrder.machine == wo.machine, WorkOrder.id != wo.id,
                                          WorkOrder.started_at.is_not(None), WorkOrder.started_at <= wo.started_at,
                                          WorkOrder.status != WorkOrderStatus.VOIDED)
            .order_by(WorkOrder.started_at.desc(), WorkOrder.id.desc()).limit(1))
        if before and before != wo.mould:
            out.append(f"{wo.machine} {before} → {wo.mould}")
    return out


def build_facts(uow: UnitOfWork, calendar: PlantCalendar, ended: Shift, nxt: Shift | None, *,
                alert_labels: Mapping[str, str] = {}) -> dict[str, Any]:
    """The handover's content: the ended shift's output per press, what is still open, what comes next."""
    tz = calendar.tz
    presses = press_output(uow, calendar, ended)
    exceptions = uow.session.execute(
        select(ShopException.id, ShopException.type, WorkOrder.machine, ShopException.description)
        .outerjoin(WorkOrder, WorkOrder.id == ShopException.work_order_id)
        .where(ShopException.status != ExceptionStatus.CLOSED).order_by(ShopException.id).limit(MAX_ITEMS)).all()
    tickets = uow.session.execute(
        select(RepairTicket.id, RepairTicket.machine, RepairTicket.status)
        .where(RepairTicket.status != TicketStatus.DONE).order_by(RepairTicket.id).limit(MAX_ITEMS)).all()
    alerts = uow.session.execute(
        select(Alert.id, Alert.rule, Alert.title).where(Alert.status != AlertStatus.CLOSED)
        .order_by(Alert.id).limit(MAX_ITEMS)).all()
    coming: list[dict[str, Any]] = []
    if nxt is not None:
        coming = [{"code": code, "machine": machine or "-", "mould": mould or "-",
                   "start": start.astimezone(tz).strftime("%H:%M")}
                  for code, machine, mould, start in uow.session.execute(
                      select(WorkOrder.code, WorkOrder.machine, WorkOrder.mould, WorkOrder.planned_start)
                      .where(WorkOrder.planned_start >= nxt.start, WorkOrder.planned_start < nxt.end,
                             WorkOrder.status == WorkOrderStatus.PLANNED)
                      .order_by(WorkOrder.planned_start, WorkOrder.code).limit(MAX_ITEMS))]
    return {
        "label": ended.label,
        "hours": f"{ended.start.astimezone(tz):%H:%M}-{ended.end.astimezone(tz):%H:%M}",
        "next": nxt.label if nxt is not None else None,
        "presses": [{"machine": p.machine, "workshop": p.workshop, "planned": p.planned, "good": p.good,
                     "defect": p.defect} for p in presses],
        "exceptions": [{"id": i, "type": t, "machine": m or "-", "description": (d or "")[:40]}
                       for i, t, m, d in exceptions],
        "repairs": [{"id": i, "machine": m or "-", "state": TICKET_STATES.get(s, str(s))} for i, m, s in tickets],
        "alerts": [{"id": i, "rule": r, "label": alert_labels.get(r, r), "title": t} for i, r, t in alerts],
        "moulds": _moulds_changed(uow, ended),
        "next_work_orders": coming,
    }


def make_handover(uow: UnitOfWork, calendar: PlantCalendar, now: datetime, *,
                  alert_labels: Mapping[str, str] = {}) -> Handover | None:
    """The handover of the shift that has just ended, made if it is not yet (None: nothing new).

    Only within MADE_WITHIN of the shift's end. Once per (production day, shift): the unique key is the row's, and the caller's round lock keeps two
    rounds from both looking before either writes.
    """
    if not handovers_enabled(calendar):
        return None
    ended = calendar.previous_shift(now)
    if ended is None or now - ended.end > MADE_WITHIN:
        return None
    exists = uow.session.scalar(select(Handover.id).where(Handover.day == ended.day, Handover.shift == ended.name))
    if exists is not None:
        return None
    nxt = calendar.next_shift(ended.start)
    facts = build_facts(uow, calendar, ended, nxt, alert_labels=alert_labels)
    workshops = sorted({p["workshop"] for p in facts["presses"]}) or sorted(
        set(uow.session.scalars(select(WorkOrder.workshop).distinct())))
    out_lead, out_people = _leads(uow, calendar, ended.crew, workshops, ended.end - timedelta(minutes=1))
    in_crew = nxt.crew if nxt is not None else None
    in_lead, in_people = _leads(uow, calendar, in_crew, workshops, nxt.start if nxt is not None else ended.end)
    names = person_names(uow, out_people + in_people)
    facts["outgoing"] = _side(ended.crew, out_lead, out_people, names)
    facts["incoming"] = _side(in_crew, in_lead, in_people, names)
    row = Handover(day=ended.day, shift=ended.name, shift_start=ended.start, shift_end=ended.end,
                   outgoing_crew=ended.crew, incoming_crew=in_crew,
                   outgoing_lead=out_lead or (out_people[0] if out_people else None),
                   incoming_lead=in_lead or (in_people[0] if in_people else None),
                   facts=facts, created_at=now)
    uow.session.add(row)
    uow.flush()
    return row


def recipients(row: Handover) -> list[str]:
    """Both sides, each once."""
    out: list[str] = []
    for side in ("outgoing", "incoming"):
        out += [u for u in row.facts.get(side, {}).get("userids", []) if u not in out]
    return out


def incoming_people(row: Handover) -> list[str]:
    return list(row.facts.get("incoming", {}).get("userids", []))


@dataclass(frozen=True)
class AckResult:
    handover_id: int
    changed: bool
    message: str


def acknowledge_handover(uow: UnitOfWork, *, handover_id: int, userid: str, now: datetime) -> AckResult:
    """确认接班: by the incoming lead (or a supervisor / ops manager); a second confirmation changes nothing."""
    person = active_person(uow, userid)
    row = uow.session.get(Handover, handover_id, with_for_update=True)
    if row is None:
        raise NotFound(f"交接班记录 #{handover_id} 不存在。")
    label = row.facts.get("label", f"{row.day:%m-%d} {row.shift}")
    if row.acknowledged_at is not None:
        return AckResult(row.id, False, f"{label} 的交接班已确认。")
    if userid not in incoming_people(row) and not person.has_role(*CONFIRMERS):
        who = "、".join(row.facts.get("incoming", {}).get("names", [])) or "接班班长"
        raise NotAllowed(f"只有接班人（{who}）或车间主管可以确认 {label} 的交接班。")
    row.acknowledged_at, row.acknowledged_by_id = now, person.id
    uow.flush()
    return AckResult(row.id, True, f"已确认接班：{label}。")


def unacknowledged(uow: UnitOfWork, *, made_before: datetime) -> list[Handover]:
    """Handovers nobody has confirmed that were made before a moment (the ack time ago)."""
    return list(uow.session.scalars(select(Handover).where(Handover.acknowledged_at.is_(None),
                                                           Handover.created_at <= made_before)
                                    .order_by(Handover.id)))


def open_alert_count(uow: UnitOfWork, rule: str) -> int:
    return uow.session.scalar(select(func.count()).select_from(Alert).where(
        Alert.rule == rule, Alert.status != AlertStatus.CLOSED)) or 0


def get_handover(uow: UnitOfWork, handover_id: int) -> Handover | None:
    return uow.session.get(Handover, handover_id)


def acknowledger_name(uow: UnitOfWork, row: Handover) -> str | None:
    if row.acknowledged_by_id is None:
        return None
    person = uow.session.get(Person, row.acknowledged_by_id)
    return person.name if person else None


# --- the words the card and the chat share ---------------------------------------------------------------


def press_line(p: Mapping[str, Any]) -> str:
    pct = f" {100 * p['good'] / p['planned']:.0f}%" if p["planned"] else ""
    defect = f" 不良{p['defect']}" if p.get("defect") else ""
    return f"{p['machine']} {p['good']}/{p['planned']}{pct}{defect}"


def exception_line(e: Mapping[str, Any]) -> str:
    desc = f" {e['description']}" if e.get("description") else ""
    return f"#{e['id']} {e['type']} {e['machine']}{desc}"


def repair_line(r: Mapping[str, Any]) -> str:
    return f"#{r['id']} {r['machine']} {r['state']}"


def alert_line(a: Mapping[str, Any]) -> str:
    return f"#{a['id']}【{a['label']}】{a['title']}"


def work_order_line(w: Mapping[str, Any]) -> str:
    return f"{w['start']} {w['machine']} {w['code']}（{w['mould']}）"


def side_text(side: Mapping[str, Any]) -> str:
    crew = side.get("crew") or ""
    names = "、".join(side.get("names") or []) or "未指定"
    return f"{crew} {names}".strip()


def state_text(row: Handover, tz: ZoneInfo, acknowledged_by: str | None) -> str:
    if row.acknowledged_at is None:
        return f"待接班确认 · 交班于 {row.shift_end.astimezone(tz):%m-%d %H:%M}"
    return f"已确认接班：{acknowledged_by or '系统'} {row.acknowledged_at.astimezone(tz):%m-%d %H:%M}"


@dataclass(frozen=True)
class HandoverView:
    row: Handover
    acknowledged_by: str | None


def last_handover(uow: UnitOfWork) -> HandoverView | None:
    """The latest shift's handover (for 交接班 in chat)."""
    row = uow.session.scalar(select(Handover).order_by(Handover.shift_end.desc(), Handover.id.desc()).limit(1))
    if row is None:
        return None
    return HandoverView(row, acknowledger_name(uow, row))
